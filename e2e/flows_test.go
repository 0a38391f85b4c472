package e2e

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/phonelock/phonelock/internal/fakefs"
)

const (
	alice = "1001@127.0.0.1"
	bob   = "1002@127.0.0.1"
)

// fromAlice is a SIP call authenticated as 1001 to dest.
func fromAlice(dest string) fakefs.Call {
	return fakefs.Call{UserName: "1001", Domain: "127.0.0.1", Destination: dest}
}

// showJSON returns "ext show --json" of ext as a map.
func (d *daemon) showJSON(ext string) map[string]any {
	d.t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(d.mustAdmin("", "ext", "show", ext, "--json")), &v); err != nil {
		d.t.Fatal(err)
	}
	return v
}

func (d *daemon) blocked(ext string) bool {
	d.t.Helper()
	return d.showJSON(ext)["blocked"] == true
}

// TestAllow: a call between unknown extensions goes straight back to the
// dialplan, unanswered, with nothing but connect and resume.
func TestAllow(t *testing.T) {
	d := startDaemon(t, newDB(t))
	res := d.call(fromAlice("1002"))

	if res.Outcome != fakefs.OutcomeContinued || !res.Resumed {
		t.Fatalf("outcome %v (resumed %v), want continued", res.Outcome, res.Resumed)
	}
	if got, want := commandNames(res), []string{"connect", "resume"}; !equal(got, want) {
		t.Errorf("commands %q, want %q", got, want)
	}
	if res.Answered || res.PreAnswered || len(res.Apps) != 0 {
		t.Errorf("allowed call was touched: answered %v, early media %v, apps %v", res.Answered, res.PreAnswered, apps(res))
	}
	if got := d.metric(`phonelock_calls_total{outcome="allowed"}`); got != 1 {
		t.Errorf("allowed calls metric = %v, want 1", got)
	}
}

// TestDialog_blockThenUnblock walks the main story: protection on, *11
// blocks, outgoing calls are refused except *11 and emergency numbers,
// *11 again unblocks.
func TestDialog_blockThenUnblock(t *testing.T) {
	d := startDaemon(t, newDB(t))
	d.protect(alice, "4711", false)

	call := fromAlice("*11")
	call.Entries = []string{"4711#"}
	res := d.call(call)
	wantApps := []string{"set", "answer", "play_and_get_digits", "unset", "unset", "playback", "hangup"}
	if got := apps(res); !equal(got, wantApps) {
		t.Fatalf("apps %q, want %q\n%s", got, wantApps, res.Transcript)
	}
	if res.HangupCause != "NORMAL_CLEARING" || res.HungUpBy != "app" {
		t.Errorf("hangup %q by %q, want NORMAL_CLEARING by app", res.HangupCause, res.HungUpBy)
	}
	for name, value := range res.FinalVars {
		if strings.Contains(name, "phonelock_password") || strings.Contains(value, "4711") || strings.Contains(value, "471") {
			t.Errorf("password left in channel variable %s=%q", name, value)
		}
	}
	if !d.blocked(alice) {
		t.Fatal("*11 with the right password did not block")
	}
	if out := d.mustAdmin("", "ext", "show", alice); !strings.Contains(out, "Currently access to phone is blocked") {
		t.Errorf("ext show says:\n%s", out)
	}

	// Blocked: an ordinary call is refused after a prompt in early media.
	res = d.call(fromAlice("1002"))
	if res.HangupCause != "OUTGOING_CALL_BARRED" || !res.PreAnswered || res.Answered {
		t.Errorf("blocked caller: cause %q, early media %v, answered %v; want OUTGOING_CALL_BARRED in early media",
			res.HangupCause, res.PreAnswered, res.Answered)
	}
	if len(res.Played) != 1 {
		t.Errorf("blocked caller heard %q, want one prompt", res.Played)
	}

	// Emergency numbers still go through.
	for _, n := range []string{"112", "911"} {
		if res := d.call(fromAlice(n)); res.Outcome != fakefs.OutcomeContinued {
			t.Errorf("blocked caller dialing %s: outcome %v, want continued", n, res.Outcome)
		}
	}

	// *11 again with the password unblocks.
	res = d.call(call)
	if d.blocked(alice) {
		t.Fatalf("second *11 did not unblock\n%s", res.Transcript)
	}
	if res := d.call(fromAlice("1002")); res.Outcome != fakefs.OutcomeContinued {
		t.Errorf("unblocked caller: outcome %v, want continued", res.Outcome)
	}

	for sample, want := range map[string]float64{
		`phonelock_dialogs_total{result="blocked"}`:         1,
		`phonelock_dialogs_total{result="unblocked"}`:       1,
		`phonelock_calls_total{outcome="blocked_outgoing"}`: 1,
		`phonelock_calls_total{outcome="emergency"}`:        2,
		`phonelock_calls_total{outcome="dialog"}`:           2,
		`phonelock_calls_total{outcome="allowed"}`:          1,
	} {
		if got := d.metric(sample); got != want {
			t.Errorf("%s = %v, want %v", sample, got, want)
		}
	}
}

// TestBlockedIncoming: calls to a blocked extension go to its voicemail
// when it has voicemail, and are refused otherwise.
func TestBlockedIncoming(t *testing.T) {
	d := startDaemon(t, newDB(t))
	d.protect(bob, "2222", true)
	d.mustAdmin("", "ext", "block", bob)

	call := fromAlice("1002")
	call.HangupAfter = 300 * time.Millisecond // the caller leaves a message and hangs up
	res := d.call(call)
	if res.VoicemailArgs != "default 127.0.0.1 1002" {
		t.Errorf("voicemail args %q, want %q\n%s", res.VoicemailArgs, "default 127.0.0.1 1002", res.Transcript)
	}
	if res.Outcome != fakefs.OutcomeHungUp || res.HungUpBy != "caller" {
		t.Errorf("outcome %v by %q, want hung up by the caller", res.Outcome, res.HungUpBy)
	}

	// With voicemail by transfer the session lets go at once.
	d2 := startDaemon(t, newDB(t), "--voicemail-app", "transfer", "--voicemail-args", "*99{number} XML default")
	d2.protect(bob, "2222", true)
	d2.mustAdmin("", "ext", "block", bob)
	if res := d2.call(fromAlice("1002")); res.Outcome != fakefs.OutcomeTransferred || res.TransferTo != "*991002 XML default" {
		t.Errorf("voicemail by transfer: outcome %v to %q, want transferred to *991002 XML default", res.Outcome, res.TransferTo)
	}

	d.mustAdmin("", "ext", "set", bob, "--voicemail", "off")
	res = d.call(fromAlice("1002"))
	if res.HangupCause != "INCOMING_CALL_BARRED" {
		t.Errorf("cause %q, want INCOMING_CALL_BARRED\n%s", res.HangupCause, res.Transcript)
	}

	// A route whose dialed number is not the extension names it.
	intercom := fakefs.Call{UserName: "1001", Destination: "81002", ExtraVars: map[string]string{"phonelock_callee": "1002"}}
	if res := d.call(intercom); res.HangupCause != "INCOMING_CALL_BARRED" {
		t.Errorf("intercom call: cause %q, want INCOMING_CALL_BARRED", res.HangupCause)
	}

	// An unauthenticated caller (a gateway) is checked on the callee too.
	res = d.call(fakefs.Call{Destination: "1002", ExtraVars: map[string]string{"phonelock_domain": "127.0.0.1"}})
	if res.HangupCause != "INCOMING_CALL_BARRED" {
		t.Errorf("gateway call: cause %q, want INCOMING_CALL_BARRED", res.HangupCause)
	}
}

// TestCallerIdentity: the forgeable caller ID never decides who calls.
func TestCallerIdentity(t *testing.T) {
	d := startDaemon(t, newDB(t))
	d.protect(alice, "4711", false)
	d.mustAdmin("", "ext", "block", alice)

	// Someone else claiming to be 1001 is not blocked...
	spoof := fakefs.Call{UserName: "1005", CallerIDNumber: "1001", Destination: "1002"}
	if res := d.call(spoof); res.Outcome != fakefs.OutcomeContinued {
		t.Errorf("1005 posing as 1001: outcome %v, want continued", res.Outcome)
	}
	unauthenticated := fakefs.Call{CallerIDNumber: "1001", Destination: "1002"}
	if res := d.call(unauthenticated); res.Outcome != fakefs.OutcomeContinued {
		t.Errorf("unauthenticated caller ID 1001: outcome %v, want continued", res.Outcome)
	}

	// ...and 1001 hiding behind another caller ID is still blocked.
	hiding := fakefs.Call{UserName: "1001", CallerIDNumber: "1005", Destination: "1002"}
	if res := d.call(hiding); res.HangupCause != "OUTGOING_CALL_BARRED" {
		t.Errorf("1001 posing as 1005: cause %q, want OUTGOING_CALL_BARRED", res.HangupCause)
	}
}

// TestDialog_notAvailable: *11 does nothing for an extension without
// protection, or unknown, or unauthenticated.
func TestDialog_notAvailable(t *testing.T) {
	d := startDaemon(t, newDB(t))
	d.mustAdmin("", "ext", "set", bob, "--voicemail", "on")

	for name, call := range map[string]fakefs.Call{
		"unknown":         fromAlice("*11"),
		"protection off":  {UserName: "1002", Destination: "*11", Entries: []string{"2222#"}},
		"unauthenticated": {CallerIDNumber: "1001", Destination: "*11"},
	} {
		res := d.call(call)
		if got, want := apps(res), []string{"set", "answer", "playback", "hangup"}; !equal(got, want) {
			t.Errorf("%s: apps %q, want %q", name, got, want)
		}
	}
	if got := d.metric(`phonelock_dialogs_total{result="not_available"}`); got != 3 {
		t.Errorf("not_available dialogs = %v, want 3", got)
	}
}

// TestDialog_wrongPasswordAndLockout: three tries per call; five wrong
// passwords in a row lock *11, across calls and across a restart, and
// even the right password is refused until the lockout ends.
func TestDialog_wrongPasswordAndLockout(t *testing.T) {
	db := newDB(t)
	d := startDaemon(t, db)
	d.protect(alice, "4711", false)

	call := fromAlice("*11")
	call.Entries = []string{"1111#", "12#", "2222#"} // "12" is too short: no valid input
	res := d.call(call)
	if got := strings.Count(strings.Join(apps(res), " "), "play_and_get_digits"); got != 3 {
		t.Errorf("prompted %d times, want 3\n%s", got, res.Transcript)
	}
	if v := d.showJSON(alice); v["failed_attempts"] != 2.0 || v["blocked"] != false {
		t.Errorf("after one call: %v; want 2 failed attempts, not blocked", v)
	}

	call.Entries = []string{"3333#", "4444#", "5555#"}
	res = d.call(call)
	v := d.showJSON(alice)
	if v["locked_out_until"] == nil {
		t.Fatalf("not locked out after 5 wrong passwords: %v\n%s", v, res.Transcript)
	}
	if got := strings.Count(strings.Join(apps(res), " "), "play_and_get_digits"); got != 3 {
		t.Errorf("second call prompted %d times, want 3 (lockout on its third)", got)
	}

	// The right password is refused while locked out, without a prompt.
	call.Entries = []string{"4711#"}
	res = d.call(call)
	if got, want := apps(res), []string{"set", "answer", "playback", "hangup"}; !equal(got, want) {
		t.Errorf("locked out: apps %q, want %q", got, want)
	}
	if d.blocked(alice) {
		t.Fatal("locked-out caller toggled the block")
	}

	// The lockout survives a restart.
	d.stop()
	d = startDaemon(t, db)
	res = d.call(call)
	if got := apps(res); !equal(got, []string{"set", "answer", "playback", "hangup"}) || d.blocked(alice) {
		t.Errorf("after restart: apps %q, blocked %v; want still locked out", got, d.blocked(alice))
	}
	if got := d.metric(`phonelock_dialogs_total{result="locked_out"}`); got != 1 {
		t.Errorf("locked_out dialogs after restart = %v, want 1", got)
	}
}

// TestDialog_hangupAtEveryStep: a caller hanging up at any step ends the
// session cleanly, and nothing changes beyond attempts already committed.
func TestDialog_hangupAtEveryStep(t *testing.T) {
	d := startDaemon(t, newDB(t))
	d.protect(alice, "4711", false)

	// Every application of a dialog with a wrong password, then the right
	// one: set, answer, pagd, unset, unset, playback (wrong), pagd, unset,
	// unset, playback (confirmation), hangup. The toggle is committed
	// before the confirmation plays.
	steps := []struct {
		app         string
		n           int
		wantToggled bool
	}{
		{"set", 1, false},
		{"answer", 1, false},
		{"play_and_get_digits", 1, false},
		{"unset", 1, false},
		{"unset", 2, false},
		{"playback", 1, false}, // "wrong password"
		{"play_and_get_digits", 2, false},
		{"unset", 3, false},
		{"unset", 4, false},
		{"playback", 2, true}, // the confirmation
		{"hangup", 1, true},
	}
	blocked := false
	for _, s := range steps {
		call := fromAlice("*11")
		call.Entries = []string{"0000#", "4711#"}
		call.HangupOnApp, call.HangupOnAppN = s.app, s.n
		res := d.call(call)
		if res.HungUpBy != "caller" && s.app != "hangup" {
			t.Errorf("hangup at %s #%d: hung up by %q, want the caller", s.app, s.n, res.HungUpBy)
		}
		if s.wantToggled {
			blocked = !blocked
		}
		if got := d.blocked(alice); got != blocked {
			t.Errorf("hangup at %s #%d: blocked %v, want %v", s.app, s.n, got, blocked)
		}
		d.mustAdmin("4711\n", "ext", "set", alice, "--password-stdin") // reset the failure count
	}
	waitMetric(t, d, "phonelock_esl_sessions", 0)
}

// waitMetric waits until a gauge, which must be exported, settles at want.
func waitMetric(t *testing.T, d *daemon, sample string, want float64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		got, found := d.metricSample(sample)
		if found && got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v (exported: %v), want %v", sample, got, found, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestAdminChangeBitesNextCall: a block through the running daemon's API
// applies to the very next call, and a restart keeps it.
func TestAdminChangeBitesNextCall(t *testing.T) {
	db := newDB(t)
	d := startDaemon(t, db)
	d.protect(alice, "4711", false)

	if res := d.call(fromAlice("1002")); res.Outcome != fakefs.OutcomeContinued {
		t.Fatalf("before the block: outcome %v", res.Outcome)
	}
	d.mustAdmin("", "ext", "block", alice)
	if res := d.call(fromAlice("1002")); res.HangupCause != "OUTGOING_CALL_BARRED" {
		t.Fatalf("right after the block: cause %q, want OUTGOING_CALL_BARRED", res.HangupCause)
	}

	d.stop()
	d = startDaemon(t, db)
	if res := d.call(fromAlice("1002")); res.HangupCause != "OUTGOING_CALL_BARRED" {
		t.Errorf("after restart: cause %q, want OUTGOING_CALL_BARRED", res.HangupCause)
	}
	d.mustAdmin("", "ext", "unblock", alice)
	if res := d.call(fromAlice("1002")); res.Outcome != fakefs.OutcomeContinued {
		t.Errorf("after unblock: outcome %v, want continued", res.Outcome)
	}
}
