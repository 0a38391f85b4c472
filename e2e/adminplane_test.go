package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/phonelock/phonelock/internal/fakefs"
)

// TestTimedBlock: a block with an end unblocks itself, also when the end
// passed while the daemon was down, and the audit trail says so.
func TestTimedBlock(t *testing.T) {
	db := newDB(t)
	d := startDaemon(t, db)
	d.protect(alice, "4711", false)

	out := d.mustAdmin("", "ext", "block", alice, "--for", "2s")
	if !strings.Contains(out, "Currently access to phone is blocked until ") {
		t.Fatalf("ext block --for says:\n%s", out)
	}
	if res := d.call(fromAlice("1002")); res.HangupCause != "OUTGOING_CALL_BARRED" {
		t.Fatalf("during the block: cause %q, want OUTGOING_CALL_BARRED", res.HangupCause)
	}

	d.stop()
	time.Sleep(2500 * time.Millisecond) // the end passes while the daemon is down
	d = startDaemon(t, db)
	if res := d.call(fromAlice("1002")); res.Outcome != fakefs.OutcomeContinued {
		t.Errorf("after the end: outcome %v, want continued", res.Outcome)
	}
	if v := d.showJSON(alice); v["blocked"] != false || v["blocked_until"] != nil {
		t.Errorf("after the end: %v, want unblocked with no timer", v)
	}
	if out := d.mustAdmin("", "audit", "--ext", alice); !strings.Contains(out, "timer_unblock") {
		t.Errorf("audit has no timer_unblock:\n%s", out)
	}

	// An unblock clears the timer; a bad time is refused.
	d.mustAdmin("", "ext", "block", alice, "--until", time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	d.mustAdmin("", "ext", "unblock", alice)
	if v := d.showJSON(alice); v["blocked_until"] != nil {
		t.Errorf("unblock left the timer: %v", v)
	}
	if _, stderr, code := d.admin("", "ext", "block", alice, "--until", "2001-01-01T00:00:00Z"); code != 2 {
		t.Errorf("block until the past: exit %d, %s", code, stderr)
	}
}

// TestResetAttemptsAndAudit: reset-attempts ends a lockout, and the audit
// trail lists the attempts and the reset, newest first, never a password.
func TestResetAttemptsAndAudit(t *testing.T) {
	d := startDaemon(t, newDB(t), "--lockout-failures", "2")
	d.protect(alice, "4711", false)

	call := fromAlice("*11")
	call.Entries = []string{"1111#", "2222#"}
	d.call(call)
	if v := d.showJSON(alice); v["locked_out_until"] == nil {
		t.Fatalf("not locked out: %v", v)
	}
	d.mustAdmin("", "ext", "reset-attempts", alice)
	if v := d.showJSON(alice); v["locked_out_until"] != nil {
		t.Fatalf("reset-attempts left the lockout: %v", v)
	}

	var recs []map[string]any
	if err := json.Unmarshal([]byte(d.mustAdmin("", "audit", "--ext", alice, "--json")), &recs); err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, r := range recs {
		actions = append(actions, r["action"].(string))
	}
	want := []string{"reset_attempts", "star11_locked_out", "star11_wrong_password", "set"}
	if strings.Join(actions, ",") != strings.Join(want, ",") {
		t.Errorf("audit actions %v, want %v", actions, want)
	}
	if raw := d.mustAdmin("", "audit", "--json"); strings.Contains(raw, "4711") || strings.Contains(raw, "1111") {
		t.Errorf("audit output holds a password:\n%s", raw)
	}
}

// TestBackupWhileCallsRun takes a backup through the running daemon while
// calls go on, and checks the copy opens with the state it had.
func TestBackupWhileCallsRun(t *testing.T) {
	d := startDaemon(t, newDB(t))
	d.protect(alice, "4711", false)
	d.mustAdmin("", "ext", "block", alice)

	done := make(chan struct{})
	go func() {
		defer close(done)
		for i := 0; i < 20; i++ {
			d.call(fromAlice("1002"))
		}
	}()
	backup := filepath.Join(t.TempDir(), "backup.db")
	out := d.mustAdmin("", "db", "backup", backup)
	<-done
	if !strings.Contains(out, "checked") {
		t.Errorf("db backup says: %s", out)
	}

	out, stderr, code := runAdmin(t, "", "--db", backup, "ext", "show", alice, "--json")
	if code != 0 || !strings.Contains(out, `"blocked": true`) {
		t.Errorf("backup copy: exit %d %s %s", code, out, stderr)
	}
	if out := d.mustAdmin("", "db", "check"); !strings.Contains(out, "consistent") {
		t.Errorf("db check says: %s", out)
	}
	if out := d.mustAdmin("", "db", "stats", "--json"); !strings.Contains(out, `"blocked": 1`) {
		t.Errorf("db stats says: %s", out)
	}
}

// TestImportExport imports 10,000 extensions through the running daemon in
// one transaction, refuses a file with a bad row naming its line (and
// changes nothing), and exports what it holds, never a password.
func TestImportExport(t *testing.T) {
	d := startDaemon(t, newDB(t))
	dir := t.TempDir()

	var b strings.Builder
	b.WriteString("extension,protection,voicemail,blocked,password\n")
	for i := 0; i < 10000; i++ {
		if i < 10 { // a few with passwords: bcrypt costs tens of milliseconds each
			fmt.Fprintf(&b, "%d@example.com,on,on,%s,%d\n", 20000+i, []string{"off", "on"}[i%2], 777000+i)
			continue
		}
		fmt.Fprintf(&b, "%d@example.com,off,on,,\n", 20000+i)
	}
	good := filepath.Join(dir, "good.csv")
	writeFile(t, good, b.String())
	bad := filepath.Join(dir, "bad.csv")
	writeFile(t, bad, "extension,protection,password\n30000@example.com,off,\n30001@example.com,on,\n")

	if _, stderr, code := d.admin("", "ext", "import", bad); code != 2 || !strings.Contains(stderr, "line 3") {
		t.Errorf("bad import: exit %d, %s; want 2 naming line 3", code, stderr)
	}
	if out := d.mustAdmin("", "ext", "list"); strings.Contains(out, "30000@example.com") {
		t.Error("a refused import wrote its good rows")
	}

	start := time.Now()
	if out := d.mustAdmin("", "ext", "import", good); !strings.Contains(out, "imported 10000") {
		t.Fatalf("import says: %s", out)
	}
	t.Logf("imported 10,000 extensions (10 with passwords) in %s", time.Since(start))
	if v := d.showJSON("20001@example.com"); v["blocked"] != true || v["password_set"] != true {
		t.Errorf("imported 20001: %v", v)
	}
	// Each imported extension's audit shows what the import set.
	if out := d.mustAdmin("", "audit", "--ext", "20001@example.com"); !strings.Contains(out, "line=3 created protection=on voicemail=on password=changed blocked=on") {
		t.Errorf("the audit of 20001 does not show its import:\n%s", out)
	}

	export := d.mustAdmin("", "ext", "export", "--csv")
	if lines := strings.Count(export, "\n"); lines != 10001 {
		t.Errorf("export has %d lines, want 10001", lines)
	}
	if strings.Contains(export, "777001") || strings.Contains(export, "password") {
		t.Error("export holds passwords")
	}
	// The export imports back as it is.
	again := filepath.Join(dir, "again.csv")
	writeFile(t, again, export)
	if out := d.mustAdmin("", "ext", "import", again); !strings.Contains(out, "imported 10000") {
		t.Errorf("re-import says: %s", out)
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
}
