package fakefs

import (
	"crypto/rand"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Identity of the simulated switch, the same in every event.
const (
	switchHostname = "fakefs"
	switchIPv4     = "127.0.0.1"
	switchIPv6     = "::1"
)

// coreUUID identifies this simulated FreeSWITCH process in Core-UUID headers.
var coreUUID = newUUID()

// Channel states and their numbers as FreeSWITCH reports them.
const (
	stateRouting   = "CS_ROUTING"
	stateExecute   = "CS_EXECUTE"
	stateHangup    = "CS_HANGUP"
	stateReporting = "CS_REPORTING"
)

var stateNumbers = map[string]int{stateRouting: 2, stateExecute: 4, stateHangup: 10, stateReporting: 11}

// q850 maps the hangup causes an app is likely to use to their Q.850 codes.
var q850 = map[string]int{
	"UNALLOCATED_NUMBER":       1,
	"NO_ROUTE_DESTINATION":     3,
	"NORMAL_CLEARING":          16,
	"USER_BUSY":                17,
	"NO_USER_RESPONSE":         18,
	"NO_ANSWER":                19,
	"CALL_REJECTED":            21,
	"NUMBER_CHANGED":           22,
	"NORMAL_UNSPECIFIED":       31,
	"OUTGOING_CALL_BARRED":     52,
	"INCOMING_CALL_BARRED":     54,
	"BEARERCAPABILITY_NOTAUTH": 57,
	"FACILITY_NOT_IMPLEMENTED": 69,
}

// newUUID returns a random version 4 UUID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// varList holds channel variables in FreeSWITCH's order: setting a variable
// moves it to the end, as a real channel's variable list does.
type varList struct {
	names  []string
	values map[string]string
}

// set gives name the value; an empty value unsets it, as in FreeSWITCH.
func (v *varList) set(name, value string) {
	v.unset(name)
	if value == "" {
		return
	}
	if v.values == nil {
		v.values = map[string]string{}
	}
	v.names = append(v.names, name)
	v.values[name] = value
}

// unset removes name if it is set.
func (v *varList) unset(name string) {
	if _, ok := v.values[name]; !ok {
		return
	}
	delete(v.values, name)
	v.names = slices.DeleteFunc(v.names, func(n string) bool { return n == name })
}

// get returns the value of name and whether it is set.
func (v *varList) get(name string) (string, bool) {
	value, ok := v.values[name]
	return value, ok
}

// headers returns the variables as variable_ headers in order.
func (v *varList) headers() []header {
	hs := make([]header, 0, len(v.names))
	for _, name := range v.names {
		hs = append(hs, header{"variable_" + name, v.values[name]})
	}
	return hs
}

// snapshot copies the variables into a map the caller owns.
func (v *varList) snapshot() map[string]string {
	out := maps.Clone(v.values)
	if out == nil {
		out = map[string]string{}
	}
	return out
}

// channel is the simulated FreeSWITCH channel behind one connection: its
// identity, its call progress and its variables.
type channel struct {
	uuid        string
	name        string
	sip         bool
	cidName     string
	cidNumber   string
	destination string
	domain      string

	created       time.Time
	progressMedia time.Time
	answered      time.Time
	hungUp        time.Time

	state       string
	callState   string
	answerState string
	hangupCause string
	stateNumber int

	vars varList
}

// newChannel builds the channel FreeSWITCH would hand to the socket for c,
// which must already carry its defaults. socketData is the argument of the
// dialplan's socket application.
func newChannel(c Call, socketData string, now time.Time) *channel {
	ch := &channel{
		uuid:        c.UUID,
		sip:         c.UserName != "",
		cidNumber:   c.CallerIDNumber,
		destination: c.Destination,
		domain:      c.Domain,
		created:     now,
		state:       stateExecute,
		callState:   "RINGING",
		answerState: "ringing",
		stateNumber: stateNumbers[stateExecute],
	}

	// SIP calls are named after the From user, loopback calls after the
	// number they were sent to (recordings 11b, 11c).
	if ch.sip {
		ch.name = "sofia/internal/" + ch.cidNumber + "@" + ch.domain
		ch.cidName = "Ext " + ch.cidNumber
	} else {
		ch.name = "loopback/" + ch.destination + "-b"
		ch.cidName = "Ext" + ch.cidNumber
	}

	ch.initVars(c, socketData)
	return ch
}

// initVars sets the variables a fresh channel carries when it reaches the
// socket application.
func (ch *channel) initVars(c Call, socketData string) {
	ch.vars.set("direction", "inbound")
	ch.vars.set("uuid", ch.uuid)
	ch.vars.set("session_id", "1")
	if ch.sip {
		ch.vars.set("sip_from_user", ch.cidNumber)
		ch.vars.set("sip_from_uri", ch.cidNumber+"@"+ch.domain)
		ch.vars.set("sip_from_host", ch.domain)
	}
	ch.vars.set("channel_name", ch.name)

	if ch.sip {
		ch.initSIPVars(c)
	} else {
		ch.initLoopbackVars()
	}

	for _, name := range slices.Sorted(maps.Keys(c.ExtraVars)) {
		ch.vars.set(name, c.ExtraVars[name])
	}
	ch.vars.set("DP_MATCH", "ARRAY::"+ch.destination+"|:"+ch.destination)
	ch.vars.set("call_uuid", ch.uuid)
	ch.vars.set("current_application_data", socketData)
	ch.vars.set("current_application", "socket")
	ch.vars.set("socket_host", "127.0.0.1")
}

// initLoopbackVars sets what a loopback leg carries (recording 11c).
func (ch *channel) initLoopbackVars() {
	ch.vars.set("read_codec", "L16")
	ch.vars.set("read_rate", "8000")
	ch.vars.set("write_codec", "L16")
	ch.vars.set("write_rate", "8000")
	ch.vars.set("origination_caller_id_number", ch.cidNumber)
	ch.vars.set("origination_caller_id_name", ch.cidName)
	ch.vars.set("other_loopback_leg_uuid", newUUID())
	ch.vars.set("loopback_leg", "B")
}

// initSIPVars sets what a digest-authenticated SIP call carries (recordings
// 11b, 11e). The claimed identity is the From user; the authenticated one is
// user_name at domain_name.
func (ch *channel) initSIPVars(c Call) {
	ch.vars.set("sip_call_id", "1-"+ch.uuid[:8]+"@127.0.0.1")
	ch.vars.set("sip_network_ip", "127.0.0.1")
	ch.vars.set("sip_network_port", "5062")
	ch.vars.set("sip_received_ip", "127.0.0.1")
	ch.vars.set("sip_received_port", "5062")
	ch.vars.set("sip_via_protocol", "udp")
	ch.vars.set("sip_authorized", "true")
	ch.vars.set("sip_number_alias", c.UserName)
	ch.vars.set("sip_auth_username", c.UserName)
	ch.vars.set("sip_auth_realm", ch.domain)
	ch.vars.set("number_alias", c.UserName)
	ch.vars.set("requested_user_name", c.UserName)
	ch.vars.set("requested_domain_name", ch.domain)
	ch.vars.set("toll_allow", "domestic,international,local")
	ch.vars.set("accountcode", c.UserName)
	ch.vars.set("user_context", "default")
	ch.vars.set("effective_caller_id_name", "Extension "+c.UserName)
	ch.vars.set("effective_caller_id_number", c.UserName)
	ch.vars.set("user_name", c.UserName)
	ch.vars.set("domain_name", ch.domain)
	ch.vars.set("sip_from_user_stripped", ch.cidNumber)
	ch.vars.set("sofia_profile_name", "internal")
	ch.vars.set("sip_from_display", ch.cidName)
	from := `"` + ch.cidName + `" <sip:` + ch.cidNumber + "@" + ch.domain + ">"
	ch.vars.set("sip_full_from", from+";tag="+ch.uuid[:8])
	ch.vars.set("sip_full_to", "<sip:"+ch.destination+"@"+ch.domain+":5060>")
	ch.vars.set("sip_req_user", ch.destination)
	ch.vars.set("sip_req_uri", ch.destination+"@"+ch.domain+":5060")
	ch.vars.set("sip_req_host", ch.domain)
	ch.vars.set("sip_to_user", ch.destination)
	ch.vars.set("sip_to_uri", ch.destination+"@"+ch.domain+":5060")
	ch.vars.set("sip_to_host", ch.domain)
	ch.vars.set("sip_contact_user", ch.cidNumber)
	ch.vars.set("sip_user_agent", "fakefs-caller")
	ch.vars.set("presence_id", ch.cidNumber+"@"+ch.domain)
	ch.vars.set("endpoint_disposition", "DELAYED NEGOTIATION")
}

// hasMedia reports whether codec headers belong in events: always on a
// loopback leg, on a SIP call only once media is up (recordings 11b, 11d).
func (ch *channel) hasMedia() bool {
	return !ch.sip || !ch.progressMedia.IsZero() || !ch.answered.IsZero()
}

// setState moves the channel to a new Channel-State.
func (ch *channel) setState(state string) {
	ch.state = state
	ch.stateNumber = stateNumbers[state]
}

// micros renders t as FreeSWITCH's microsecond timestamps, 0 for unset.
func micros(t time.Time) string {
	if t.IsZero() {
		return "0"
	}
	return strconv.FormatInt(t.UnixMicro(), 10)
}

// profile returns the caller profile block under prefix ("Caller-" in
// events, also "Channel-" in the connect reply).
func (ch *channel) profile(p string) []header {
	hs := []header{{p + "Direction", "inbound"}, {p + "Logical-Direction", "inbound"}}
	if ch.sip {
		hs = append(hs, header{p + "Username", ch.cidNumber}, header{p + "Dialplan", "XML"})
	} else {
		hs = append(hs, header{p + "Dialplan", "xml"})
	}
	hs = append(hs,
		header{p + "Caller-ID-Name", ch.cidName},
		header{p + "Caller-ID-Number", ch.cidNumber},
		header{p + "Orig-Caller-ID-Name", ch.cidName},
		header{p + "Orig-Caller-ID-Number", ch.cidNumber},
	)
	if ch.sip {
		hs = append(hs, header{p + "Network-Addr", "127.0.0.1"})
	} else {
		hs = append(hs,
			header{p + "Callee-ID-Name", "Outbound Call"},
			header{p + "Callee-ID-Number", "default"},
		)
	}
	return append(hs, ch.profileTail(p)...)
}

// profileTail is the part of the caller profile every call shape shares.
func (ch *channel) profileTail(p string) []header {
	source := "mod_loopback"
	if ch.sip {
		source = "mod_sofia"
	}
	return []header{
		{p + "ANI", ch.cidNumber},
		{p + "Destination-Number", ch.destination},
		{p + "Unique-ID", ch.uuid},
		{p + "Source", source},
		{p + "Context", "default"},
		{p + "Channel-Name", ch.name},
		{p + "Profile-Index", "1"},
		{p + "Profile-Created-Time", micros(ch.created)},
		{p + "Channel-Created-Time", micros(ch.created)},
		{p + "Channel-Answered-Time", micros(ch.answered)},
		{p + "Channel-Progress-Time", "0"},
		{p + "Channel-Progress-Media-Time", micros(ch.progressMedia)},
		{p + "Channel-Hangup-Time", micros(ch.hungUp)},
		{p + "Channel-Transfer-Time", "0"},
		{p + "Channel-Resurrect-Time", "0"},
		{p + "Channel-Bridged-Time", "0"},
		{p + "Channel-Last-Hold", "0"},
		{p + "Channel-Hold-Accum", "0"},
		{p + "Screen-Bit", "true"},
		{p + "Privacy-Hide-Name", "false"},
		{p + "Privacy-Hide-Number", "false"},
	}
}

// stateHeaders returns the channel-state block that follows the event's own
// headers.
func (ch *channel) stateHeaders() []header {
	hs := []header{
		{"Channel-State", ch.state},
		{"Channel-Call-State", ch.callState},
		{"Channel-State-Number", strconv.Itoa(ch.stateNumber)},
		{"Channel-Name", ch.name},
		{"Unique-ID", ch.uuid},
		{"Call-Direction", "inbound"},
		{"Presence-Call-Direction", "inbound"},
		{"Channel-HIT-Dialplan", "true"},
	}
	if ch.sip {
		hs = append(hs, header{"Channel-Presence-ID", ch.cidNumber + "@" + ch.domain})
	}
	hs = append(hs, header{"Channel-Call-UUID", ch.uuid}, header{"Answer-State", ch.answerState})
	if ch.hangupCause != "" {
		hs = append(hs, header{"Hangup-Cause", ch.hangupCause})
	}
	if ch.hasMedia() {
		hs = append(hs, ch.codecHeaders()...)
	}
	return hs
}

// codecHeaders describes the media path: L16 on loopback, PCMU on SIP.
func (ch *channel) codecHeaders() []header {
	name, bits := "L16", "128000"
	if ch.sip {
		name, bits = "PCMU", "64000"
	}
	return []header{
		{"Channel-Read-Codec-Name", name},
		{"Channel-Read-Codec-Rate", "8000"},
		{"Channel-Read-Codec-Bit-Rate", bits},
		{"Channel-Write-Codec-Name", name},
		{"Channel-Write-Codec-Rate", "8000"},
		{"Channel-Write-Codec-Bit-Rate", bits},
	}
}

// profileField answers getvar's fallback to caller profile fields, as
// FreeSWITCH does for names such as caller_id_number (recording 07).
func (ch *channel) profileField(name string) (string, bool) {
	fields := map[string]string{
		"caller_id_name":     ch.cidName,
		"caller_id_number":   ch.cidNumber,
		"ani":                ch.cidNumber,
		"destination_number": ch.destination,
		"context":            "default",
		"chan_name":          ch.name,
		"uuid":               ch.uuid,
	}
	if ch.sip {
		fields["username"] = ch.cidNumber
		fields["network_addr"] = "127.0.0.1"
		fields["dialplan"] = "XML"
	} else {
		fields["dialplan"] = "xml"
	}
	value, ok := fields[name]
	return value, ok
}

// maskDialed applies digits_dialed_filter as switch_channel.c does: every
// group the regexp captures in the first match (the whole match included)
// is replaced by as many X as it has characters, wherever it occurs.
func maskDialed(dialed, filter string) string {
	if filter == "" {
		return dialed
	}
	re, err := regexp.Compile(filter)
	if err != nil {
		return dialed
	}
	for _, group := range re.FindStringSubmatch(dialed) {
		if group != "" {
			dialed = strings.ReplaceAll(dialed, group, strings.Repeat("X", len(group)))
		}
	}
	return dialed
}

// setCallRecord sets the variables FreeSWITCH adds when the call ends, the
// ones a CDR is written from.
func (ch *channel) setCallRecord(lastApp, lastArg, dialed string) {
	ch.vars.set("hangup_cause", ch.hangupCause)
	if code, ok := q850[ch.hangupCause]; ok {
		ch.vars.set("hangup_cause_q850", strconv.Itoa(code))
	}
	if dialed == "" {
		dialed = "none"
	} else if filter, ok := ch.vars.get("digits_dialed_filter"); ok {
		dialed = maskDialed(dialed, filter)
	}
	ch.vars.set("digits_dialed", dialed)

	ch.setStamps("start", ch.created)
	ch.setStamps("answer", ch.answered)
	ch.setStamps("progress_media", ch.progressMedia)
	ch.setStamps("end", ch.hungUp)

	ch.vars.set("last_app", lastApp)
	ch.vars.set("last_arg", lastArg)
	ch.vars.set("caller_id", `"`+ch.cidName+`" <`+ch.cidNumber+">")
	ch.setDurations()
}

// setStamps sets the <what>_stamp, _epoch and _uepoch variables for t.
func (ch *channel) setStamps(what string, t time.Time) {
	if t.IsZero() {
		ch.vars.set(what+"_epoch", "0")
		ch.vars.set(what+"_uepoch", "0")
		return
	}
	ch.vars.set(what+"_stamp", t.Local().Format(time.DateTime))
	ch.vars.set(what+"_epoch", strconv.FormatInt(t.Unix(), 10))
	ch.vars.set(what+"_uepoch", micros(t))
}

// setDurations sets duration and billsec in seconds and milliseconds.
func (ch *channel) setDurations() {
	total := ch.hungUp.Sub(ch.created)
	var billed time.Duration
	if !ch.answered.IsZero() {
		billed = ch.hungUp.Sub(ch.answered)
	}
	ch.vars.set("duration", strconv.Itoa(int(total.Seconds())))
	ch.vars.set("billsec", strconv.Itoa(int(billed.Seconds())))
	ch.vars.set("mduration", strconv.FormatInt(total.Milliseconds(), 10))
	ch.vars.set("billmsec", strconv.FormatInt(billed.Milliseconds(), 10))
}
