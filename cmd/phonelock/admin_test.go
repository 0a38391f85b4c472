package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestReadToken: the token comes from the file, trimmed (of a byte order
// mark too); a file far too long to be a token (a device that never ends,
// say) is refused after a few kilobytes instead of read to the end.
func TestReadToken(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.token")
	if err := os.WriteFile(good, []byte("\ufeffpl_0123456789abcdef_secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	huge := filepath.Join(dir, "huge.token")
	if err := os.WriteFile(huge, []byte(strings.Repeat("x", maxTokenFileBytes+1)), 0o600); err != nil {
		t.Fatal(err)
	}
	noEnv := func(string) string { return "" }

	c := &adminCmd{server: "http://127.0.0.1:8085", tokenFile: good}
	if err := c.readToken(noEnv); err != nil || c.token != "pl_0123456789abcdef_secret" {
		t.Errorf("good file: token %q, %v", c.token, err)
	}
	c = &adminCmd{server: "http://127.0.0.1:8085", tokenFile: huge}
	if err := c.readToken(noEnv); err == nil || !strings.Contains(err.Error(), "not a token file") {
		t.Errorf("huge file: %v; want refused", err)
	}
	c = &adminCmd{server: "http://127.0.0.1:8085", tokenFile: "/dev/zero"}
	if err := c.readToken(noEnv); err == nil || !strings.Contains(err.Error(), "not a token file") {
		t.Errorf("/dev/zero: %v; want refused", err)
	}
	c = &adminCmd{server: "http://127.0.0.1:8085"}
	if err := c.readToken(func(string) string { return " pl_env \n" }); err != nil || c.token != "pl_env" {
		t.Errorf("from the environment: token %q, %v", c.token, err)
	}
}

// TestReadImportCSV_header: a spreadsheet's byte order mark is no part of
// the first column's name; a column named twice is refused, not silently
// overridden by the last one.
func TestReadImportCSV_header(t *testing.T) {
	rows, err := readImportCSV(strings.NewReader("\ufeffextension,voicemail\n1001@example.com,on\n"))
	if err != nil || len(rows) != 1 || rows[0].Extension != "1001@example.com" || rows[0].Line != 2 ||
		rows[0].Voicemail == nil || !*rows[0].Voicemail {
		t.Errorf("header after a byte order mark: %+v, %v", rows, err)
	}
	_, err = readImportCSV(strings.NewReader("extension,password,extension\n1001@example.com,4711,1002@example.com\n"))
	if err == nil || !strings.Contains(err.Error(), `"extension" appears twice`) {
		t.Errorf("a column named twice: %v; want refused", err)
	}
}

// TestParseAdmin_noEndIsNotAnEnd: a block or token end of zero, which
// inside means "never", cannot be given; a real one is taken.
func TestParseAdmin_noEndIsNotAnEnd(t *testing.T) {
	noEnv := func(string) string { return "" }
	db := []string{"--db", filepath.Join(t.TempDir(), "phonelock.db")}
	for _, args := range [][]string{
		{"ext", "block", "1001@example.com", "--for", "0s"},
		{"ext", "block", "1001@example.com", "--for", "-1h"},
		{"ext", "block", "1001@example.com", "--until", "0001-01-01T00:00:00Z"},
		{"token", "create", "--role", "admin", "--name", "x", "--for", "0s"},
		{"token", "create", "--role", "admin", "--name", "x", "--until", "0001-01-01T00:00:00Z"},
		{"ext", "block", "1001@example.com", "--for", "2h", "--until", "2030-01-01T00:00:00Z"},
	} {
		if _, err := parseAdmin(append(db, args...), noEnv); err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
	// A start, unlike an end, may be the beginning of time.
	if _, err := parseAdmin(append(db, "audit", "--since", "0001-01-01T00:00:00Z"), noEnv); err != nil {
		t.Errorf("audit --since the zero time: %v", err)
	}
	c, err := parseAdmin(append(db, "ext", "block", "1001@example.com", "--for", "2h"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if left := time.Until(c.until()); left < 119*time.Minute || left > 2*time.Hour {
		t.Errorf("--for 2h ends in %s", left)
	}
	c, err = parseAdmin(append(db, "token", "create", "--role", "admin", "--name", "x", "--for", "720h"), noEnv)
	if err != nil || c.node.expiresFor.d != 720*time.Hour {
		t.Errorf("token --for 720h: %+v, %v", c, err)
	}
}
