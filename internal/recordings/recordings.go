// Package recordings finds the wire recordings of a real FreeSWITCH 1.10
// that tests replay: shared/freeswitch beside the module's root.
package recordings

import (
	"os"
	"path/filepath"
	"testing"
)

// Dir returns the recordings directory. When it is missing the test is
// skipped with the reason, except in CI (CI set), where it fails: CI always
// has the recordings, and a replay test that silently stops running would
// prove nothing.
func Dir(t testing.TB) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(root, "..", "shared", "freeswitch")
	if _, err := os.Stat(filepath.Join(dir, "INDEX.txt")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("FreeSWITCH recordings missing at %s: %v", dir, err)
		}
		t.Skipf("FreeSWITCH recordings not found at %s; they live in shared/freeswitch beside the module", dir)
	}
	return dir
}

// Read returns the bytes of one recorded file, such as
// "02c_allow_resume_then_close.fs-to-app.bin".
func Read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(Dir(t), name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// moduleRoot walks up from the working directory to the one holding go.mod.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}
