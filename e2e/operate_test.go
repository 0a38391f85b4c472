package e2e

import (
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/phonelock/phonelock/internal/fakefs"
)

// TestReload: SIGHUP applies a changed configuration file to the next
// call, logs what changed, and keeps the running configuration when the
// file is broken.
func TestReload(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "phonelock.toml")
	write := func(text string) {
		if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("emergency = [\"112\"]\n")
	d := startDaemon(t, filepath.Join(dir, "phonelock.db"), "--config", conf)
	d.protect(alice, "4711", false)
	d.mustAdmin("", "ext", "block", alice)

	if res := d.call(fromAlice("999")); res.HangupCause != "OUTGOING_CALL_BARRED" {
		t.Fatalf("999 before reload: cause %q, want OUTGOING_CALL_BARRED", res.HangupCause)
	}

	write("emergency = [\"112\", \"999\"]\nlog-level = \"debug\"\nlog-format = \"json\"\n")
	d.hangup(`msg="configuration reloaded" changed="[emergency log-level]"`)
	d.waitLog(`settings=[log-format]`)
	if res := d.call(fromAlice("999")); res.Outcome != fakefs.OutcomeContinued {
		t.Errorf("999 after reload: outcome %v, want continued", res.Outcome)
	}
	d.waitLog(`level=DEBUG msg="esl command"`)

	write("emergency = [\"112\"\nthis is broken")
	d.hangup(`configuration reload failed; keeping the running configuration`)
	if res := d.call(fromAlice("999")); res.Outcome != fakefs.OutcomeContinued {
		t.Errorf("999 after a broken reload: outcome %v, want continued", res.Outcome)
	}
}

// hangup sends SIGHUP and waits for a log line containing want.
func (d *daemon) hangup(want string) {
	d.t.Helper()
	before := strings.Count(d.log.String(), want)
	if err := d.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		d.t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for strings.Count(d.log.String(), want) == before {
		if time.Now().After(deadline) {
			d.t.Fatalf("no log line %q after SIGHUP:\n%s", want, d.log)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (d *daemon) waitLog(want string) {
	d.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(d.log.String(), want) {
		if time.Now().After(deadline) {
			d.t.Fatalf("no log line %q:\n%s", want, d.log)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (d *daemon) get(path string) (int, string) {
	d.t.Helper()
	resp, err := http.Get("http://" + d.httpAddr + path)
	if err != nil {
		d.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}

func TestHealth(t *testing.T) {
	d := startDaemon(t, newDB(t))
	for _, path := range []string{"/healthz", "/readyz"} {
		if code, body := d.get(path); code != 200 {
			t.Errorf("%s = %d %q, want 200", path, code, body)
		}
	}
}

// TestMetrics drives every flow through the running binary and checks the
// counts /metrics reports for them, with no extension or caller in a label.
func TestMetrics(t *testing.T) {
	d := startDaemon(t, newDB(t))
	d.protect(alice, "4711", false)
	d.protect(bob, "2222", true)
	d.protect("1003@127.0.0.1", "3333", false)
	d.mustAdmin("", "ext", "block", bob)
	d.mustAdmin("", "ext", "block", "1003@127.0.0.1")

	d.call(fromAlice("1004"))                                                                       // allowed
	d.call(fromAlice("112"))                                                                        // emergency
	d.call(fakefs.Call{UserName: "1001", Destination: "1002", HangupAfter: 200 * time.Millisecond}) // voicemail
	d.call(fromAlice("1003"))                                                                       // blocked incoming
	wrong := fromAlice("*11")
	wrong.Entries = []string{"1234#", "4711#"}                // a wrong password, then the right one
	d.call(wrong)                                             // dialog: blocked
	d.call(fromAlice("1004"))                                 // blocked outgoing
	d.call(fakefs.Call{UserName: "1005", Destination: "*11"}) // dialog: not available

	want := map[string]float64{
		`phonelock_calls_total{outcome="allowed"}`:             1,
		`phonelock_calls_total{outcome="emergency"}`:           1,
		`phonelock_calls_total{outcome="voicemail"}`:           1,
		`phonelock_calls_total{outcome="blocked_incoming"}`:    1,
		`phonelock_calls_total{outcome="blocked_outgoing"}`:    1,
		`phonelock_calls_total{outcome="dialog"}`:              2,
		`phonelock_dialogs_total{result="blocked"}`:            1,
		`phonelock_dialogs_total{result="not_available"}`:      1,
		`phonelock_wrong_passwords_total`:                      1,
		`phonelock_call_duration_seconds_count{flow="allow"}`:  2,
		`phonelock_call_duration_seconds_count{flow="dialog"}`: 2,
		`phonelock_extensions{state="blocked"}`:                3,
		`phonelock_store_errors_total{operation="get_pair"}`:   0,
	}
	for sample, v := range want {
		if got := d.metric(sample); got != v {
			t.Errorf("%s = %v, want %v", sample, got, v)
		}
	}

	waitMetric(t, d, "phonelock_esl_sessions", 0) // exported, and back to zero

	// Only a sample's name and labels could carry an extension, an address
	// or a password; its value is a number that may hold any digits.
	_, body := d.get("/metrics")
	for _, line := range strings.Split(body, "\n") {
		if !strings.HasPrefix(line, "phonelock_") {
			continue
		}
		series, _, _ := strings.Cut(line, " ")
		if i := strings.LastIndex(line, "} "); i >= 0 {
			series = line[:i+1]
		}
		for _, leak := range []string{"1001", "1002", "127.0.0.1", "4711"} {
			if strings.Contains(series, leak) {
				t.Errorf("metric series carries %q: %s", leak, line)
			}
		}
	}
	if !strings.Contains(body, `phonelock_build_info{`) || !strings.Contains(body, "go_goroutines") || !strings.Contains(body, "process_resident_memory_bytes") {
		t.Error("build info, Go or process collector missing from /metrics")
	}
}

// TestMetrics_promtool runs promtool's linter over a scrape of the daemon.
func TestMetrics_promtool(t *testing.T) {
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("promtool not installed (apt-get install prometheus)")
		}
		t.Skip("promtool not installed; apt-get install prometheus to run this check")
	}
	d := startDaemon(t, newDB(t))
	d.call(fromAlice("1002"))
	_, body := d.get("/metrics")

	cmd := exec.Command(promtool, "check", "metrics")
	cmd.Stdin = strings.NewReader(body)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
