package fakefs

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"testing"
	"time"
)

// pinPrompt is the play_and_get_digits argument of recording 01.
const pinPrompt = `3 12 1 5000 # tone_stream://%(200,0,800) silence_stream://250 pl_pin \d+ 3000`

// runCall dials the fake app at addr for call c and waits for both sides.
func runCall(t *testing.T, c Call, script func(a *appConn)) (*Result, []frame, error) {
	t.Helper()
	addr, wait := serve(t, script)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := Dial(ctx, addr, c)

	frames, appErr := wait()
	if appErr != nil {
		t.Errorf("fake app: %v", appErr)
		if res != nil {
			t.Logf("transcript:\n%s", res.Transcript)
		}
	}
	return res, frames, err
}

// mustRun is runCall for calls that must end without a Dial error.
func mustRun(t *testing.T, c Call, script func(a *appConn)) (*Result, []frame) {
	t.Helper()
	res, frames, err := runCall(t, c, script)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	return res, frames
}

// wantLabels compares the frames the app read with want.
func wantLabels(t *testing.T, frames []frame, want []string) {
	t.Helper()
	if got := labels(frames); !slices.Equal(got, want) {
		t.Errorf("frames:\n got %q\nwant %q", got, want)
	}
}

// hangupTail is what follows CHANNEL_HANGUP once the running application
// has completed: the socket application ends and the channel reports.
var hangupTail = []string{
	"event:CHANNEL_UNPARK",
	"event:CHANNEL_EXECUTE_COMPLETE/socket",
	"event:CHANNEL_STATE/CS_HANGUP",
	"event:CHANNEL_STATE/CS_REPORTING",
	"event:CHANNEL_HANGUP_COMPLETE",
}

// setupLabels are the replies to appConn.setup.
func setupLabels(linger bool) []string {
	out := []string{"reply:%2BOK%0A", "reply:+OK Events Enabled"}
	if linger {
		out = append(out, "reply:+OK will linger")
	}
	return append(out, "reply:+OK event listener enabled plain")
}

func TestDial_ResumeThenCloseContinues(t *testing.T) {
	res, frames := mustRun(t, Call{Destination: "*11"}, func(a *appConn) {
		a.command("connect")
		a.command("resume")
	})

	wantLabels(t, frames, []string{"reply:%2BOK%0A", "reply:+OK"})
	if res.Outcome != OutcomeContinued || !res.Resumed {
		t.Errorf("outcome %v, resumed %v; want continued, true", res.Outcome, res.Resumed)
	}
	if res.FinalVars["socket_resume"] != "true" {
		t.Errorf("socket_resume = %q, want true", res.FinalVars["socket_resume"])
	}
}

func TestDial_CloseWithoutResumeStrands(t *testing.T) {
	res, _ := mustRun(t, Call{Destination: "*11"}, func(a *appConn) {
		a.command("connect")
	})

	if res.Outcome != OutcomeStranded || res.HangupCause != "" {
		t.Errorf("outcome %v, cause %q; want stranded, none", res.Outcome, res.HangupCause)
	}
}

func TestDial_ExitWithoutResumeStrands(t *testing.T) {
	res, frames := mustRun(t, Call{Destination: "*11"}, func(a *appConn) {
		a.command("connect")
		a.command("exit")
		a.until("notice:")
		a.expectEOF()
	})

	wantLabels(t, frames, []string{"reply:%2BOK%0A", "reply:+OK bye", "notice:disconnect"})
	if got := string(frames[2].body); got != goodbye || len(got) != 67 {
		t.Errorf("goodbye body %q (%d bytes)", got, len(got))
	}
	if res.Outcome != OutcomeStranded {
		t.Errorf("outcome %v, want stranded", res.Outcome)
	}
}

// star11 runs recording 01's dialog, with or without unsetting the PIN.
func star11(unset bool) func(a *appConn) {
	return func(a *appConn) {
		a.setup(true)
		a.execute("answer", "")
		a.execute("play_and_get_digits", pinPrompt)
		if unset {
			a.execute("unset", "pl_pin")
		}
		a.execute("playback", "tone_stream://%(1000,0,440)")
		msg, _ := a.sendmsg("hangup", "NORMAL_CLEARING")
		a.write(msg)
		a.until("notice:linger")
		a.command("exit")
		a.until("notice:disconnect")
		a.expectEOF()
	}
}

// star11Labels is the message sequence of recording 01.
func star11Labels(unset bool) []string {
	want := append(setupLabels(true),
		"reply:+OK", "event:CHANNEL_PARK",
		"event:CHANNEL_EXECUTE/answer", "event:CHANNEL_ANSWER", "event:CHANNEL_EXECUTE_COMPLETE/answer",
		"reply:+OK", "event:CHANNEL_EXECUTE/play_and_get_digits",
		"event:DTMF/1", "event:DTMF/2", "event:DTMF/3", "event:DTMF/4", "event:DTMF/#",
		"event:CHANNEL_EXECUTE_COMPLETE/play_and_get_digits",
	)
	if unset {
		want = append(want, "reply:+OK",
			"event:CHANNEL_EXECUTE/unset", "event:CHANNEL_EXECUTE_COMPLETE/unset")
	}
	want = append(want,
		"reply:+OK", "event:CHANNEL_EXECUTE/playback", "event:CHANNEL_EXECUTE_COMPLETE/playback",
		"reply:+OK", "event:CHANNEL_EXECUTE/hangup", "event:CHANNEL_HANGUP",
		"event:CHANNEL_EXECUTE_COMPLETE/hangup",
	)
	want = append(want, hangupTail...)
	return append(want, "notice:linger", "reply:+OK bye", "notice:disconnect")
}

func TestDial_Star11Dialog(t *testing.T) {
	for _, unset := range []bool{true, false} {
		t.Run(map[bool]string{true: "unset", false: "kept"}[unset], func(t *testing.T) {
			call := Call{CallerIDNumber: "1001", Destination: "*11", Entries: []string{"1234#"}}
			res, frames := mustRun(t, call, star11(unset))
			wantLabels(t, frames, star11Labels(unset))

			done, _ := findEvent(frames, "CHANNEL_EXECUTE_COMPLETE/play_and_get_digits")
			if done.ev("variable_pl_pin") != "1234" || done.ev("variable_read_result") != "success" {
				t.Errorf("digits completion: pl_pin %q, read_result %q",
					done.ev("variable_pl_pin"), done.ev("variable_read_result"))
			}
			if pin, ok := res.FinalVars["pl_pin"]; ok == unset || (!unset && pin != "1234") {
				t.Errorf("final pl_pin = %q, %v (unset %v)", pin, ok, unset)
			}
			checkStar11Result(t, res)
		})
	}
}

// checkStar11Result checks what FreeSWITCH saw of the *11 dialog.
func checkStar11Result(t *testing.T, res *Result) {
	t.Helper()
	if res.Outcome != OutcomeHungUp || res.HangupCause != "NORMAL_CLEARING" || res.HungUpBy != "app" {
		t.Errorf("outcome %v, cause %q, by %q", res.Outcome, res.HangupCause, res.HungUpBy)
	}
	if !res.Answered || res.PreAnswered {
		t.Errorf("answered %v, pre-answered %v; want true, false", res.Answered, res.PreAnswered)
	}
	if got := res.FinalVars["hangup_cause_q850"]; got != "16" {
		t.Errorf("hangup_cause_q850 = %q, want 16", got)
	}
	if got := res.Played; !slices.Equal(got, []string{"tone_stream://%(1000,0,440)"}) {
		t.Errorf("played %q", got)
	}
	if last := res.Commands[len(res.Commands)-1]; last.Name != "exit" {
		t.Errorf("last command %q, want exit", last.Name)
	}
}

func TestDial_OutgoingBarred(t *testing.T) {
	res, frames := mustRun(t, Call{Destination: "900123"}, func(a *appConn) {
		a.setup(false)
		a.execute("pre_answer", "")
		a.execute("playback", "tone_stream://%(1000,0,480,620)")
		a.execute("hangup", "OUTGOING_CALL_BARRED")
		a.until("notice:")
		a.expectEOF()
	})

	hangup, _ := findEvent(frames, "CHANNEL_HANGUP")
	if hangup.ev("Hangup-Cause") != "OUTGOING_CALL_BARRED" || hangup.ev("Answer-State") != "hangup" {
		t.Errorf("CHANNEL_HANGUP cause %q, answer state %q",
			hangup.ev("Hangup-Cause"), hangup.ev("Answer-State"))
	}
	media, _ := findEvent(frames, "CHANNEL_PROGRESS_MEDIA")
	if media.ev("Answer-State") != "early" {
		t.Errorf("CHANNEL_PROGRESS_MEDIA answer state %q, want early", media.ev("Answer-State"))
	}
	complete, _ := findEvent(frames, "CHANNEL_HANGUP_COMPLETE")
	if complete.ev("variable_hangup_cause_q850") != "52" {
		t.Errorf("q850 %q, want 52", complete.ev("variable_hangup_cause_q850"))
	}
	if res.Answered || !res.PreAnswered || res.HangupCause != "OUTGOING_CALL_BARRED" ||
		res.Outcome != OutcomeHungUp {
		t.Errorf("result %+v", res)
	}
	if last := frames[len(frames)-1]; last.label() != "notice:disconnect" {
		t.Errorf("last frame %q, want the disconnect notice", last.label())
	}
}

func TestDial_CallerHangsUpDuringDigits(t *testing.T) {
	call := Call{Destination: "*11", Entries: []string{"12"}, HangupOnApp: "play_and_get_digits"}
	res, frames := mustRun(t, call, func(a *appConn) {
		a.setup(true)
		a.execute("answer", "")

		// The prompt and a playback in one write, as a pipelining app would.
		pagd, _ := a.sendmsg("play_and_get_digits", "3 12 3 5000 # x.wav y.wav pl_pin \\d+ 3000")
		play, _ := a.sendmsg("playback", "later.wav")
		a.write(pagd + play)
		a.until("notice:linger")

		late, _ := a.sendmsg("playback", "after-hangup.wav")
		a.write(late)
		a.until("reply:+OK")
		a.command("api status")
		a.expectOpen(50 * time.Millisecond)
	})

	want := append(setupLabels(true), "reply:+OK", "event:CHANNEL_PARK", "event:CHANNEL_EXECUTE/answer",
		"event:CHANNEL_ANSWER", "event:CHANNEL_EXECUTE_COMPLETE/answer",
		"reply:+OK", "reply:+OK", "event:CHANNEL_EXECUTE/play_and_get_digits",
		"event:DTMF/1", "event:DTMF/2", "event:CHANNEL_HANGUP",
		"event:CHANNEL_EXECUTE_COMPLETE/play_and_get_digits")
	want = append(append(want, hangupTail...), "notice:linger", "reply:+OK", "api")
	wantLabels(t, frames, want)

	done, _ := findEvent(frames, "CHANNEL_EXECUTE_COMPLETE/play_and_get_digits")
	if done.ev("variable_pl_pin") != "12" || done.ev("variable_read_result") != "failure" {
		t.Errorf("completion: pl_pin %q, read_result %q",
			done.ev("variable_pl_pin"), done.ev("variable_read_result"))
	}

	var apps []string
	for _, app := range res.Apps {
		apps = append(apps, app.Name)
	}
	if !slices.Equal(apps, []string{"answer", "play_and_get_digits"}) || len(res.Played) != 0 {
		t.Errorf("apps %q, played %q; the playbacks must never run", apps, res.Played)
	}
	if res.HungUpBy != "caller" || res.HangupCause != "NORMAL_CLEARING" ||
		res.FinalVars["pl_pin"] != "12" {
		t.Errorf("by %q, cause %q, pl_pin %q", res.HungUpBy, res.HangupCause, res.FinalVars["pl_pin"])
	}
}

func TestDial_CallerHangsUpBeforeAnyDigit(t *testing.T) {
	call := Call{Destination: "*11", HangupOnApp: "play_and_get_digits"}
	_, frames := mustRun(t, call, func(a *appConn) {
		a.setup(false)
		a.execute("play_and_get_digits", pinPrompt)
		a.until("notice:")
	})

	// Recording 10b: a hangup during the prompt leaves neither variable.
	done, _ := findEvent(frames, "CHANNEL_EXECUTE_COMPLETE/play_and_get_digits")
	if done.has("variable_pl_pin") || done.has("variable_read_result") {
		t.Errorf("completion carries pl_pin %q, read_result %q",
			done.ev("variable_pl_pin"), done.ev("variable_read_result"))
	}
}

func TestDial_LingerNotices(t *testing.T) {
	tests := []struct {
		name    string
		linger  string
		script  func(a *appConn)
		want    []string
		minTime time.Duration
	}{
		{
			name: "no linger closes at once",
			script: func(a *appConn) {
				a.until("notice:disconnect")
				a.expectEOF()
			},
			want: []string{"notice:disconnect"},
		},
		{
			name:   "plain linger waits for the app",
			linger: "linger",
			script: func(a *appConn) {
				a.until("notice:linger")
				a.expectOpen(150 * time.Millisecond)
			},
			want:    []string{"notice:linger"},
			minTime: 150 * time.Millisecond,
		},
		{
			name:   "linger 1 closes a second later",
			linger: "linger 1",
			script: func(a *appConn) {
				a.until("notice:linger")
				a.until("notice:disconnect")
				a.expectEOF()
			},
			want:    []string{"notice:linger", "notice:disconnect"},
			minTime: time.Second,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, frames := mustRun(t, Call{Destination: "*11"}, func(a *appConn) {
				a.command("connect")
				if tt.linger != "" {
					a.command(tt.linger)
				}
				msg, _ := a.sendmsg("hangup", "NORMAL_CLEARING")
				a.write(msg)
				tt.script(a)
			})

			var notices []string
			for _, f := range frames {
				if strings.HasPrefix(f.label(), "notice:") {
					notices = append(notices, f.label())
				}
			}
			if !slices.Equal(notices, tt.want) {
				t.Errorf("notices %q, want %q", notices, tt.want)
			}
			if res.Duration < tt.minTime {
				t.Errorf("call took %v, want at least %v", res.Duration, tt.minTime)
			}
		})
	}
}

func TestDial_LingerNoticeHeaders(t *testing.T) {
	_, frames := mustRun(t, Call{Destination: "*11"}, func(a *appConn) {
		a.command("connect")
		a.command("linger 3")
		msg, _ := a.sendmsg("hangup", "")
		a.write(msg)
		a.until("notice:linger")
	})

	notice := frames[len(frames)-1]
	want := []header{
		{"Content-Type", "text/disconnect-notice"},
		{"Controlled-Session-UUID", notice.get("Controlled-Session-UUID")},
		{"Content-Disposition", "linger"},
		{"Channel-Name", "loopback/*11-b"},
		{"Linger-Time", "3"},
		{"Content-Length", "0"},
	}
	if !slices.Equal(notice.headers, want) {
		t.Errorf("notice headers\n got %q\nwant %q", notice.headers, want)
	}
}

func TestDial_NeverConnectStrands(t *testing.T) {
	res, frames := mustRun(t, Call{Destination: "*11", ConnectWait: 100 * time.Millisecond}, func(a *appConn) {
		a.until("notice:disconnect")
		a.expectEOF()
	})

	wantLabels(t, frames, []string{"notice:disconnect"})
	if res.Outcome != OutcomeStranded || len(res.Commands) != 0 {
		t.Errorf("outcome %v, %d commands; want stranded, none", res.Outcome, len(res.Commands))
	}
}

func TestDial_VoicemailEndsWhenCallerHangsUp(t *testing.T) {
	calls := map[string]Call{
		"after a while": {CallerIDNumber: "1001", Destination: "1002", HangupAfter: 100 * time.Millisecond},
		"as it starts":  {CallerIDNumber: "1001", Destination: "1002", HangupOnApp: "voicemail"},
	}
	for name, call := range calls {
		t.Run(name, func(t *testing.T) {
			res, frames := mustRun(t, call, func(a *appConn) {
				a.setup(true)
				a.execute("voicemail", "default 127.0.0.1 1002")
				a.until("notice:linger")
			})

			want := append(setupLabels(true), "reply:+OK", "event:CHANNEL_PARK", "event:CHANNEL_PROGRESS_MEDIA",
				"event:CHANNEL_EXECUTE/voicemail", "event:CHANNEL_HANGUP", "event:CHANNEL_EXECUTE_COMPLETE/voicemail")
			wantLabels(t, frames, append(append(want, hangupTail...), "notice:linger"))

			if res.VoicemailArgs != "default 127.0.0.1 1002" || !res.PreAnswered || res.Answered {
				t.Errorf("voicemail args %q, pre-answered %v, answered %v",
					res.VoicemailArgs, res.PreAnswered, res.Answered)
			}
			if res.HungUpBy != "caller" || res.Duration < call.HangupAfter {
				t.Errorf("hung up by %q after %v", res.HungUpBy, res.Duration)
			}
		})
	}
}

func TestDial_PlayAndGetDigitsOutcomes(t *testing.T) {
	tests := []struct {
		name       string
		arg        string
		entries    []string
		pin        string // "" = unset
		invalid    string
		result     string
		terminator string
		dtmf       int
	}{
		{"success", pinPrompt, []string{"1234#"}, "1234", "", "success", "#", 5},
		{"too few digits", pinPrompt, []string{"12#"}, "12", "", "failure", "#", 3},
		{"silence", pinPrompt, []string{""}, "", "", "failure", "", 0},
		{"no entries left", pinPrompt, nil, "", "", "failure", "", 0},
		{"digit timeout", pinPrompt, []string{"999"}, "999", "", "success", "", 3},
		{"regexp mismatch", `3 12 1 3000 # a.wav b.wav pl_pin ^1\d+$ 2000`, []string{"999#"}, "", "999", "success", "#", 4},
		{"second try", `3 12 2 3000 # a.wav b.wav pl_pin \d+ 2000`, []string{"12#", "4567#"}, "4567", "", "success", "#", 8},
		{"stops at max", `1 4 1 3000 # a.wav b.wav pl_pin \d+ 2000`, []string{"123456#"}, "1234", "", "success", "", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var replies []string
			_, frames := mustRun(t, Call{Destination: "*11", Entries: tt.entries}, func(a *appConn) {
				a.setup(false)
				a.execute("play_and_get_digits", tt.arg)
				for _, name := range []string{"pl_pin", "pl_pin_invalid", "read_result"} {
					replies = append(replies, a.command("getvar "+name).get("Reply-Text"))
				}
			})

			done, _ := findEvent(frames, "CHANNEL_EXECUTE_COMPLETE/play_and_get_digits")
			got := [4]string{done.ev("variable_pl_pin"), done.ev("variable_pl_pin_invalid"),
				done.ev("variable_read_result"), done.ev("variable_read_terminator_used")}
			if want := [4]string{tt.pin, tt.invalid, tt.result, tt.terminator}; got != want {
				t.Errorf("pl_pin, invalid, read_result, terminator = %q, want %q", got, want)
			}
			if want := []string{orNotFound(tt.pin), orNotFound(tt.invalid), tt.result}; !slices.Equal(replies, want) {
				t.Errorf("getvar replies %q, want %q", replies, want)
			}
			if n := countPrefix(labels(frames), "event:DTMF/"); n != tt.dtmf {
				t.Errorf("%d DTMF events, want %d", n, tt.dtmf)
			}
		})
	}
}

// orNotFound is getvar's reply for a value: the value, or the error FreeSWITCH
// gives for an unset variable.
func orNotFound(v string) string {
	if v == "" {
		return replyNotFound
	}
	return v
}

// countPrefix counts the strings in list that start with prefix.
func countPrefix(list []string, prefix string) int {
	n := 0
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			n++
		}
	}
	return n
}

func TestDial_Transfer(t *testing.T) {
	res, frames := mustRun(t, Call{Destination: "1002"}, func(a *appConn) {
		a.setup(true)
		a.execute("answer", "")
		a.execute("transfer", "*98 XML default")
		a.until("event:CHANNEL_STATE/CS_EXECUTE")
		msg, _ := a.sendmsg("playback", "ignored.wav")
		a.write(msg)
		a.until("reply:")
		a.expectOpen(50 * time.Millisecond)
	})

	want := append(setupLabels(true), "reply:+OK", "event:CHANNEL_PARK", "event:CHANNEL_EXECUTE/answer",
		"event:CHANNEL_ANSWER", "event:CHANNEL_EXECUTE_COMPLETE/answer",
		"reply:+OK", "event:CHANNEL_EXECUTE/transfer", "event:CHANNEL_EXECUTE_COMPLETE/transfer",
		"event:CHANNEL_UNPARK", "event:CHANNEL_EXECUTE_COMPLETE/socket",
		"event:CHANNEL_STATE/CS_ROUTING", "event:CHANNEL_STATE/CS_EXECUTE", "reply:+OK")
	wantLabels(t, frames, want)

	if res.Outcome != OutcomeTransferred || res.TransferTo != "*98 XML default" ||
		len(res.Played) != 0 {
		t.Errorf("outcome %v, transfer to %q, played %q", res.Outcome, res.TransferTo, res.Played)
	}
}

func TestDial_PipelinedCommandsRunInOrder(t *testing.T) {
	res, frames := mustRun(t, Call{Destination: "*11"}, func(a *appConn) {
		a.setup(false)
		first, _ := a.sendmsg("playback", "tone_stream://%(1500,0,440)")
		second, _ := a.sendmsg("log", "INFO SECOND-PIPELINED")
		a.write(first + second)
		a.until("event:CHANNEL_EXECUTE_COMPLETE/log")
	})

	want := append(setupLabels(false), "reply:+OK", "reply:+OK", "event:CHANNEL_PARK",
		"event:CHANNEL_EXECUTE/playback", "event:CHANNEL_EXECUTE_COMPLETE/playback",
		"event:CHANNEL_EXECUTE/log", "event:CHANNEL_EXECUTE_COMPLETE/log")
	wantLabels(t, frames, want)

	played, _ := findEvent(frames, "CHANNEL_EXECUTE_COMPLETE/playback")
	if played.ev("Application-Response") != "FILE PLAYED" ||
		played.ev("Application-UUID") != res.Apps[0].UUID {
		t.Errorf("playback completion: response %q, uuid %q",
			played.ev("Application-Response"), played.ev("Application-UUID"))
	}
}

func TestDial_CommandReplies(t *testing.T) {
	var got []string
	_, _ = mustRun(t, Call{Destination: "*11", CallerIDNumber: "1001"}, func(a *appConn) {
		a.command("connect")
		a.command("myevents")
		for _, cmd := range []string{"foobar", "getvar caller_id_number", "getvar no_such_variable", "getvar",
			"getvar domain_name", "getvar user_name", "myevents", "linger 5", "nolinger", "nixevent CHANNEL_EXECUTE",
			"noevents", "event json CHANNEL_EXECUTE", "divert_events on", "auth ClueCon", "resume"} {
			got = append(got, a.command(cmd).get("Reply-Text"))
		}
		for _, cmd := range []string{"api nosuchapi", "api uuid_exists nope"} {
			got = append(got, string(a.command(cmd).body))
		}
	})

	want := []string{"-ERR command not found", "1001", "-ERR command not found", "-ERR command not found",
		"127.0.0.1", "-ERR command not found", "-ERR aready enabled.", "+OK will linger 5 seconds",
		"+OK will not linger", "+OK events nixed", "+OK no longer listening for events",
		"+OK event listener enabled json", "+OK events diverted", "-ERR command not found", "+OK",
		"-ERR nosuchapi Command not found!\n", "false"}
	if !slices.Equal(got, want) {
		t.Errorf("replies\n got %q\nwant %q", got, want)
	}
}

func TestDial_ConnectReplyIdentity(t *testing.T) {
	tests := []struct {
		name string
		call Call
		want map[string]string // "" = absent
	}{
		{
			name: "spoofed caller ID (11e)",
			call: Call{UserName: "1001", CallerIDNumber: "1005", Destination: "*11"},
			want: map[string]string{
				"Channel-Name": "sofia/internal/1005@127.0.0.1", "Caller-Caller-ID-Number": "1005",
				"Caller-Username": "1005", "variable_sip_from_user": "1005", "variable_user_name": "1001",
				"variable_sip_auth_username": "1001", "variable_number_alias": "1001",
				"variable_domain_name": "127.0.0.1", "Caller-Destination-Number": "*11",
				"Caller-Network-Addr": "127.0.0.1",
			},
		},
		{
			name: "loopback (11c)",
			call: Call{CallerIDNumber: "1001", Destination: "*11", ExtraVars: map[string]string{"lang": "de"}},
			want: map[string]string{
				"Channel-Name": "loopback/*11-b", "Caller-Caller-ID-Number": "1001", "variable_user_name": "",
				"variable_domain_name": "", "variable_sip_auth_username": "", "variable_lang": "de",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, frames := mustRun(t, tt.call, func(a *appConn) { a.command("connect") })

			reply := decodeHeaders(headerBlock(frames[0].headers))
			for name, want := range tt.want {
				if got := lookupHeader(reply, name); got != want {
					t.Errorf("%s = %q, want %q", name, got, want)
				}
			}
		})
	}
}

// headerBlock re-joins parsed outer headers into a header block.
func headerBlock(hs []header) string {
	var b strings.Builder
	for _, h := range hs {
		b.WriteString(h.name + ": " + h.value + "\n")
	}
	return b.String()
}

func TestDial_ProtocolViolations(t *testing.T) {
	tests := []struct {
		name string
		raw  string
	}{
		{"command before connect", "myevents\n\n"},
		{"header without colon", "connect\n\nsendmsg\nthis is not a header\n\n"},
		{"bad content length", "connect\n\nsendmsg\ncontent-length: many\n\n"},
		{"execute without application", "connect\n\nsendmsg\ncall-command: execute\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, _, err := runCall(t, Call{Destination: "*11"}, func(a *appConn) {
				a.write(tt.raw)
				_ = a.conn.SetReadDeadline(time.Now().Add(frameWait))
				for a.err == nil {
					if _, err := readFrame(a.r); err != nil {
						return
					}
				}
			})
			if err == nil || !strings.Contains(err.Error(), "protocol violation") {
				t.Errorf("Dial error %v, want a protocol violation", err)
			}
			if res == nil {
				t.Error("no result with the error")
			}
		})
	}
}

func TestDial_AcceptsCRLFBodiesAndMixedCase(t *testing.T) {
	res, frames := mustRun(t, Call{Destination: "*11"}, func(a *appConn) {
		a.write("connect\r\n\r\n")
		a.next()
		a.write("myevents\r\n\r\n")
		a.next()
		body := "pl_pin=42"
		a.write("sendmsg\r\nCall-Command: execute\r\nExecute-App-Name: set\r\nEvent-Lock: true\r\n" +
			"Event-Uuid: 11111111-2222-4333-8444-555555555555\r\nContent-Type: text/plain\r\n" +
			"Content-Length: 9\r\n\r\n" + body)
		a.until("event:CHANNEL_EXECUTE_COMPLETE/set")
		a.command("getvar pl_pin")
	})

	if got := frames[len(frames)-1].get("Reply-Text"); got != "42" {
		t.Errorf("getvar pl_pin = %q, want 42", got)
	}
	if len(res.Apps) != 1 ||
		res.Apps[0] != (App{"set", "pl_pin=42", "11111111-2222-4333-8444-555555555555"}) {
		t.Errorf("apps %+v", res.Apps)
	}
}

func TestDial_ContextEndsOpenCall(t *testing.T) {
	addr, wait := serve(t, func(a *appConn) {
		a.command("connect")
		a.command("linger")
		msg, _ := a.sendmsg("hangup", "")
		a.write(msg)
		a.until("notice:linger")
		a.expectEOF() // the stand-in gives up when its context ends
	})

	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	res, err := Dial(ctx, addr, Call{Destination: "*11"})
	if _, appErr := wait(); appErr != nil {
		t.Errorf("fake app: %v", appErr)
	}

	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Dial error %v, want the context's deadline", err)
	}
	if res == nil || res.Outcome != OutcomeHungUp {
		t.Errorf("result %+v, want a hung-up call", res)
	}
}

func TestDial_NothingListening(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	_ = ln.Close()

	res, err := Dial(context.Background(), addr, Call{})
	if err == nil || res != nil {
		t.Errorf("Dial = %v, %v; want a dial error and no result", res, err)
	}
}

func TestOutcome_String(t *testing.T) {
	got := []string{OutcomeContinued.String(), OutcomeStranded.String(), OutcomeHungUp.String(),
		OutcomeTransferred.String(), Outcome(0).String()}
	want := []string{"continued", "stranded", "hung up", "transferred", "outcome(0)"}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestDial_SIPAnswerBringsUpMediaFirst(t *testing.T) {
	res, frames := mustRun(t, Call{UserName: "1001", Destination: "1002"}, func(a *appConn) {
		a.setup(false)
		a.execute("answer", "")
	})

	want := append(setupLabels(false), "reply:+OK", "event:CHANNEL_PARK", "event:CHANNEL_EXECUTE/answer",
		"event:CHANNEL_PROGRESS_MEDIA", "event:CHANNEL_ANSWER", "event:CHANNEL_EXECUTE_COMPLETE/answer")
	wantLabels(t, frames, want)

	park, _ := findEvent(frames, "CHANNEL_PARK")
	answered, _ := findEvent(frames, "CHANNEL_ANSWER")
	if park.has("Channel-Read-Codec-Name") || answered.ev("Channel-Read-Codec-Name") != "PCMU" {
		t.Errorf("codec before media %q, after %q",
			park.ev("Channel-Read-Codec-Name"), answered.ev("Channel-Read-Codec-Name"))
	}
	if !res.Answered || res.PreAnswered {
		t.Errorf("answered %v, pre-answered %v", res.Answered, res.PreAnswered)
	}
}

func TestDial_BackgroundJobAndKill(t *testing.T) {
	var job, killed frame
	uuid := "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee"
	res, frames := mustRun(t, Call{UUID: uuid, Destination: "*11"}, func(a *appConn) {
		a.command("connect")
		a.command("event plain BACKGROUND_JOB CHANNEL_HANGUP")
		jobID := "11111111-2222-4333-8444-555555555555"
		reply := a.command("bgapi uuid_getvar "+uuid+" destination_number", "Job-UUID: "+jobID)
		if reply.get("Job-UUID") != jobID {
			a.failf("bgapi reply %q", reply.headers)
		}
		job = a.until("event:BACKGROUND_JOB")
		killed = a.command("api uuid_kill " + uuid + " USER_BUSY")
		a.until("notice:disconnect")
	})

	if job.ev("Job-Command") != "uuid_getvar" || job.ev("Job-Owner-UUID") != uuid {
		t.Errorf("job event %q", job.event)
	}
	if body := string(job.body); !strings.HasSuffix(body, "\n\n*11") {
		t.Errorf("job body %q, want the result after the headers", body)
	}
	if string(killed.body) != "+OK\n" || res.HangupCause != "USER_BUSY" || res.HungUpBy != "app" {
		t.Errorf("kill reply %q, cause %q, by %q", killed.body, res.HangupCause, res.HungUpBy)
	}
	want := []string{"api", "event:CHANNEL_HANGUP", "notice:disconnect"}
	if got := labels(frames)[len(frames)-3:]; !slices.Equal(got, want) {
		t.Errorf("last frames %q", got)
	}
}
