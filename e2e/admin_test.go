package e2e

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// TestAdmin_exitCodes checks every refusal: the exit code, a message that
// says what to do, and that nothing changed.
func TestAdmin_exitCodes(t *testing.T) {
	db := newDB(t)
	d := startDaemon(t, db)
	d.protect(alice, "4711", false)
	before := d.mustAdmin("", "ext", "show", alice, "--json")

	tests := []struct {
		name     string
		stdin    string
		args     []string
		wantCode int
		wantMsg  string
	}{
		{"password too short", "12\n", []string{"ext", "set", alice, "--password-stdin"}, 2, "3 to 12 digits"},
		{"password too long", "1234567890123\n", []string{"ext", "set", alice, "--password-stdin"}, 2, "3 to 12 digits"},
		{"password with letters", "12ab\n", []string{"ext", "set", alice, "--password-stdin"}, 2, "3 to 12 digits"},
		{"password empty", "\n", []string{"ext", "set", alice, "--password-stdin"}, 2, "3 to 12 digits"},
		{"password with space", "12 34\n", []string{"ext", "set", alice, "--password-stdin"}, 2, "3 to 12 digits"},
		{"protection without password", "", []string{"ext", "set", bob, "--protection", "on"}, 2, "--password-stdin"},
		{"block unknown", "", []string{"ext", "block", "1003@127.0.0.1"}, 3, "does not exist"},
		{"bad on/off", "", []string{"ext", "set", alice, "--voicemail", "maybe"}, 2, "on or off"},
		{"bad extension", "", []string{"ext", "show", "not an extension"}, 2, "extension"},
		{"unknown extension", "", []string{"ext", "show", "9999@127.0.0.1"}, 3, "does not exist"},
		{"delete unknown", "", []string{"ext", "delete", "9999@127.0.0.1"}, 3, "does not exist"},
		{"unknown verb", "", []string{"ext", "frobnicate", alice}, 2, "unknown command"},
		{"set without changes", "", []string{"ext", "set", alice}, 2, "at least one"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, stderr, code := d.admin(tt.stdin, tt.args...)
			if code != tt.wantCode || !strings.Contains(stderr, tt.wantMsg) {
				t.Errorf("exit %d, stderr %q; want exit %d mentioning %q", code, stderr, tt.wantCode, tt.wantMsg)
			}
			if pw := strings.TrimSpace(tt.stdin); len(pw) >= 4 && strings.Contains(stderr, pw) {
				t.Errorf("stderr repeats the refused password: %q", stderr)
			}
			if strings.Contains(stderr, "4711") {
				t.Errorf("stderr holds the stored password: %q", stderr)
			}
		})
	}

	// Protection off, then block: refused with the way out.
	d.mustAdmin("", "ext", "set", bob, "--voicemail", "on")
	if _, stderr, code := d.admin("", "ext", "block", bob); code != 2 || !strings.Contains(stderr, "switch protection on") {
		t.Errorf("block with protection off: exit %d, %q", code, stderr)
	}

	if after := d.mustAdmin("", "ext", "show", alice, "--json"); after != before {
		t.Errorf("a refused command changed the extension:\nbefore %s\nafter  %s", before, after)
	}

	// The file is the daemon's while it runs: --db says to use --server.
	if _, stderr, code := runAdmin(t, "", "--db", db, "ext", "unblock", alice); code != 1 || !strings.Contains(stderr, "--server") {
		t.Errorf("--db on a held file: exit %d, %q; want 1 naming --server", code, stderr)
	}

	// A daemon that is not there is exit 1.
	d.stop()
	if _, stderr, code := d.admin("", "ext", "list"); code != 1 || !strings.Contains(stderr, "cannot reach") {
		t.Errorf("daemon down: exit %d, %q; want 1", code, stderr)
	}
	// With the daemon stopped, --db works on the file.
	out, _, code := runAdmin(t, "", "--db", db, "ext", "list", "--json")
	var list []map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list) != 2 {
		t.Errorf("--db list: exit %d, %q; want the 2 extensions", code, out)
	}
}

// TestAdmin_showNeverRevealsPassword: no output of any admin command holds
// the password or its hash.
func TestAdmin_showNeverRevealsPassword(t *testing.T) {
	db := newDB(t)
	d := startDaemon(t, db)
	d.protect(alice, "80551", true)
	d.mustAdmin("", "ext", "block", alice)

	var all strings.Builder
	for _, args := range [][]string{
		{"ext", "show", alice}, {"ext", "show", alice, "--json"},
		{"ext", "list"}, {"ext", "list", "--json"},
	} {
		all.WriteString(d.mustAdmin("", args...))
	}
	out := all.String()
	for _, secret := range []string{"80551", "$2a$", "password_hash"} {
		if strings.Contains(out, secret) {
			t.Errorf("admin output contains %q:\n%s", secret, out)
		}
	}
	for _, want := range []string{"Currently access to phone is blocked", `"password_set": true`, `"status"`, `"locked_out_until": null`} {
		if !strings.Contains(out, want) {
			t.Errorf("admin output lacks %q:\n%s", want, out)
		}
	}

	d.stop()
	raw, err := os.ReadFile(db)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), "80551") {
		t.Error("the database file holds the password in clear")
	}
	if strings.Contains(d.log.String(), "80551") {
		t.Errorf("the daemon logged the password:\n%s", d.log)
	}
}
