package fakefs

import (
	"strconv"
	"time"
)

// origin is where in FreeSWITCH an event is fired, for its Event-Calling-*
// headers.
type origin struct {
	file string
	fn   string
	line int
}

// origins gives each event the source location FreeSWITCH reports for it.
var origins = map[string]origin{
	"CHANNEL_DATA":             {"mod_event_socket.c", "parse_command", 2021},
	"CHANNEL_PARK":             {"switch_ivr.c", "switch_ivr_park", 1002},
	"CHANNEL_UNPARK":           {"switch_ivr.c", "switch_ivr_park", 1213},
	"CHANNEL_EXECUTE":          {"switch_core_session.c", "switch_core_session_exec", 2944},
	"CHANNEL_EXECUTE_COMPLETE": {"switch_core_session.c", "switch_core_session_exec", 2967},
	"CHANNEL_ANSWER":           {"switch_channel.c", "switch_channel_perform_mark_answered", 3846},
	"CHANNEL_PROGRESS_MEDIA":   {"switch_channel.c", "switch_channel_perform_mark_pre_answered", 3674},
	"CHANNEL_HANGUP":           {"switch_channel.c", "switch_channel_perform_hangup", 3445},
	"CHANNEL_STATE":            {"switch_channel.c", "switch_channel_perform_set_running_state", 2408},
	"CHANNEL_HANGUP_COMPLETE":  {"switch_core_state_machine.c", "switch_core_session_reporting_state", 943},
	"DTMF":                     {"switch_channel.c", "switch_channel_dequeue_dtmf", 677},
	"BACKGROUND_JOB":           {"mod_event_socket.c", "api_exec", 1572},
}

// gmtLayout is how Event-Date-GMT renders a time.
const gmtLayout = "Mon, 02 Jan 2006 15:04:05 GMT"

// emit sends a channel event, with tail after the channel's variables, if
// the server subscribed to it. The sequence number advances either way, as
// FreeSWITCH numbers every event it fires.
func (s *session) emit(name string, tail ...header) {
	s.seq++
	if !s.events.wants(name) {
		return
	}
	hs := append(s.eventHeaders(name), tail...)
	s.write(eventFrame(s.events.format, hs, ""))
}

// emitWithBody sends a non-channel event such as BACKGROUND_JOB, whose
// payload is an event body.
func (s *session) emitWithBody(name, body string, tail ...header) {
	s.seq++
	if !s.events.wants(name) {
		return
	}
	hs := s.coreHeaders(name)
	for _, h := range tail {
		if h.value != "" {
			hs = append(hs, h)
		}
	}
	s.write(eventFrame(s.events.format, hs, body))
}

// eventHeaders lays out a channel event the way FreeSWITCH does: core
// headers, channel state, caller profile, then the channel variables.
// CHANNEL_DATA also carries the profile under "Channel-"; DTMF and
// CHANNEL_STATE carry no variables; CHANNEL_HANGUP_COMPLETE names the cause
// early as well (recording 01).
func (s *session) eventHeaders(name string) []header {
	hs := s.coreHeaders(name)
	if name == "CHANNEL_DATA" {
		hs = append(hs, s.ch.profile("Channel-")...)
	}
	if name == "CHANNEL_HANGUP_COMPLETE" {
		hs = append(hs, header{"Hangup-Cause", s.ch.hangupCause})
	}

	hs = append(hs, s.ch.stateHeaders()...)
	hs = append(hs, s.ch.profile("Caller-")...)
	if name != "DTMF" && name != "CHANNEL_STATE" {
		hs = append(hs, s.ch.vars.headers()...)
	}
	return hs
}

// coreHeaders are the headers every FreeSWITCH event starts with.
func (s *session) coreHeaders(name string) []header {
	now := time.Now()
	o := origins[name]
	return []header{
		{"Event-Name", name},
		{"Core-UUID", coreUUID},
		{"FreeSWITCH-Hostname", switchHostname},
		{"FreeSWITCH-Switchname", switchHostname},
		{"FreeSWITCH-IPv4", switchIPv4},
		{"FreeSWITCH-IPv6", switchIPv6},
		{"Event-Date-Local", now.Local().Format(time.DateTime)},
		{"Event-Date-GMT", now.UTC().Format(gmtLayout)},
		{"Event-Date-Timestamp", micros(now)},
		{"Event-Calling-File", o.file},
		{"Event-Calling-Function", o.fn},
		{"Event-Calling-Line-Number", strconv.Itoa(o.line)},
		{"Event-Sequence", strconv.Itoa(s.seq)},
	}
}
