package fakefs

import (
	"errors"
	"strings"
	"time"
)

// noResponse is the Application-Response of applications that give none.
const noResponse = "_none_"

// execution is one application the server asked the channel to run.
type execution struct {
	name   string
	arg    string
	uuid   string
	digits *digitsRun
}

// newExecution reads an execute sendmsg. The argument comes from the body
// when there is one, else from execute-app-arg; the Application-UUID is the
// Event-UUID header, or a fresh one.
func newExecution(cmd Command) (*execution, error) {
	name := strings.TrimSpace(cmd.Headers["execute-app-name"])
	if name == "" {
		return nil, errors.New("sendmsg execute without execute-app-name")
	}

	x := &execution{name: name, arg: cmd.Headers["execute-app-arg"], uuid: cmd.Headers["event-uuid"]}
	if cmd.Body != "" {
		x.arg = cmd.Body
	}
	if x.uuid == "" {
		x.uuid = newUUID()
	}
	return x, nil
}

// kind is the application name in the case the simulations use.
func (x *execution) kind() string {
	return strings.ToLower(x.name)
}

// headers are the Application headers of the execution's events, with
// response only on the completion.
func (x *execution) headers(response string) []header {
	hs := []header{{"Application", x.name}}
	if x.arg != "" {
		hs = append(hs, header{"Application-Data", x.arg})
	}
	if response != "" {
		hs = append(hs, header{"Application-Response", response})
	}
	return append(hs, header{"Application-UUID", x.uuid})
}

// simulations run the applications the stand-in knows; any other
// application completes at once.
var simulations = map[string]func(*session, *execution){
	"answer": func(s *session, x *execution) {
		s.answer()
		s.complete(x, noResponse)
	},
	"pre_answer": func(s *session, x *execution) {
		s.preAnswer()
		s.complete(x, noResponse)
	},
	"playback": func(s *session, x *execution) {
		s.appTimer.set(s.call.PlayTime)
	},
	"play_and_get_digits": (*session).startDigits,
	"set":                 (*session).setVariable,
	"export":              (*session).setVariable,
	"unset": func(s *session, x *execution) {
		s.ch.vars.unset(strings.TrimSpace(x.arg))
		s.complete(x, noResponse)
	},
	"hangup": func(s *session, x *execution) {
		s.hangup(causeOr(x.arg), "app")
	},
	"voicemail": func(*session, *execution) {
		// Completes only when the caller hangs up (recording 04a).
	},
	"transfer": (*session).transfer,
}

// startApps starts queued applications one at a time, in order, while the
// channel is free.
func (s *session) startApps() {
	for s.running == nil && len(s.queue) > 0 && !s.closed {
		x := s.queue[0]
		s.queue = s.queue[1:]
		s.start(x)
	}
}

// start announces x with CHANNEL_EXECUTE and runs it, unless the caller
// hangs up right then.
func (s *session) start(x *execution) {
	s.running = x
	s.lastApp = x

	// voicemail needs media and pre-answers before it starts (recording 04a).
	if x.kind() == "voicemail" {
		s.preAnswer()
	}

	s.ch.vars.set("current_application", x.name)
	s.ch.vars.set("current_application_data", x.arg)
	s.emit("CHANNEL_EXECUTE", x.headers("")...)
	s.record(x)

	if s.callerLeavesOn(x) {
		s.callerLeaves(x)
		return
	}

	if sim, ok := simulations[x.kind()]; ok {
		sim(s, x)
		return
	}
	s.complete(x, noResponse)
}

// record notes in the result that x started, and what it plays or records.
func (s *session) record(x *execution) {
	s.res.Apps = append(s.res.Apps, App{Name: x.name, Arg: x.arg, UUID: x.uuid})
	s.runs[x.kind()]++

	switch x.kind() {
	case "playback":
		s.res.Played = append(s.res.Played, x.arg)
	case "voicemail":
		s.res.VoicemailArgs = x.arg
	}
}

// complete ends the running application with CHANNEL_EXECUTE_COMPLETE.
func (s *session) complete(x *execution, response string) {
	s.appTimer.stop()
	s.running = nil
	s.emit("CHANNEL_EXECUTE_COMPLETE", x.headers(response)...)
}

// appTimerFired moves the running timed application on: a playback ends, a
// digit prompt gets the caller's keys.
func (s *session) appTimerFired() {
	x := s.running
	if x == nil {
		return
	}

	switch x.kind() {
	case "playback":
		s.finishPlayback(x)
	case "play_and_get_digits":
		s.digitsTry(x)
	}
}

// finishPlayback completes a playback that ran its full length.
func (s *session) finishPlayback(x *execution) {
	ms := s.call.PlayTime.Milliseconds()
	s.ch.vars.set("playback_ms", itoa64(ms))
	s.ch.vars.set("playback_samples", itoa64(ms*8))
	s.ch.vars.set("current_application_response", "FILE PLAYED")
	s.complete(x, "FILE PLAYED")
}

// setVariable runs set (and export): "NAME=VALUE", an empty value unsets.
func (s *session) setVariable(x *execution) {
	name, value, _ := strings.Cut(x.arg, "=")
	if name = strings.TrimSpace(name); name != "" {
		s.ch.vars.set(name, value)
	}
	s.complete(x, noResponse)
}

// answer answers the call. A SIP call brings up media first, so it shows
// CHANNEL_PROGRESS_MEDIA before CHANNEL_ANSWER (recording 11d).
func (s *session) answer() {
	if !s.ch.answered.IsZero() {
		return
	}
	if s.ch.sip {
		s.earlyMedia()
	}

	s.ch.answered = time.Now()
	s.ch.answerState = "answered"
	s.res.Answered = true
	s.emit("CHANNEL_ANSWER")

	s.ch.callState = "ACTIVE"
	s.ch.vars.set("endpoint_disposition", "ANSWER")
}

// preAnswer puts a ringing call into early media.
func (s *session) preAnswer() {
	if s.earlyMedia() {
		s.res.PreAnswered = true
	}
}

// earlyMedia emits CHANNEL_PROGRESS_MEDIA unless media is already up; it
// reports whether it did.
func (s *session) earlyMedia() bool {
	if !s.ch.progressMedia.IsZero() || !s.ch.answered.IsZero() {
		return false
	}

	s.ch.progressMedia = time.Now()
	s.ch.answerState = "early"
	s.ch.vars.set("endpoint_disposition", "EARLY MEDIA")
	s.emit("CHANNEL_PROGRESS_MEDIA")
	s.ch.callState = "EARLY"
	return true
}

// callerLeavesOn reports whether the script makes the caller hang up as x
// starts.
func (s *session) callerLeavesOn(x *execution) bool {
	return s.call.HangupOnApp != "" &&
		strings.EqualFold(s.call.HangupOnApp, x.name) &&
		s.runs[x.kind()] == s.call.HangupOnAppN
}

// callerLeaves hangs up from the caller's side while x runs. At a digit
// prompt the caller first keys the next entry up to any terminator.
func (s *session) callerLeaves(x *execution) {
	if x.kind() == "play_and_get_digits" {
		if req, err := parseDigitsRequest(x.arg); err == nil {
			x.digits = &digitsRun{req: req}
			x.digits.partial = req.partial(s.nextEntry())
			s.pressKeys(x.digits.partial)
		}
	}
	s.hangup("NORMAL_CLEARING", "caller")
}

// hangup ends the call with cause, by "app" or "caller", in the order the
// recordings show (01, 03a, 05a, 10a): CHANNEL_HANGUP, the running
// application's completion, the socket application's end, the state
// changes, CHANNEL_HANGUP_COMPLETE, then the disconnect notice. Queued
// applications never run.
func (s *session) hangup(cause, by string) {
	if s.hungUp || s.closed {
		return
	}
	s.hungUp = true
	s.callerTimer.stop()
	s.res.HangupCause, s.res.HungUpBy = cause, by

	s.ch.hangupCause = cause
	s.ch.hungUp = time.Now()
	s.ch.answerState = "hangup"
	s.ch.stateNumber = stateNumbers[stateHangup]
	s.emit("CHANNEL_HANGUP")

	s.interrupt()
	s.queue = nil
	if !s.transferred {
		s.leaveSocketApp()
	}

	s.report()
	s.noticeAfterHangup()
}

// interrupt completes the running application cut short by a hangup.
func (s *session) interrupt() {
	x := s.running
	if x == nil {
		return
	}

	switch x.kind() {
	case "play_and_get_digits":
		s.abandonDigits(x)
	case "playback":
		// Not recorded; FreeSWITCH's playback reports a failed play so.
		s.complete(x, "PLAYBACK ERROR")
	default:
		s.complete(x, noResponse)
	}
}

// leaveSocketApp ends the socket application itself: CHANNEL_UNPARK and its
// completion.
func (s *session) leaveSocketApp() {
	s.emit("CHANNEL_UNPARK")
	socket := &execution{name: "socket", arg: s.socketData, uuid: s.socketUUID}
	s.emit("CHANNEL_EXECUTE_COMPLETE", socket.headers(noResponse)...)
}

// report walks the ended channel through CS_HANGUP and CS_REPORTING and
// fires CHANNEL_HANGUP_COMPLETE with the call record.
func (s *session) report() {
	s.ch.setState(stateHangup)
	s.emit("CHANNEL_STATE")

	s.ch.setState(stateReporting)
	s.ch.callState = "HANGUP"
	s.emit("CHANNEL_STATE")

	var lastApp, lastArg string
	if s.lastApp != nil {
		lastApp, lastArg = s.lastApp.name, s.lastApp.arg
	}
	s.ch.setCallRecord(lastApp, lastArg, s.dialed)
	s.emit("CHANNEL_HANGUP_COMPLETE")
}

// noticeAfterHangup tells the server the call is gone. Without linger the
// socket closes at once; with "linger N" it closes N seconds later; with
// plain linger it stays open until the server closes it (recordings 01,
// 05b, 10a, 10b).
func (s *session) noticeAfterHangup() {
	if !s.linger {
		s.disconnect()
		return
	}

	s.write(lingerNotice(s.ch.uuid, s.ch.name, s.lingerSecs))
	if s.lingerSecs > 0 {
		s.lingerTimer.set(time.Duration(s.lingerSecs) * time.Second)
	}
}

// transfer hands the call to another extension. The socket application
// ends, the channel routes again, and the socket stays connected until the
// server closes it (recording 04b); the new extension is not simulated.
func (s *session) transfer(x *execution) {
	s.complete(x, noResponse)
	s.transferred = true
	s.res.TransferTo = x.arg
	s.queue = nil
	s.leaveSocketApp()

	s.ch.setState(stateRouting)
	s.emit("CHANNEL_STATE")
	s.ch.setState(stateExecute)
	s.emit("CHANNEL_STATE")
}
