package fakefs

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Replies whose exact text the recordings fix (07). "aready" is FreeSWITCH's
// spelling.
const (
	replyOK          = "+OK"
	replyNotFound    = "-ERR command not found"
	replyEventsTwice = "-ERR aready enabled."
)

// subscription is what the server asked to receive with myevents, event,
// nixevent and noevents.
type subscription struct {
	format   string // "plain", "json" or "xml"; empty while nothing was asked
	all      bool
	names    map[string]bool
	myevents bool
}

// wants reports whether an event named name reaches the server.
func (sub *subscription) wants(name string) bool {
	return sub.format != "" && (sub.all || sub.names[name])
}

// add subscribes to the event names in list; "ALL" means every event.
func (sub *subscription) add(list []string) {
	if sub.names == nil {
		sub.names = map[string]bool{}
	}
	for _, name := range list {
		if strings.EqualFold(name, "ALL") {
			sub.all = true
			continue
		}
		sub.names[strings.ToUpper(name)] = true
	}
}

// handler answers one command; args is the rest of the command's first line.
type handler func(s *session, cmd Command, args string)

// handlers maps each command FreeSWITCH understands on an outbound socket to
// its handler. Anything else is answered "-ERR command not found".
var handlers = map[string]handler{
	"connect":       (*session).handleConnect,
	"myevents":      (*session).handleMyEvents,
	"event":         (*session).handleEvent,
	"nixevent":      (*session).handleNixEvent,
	"noevents":      (*session).handleNoEvents,
	"linger":        (*session).handleLinger,
	"nolinger":      (*session).handleNoLinger,
	"resume":        (*session).handleResume,
	"getvar":        (*session).handleGetvar,
	"api":           (*session).handleAPI,
	"bgapi":         (*session).handleBgAPI,
	"sendmsg":       (*session).handleSendmsg,
	"exit":          (*session).handleExit,
	"filter":        (*session).handleFilter,
	"divert_events": (*session).handleDivert,
	"log":           (*session).handleLog,
	"nolog":         (*session).handleNoLog,
	"sendevent":     (*session).handleSendEvent,
}

// parkingCommands are the commands after which the socket application's
// CHANNEL_PARK event shows up in the recordings (01, 02d, 07, 11b).
var parkingCommands = map[string]bool{
	"sendmsg": true, "resume": true, "getvar": true, "api": true, "bgapi": true,
}

// handle records cmd and answers it.
func (s *session) handle(cmd Command) {
	s.res.Commands = append(s.res.Commands, cmd)
	verb, args, _ := strings.Cut(cmd.Name, " ")
	verb = strings.ToLower(verb)

	if !s.connected && verb != "connect" {
		s.fail(fmt.Errorf("protocol violation: %q before connect", cmd.Name))
		return
	}

	h, ok := handlers[verb]
	if !ok {
		s.reply(replyNotFound)
		return
	}
	h(s, cmd, strings.TrimSpace(args))
	if parkingCommands[verb] {
		s.parkDue = true
	}
}

// reply sends a command/reply frame.
func (s *session) reply(text string, extra ...header) {
	s.write(replyFrame(text, extra...))
}

// park emits the socket application's CHANNEL_PARK once. FreeSWITCH parks the
// channel right after connect; the event reaches a subscribed server a little
// later, after the replies to its next channel commands (recordings 01, 08a).
func (s *session) park() {
	if !s.parkDue || s.parked || s.hungUp || s.closed {
		return
	}
	s.parked = true
	s.emit("CHANNEL_PARK")
}

// handleConnect answers with the channel data and starts the caller's clock.
// A repeated connect gets the channel data again.
func (s *session) handleConnect(Command, string) {
	first := !s.connected
	s.connected = true
	s.connectWait.stop()
	s.write(connectFrame(s.eventHeaders("CHANNEL_DATA")))

	if first && s.call.HangupAfter > 0 {
		s.callerTimer.set(s.call.HangupAfter)
	}
}

// handleMyEvents subscribes to every event of this channel, once.
func (s *session) handleMyEvents(_ Command, args string) {
	if s.events.myevents {
		s.reply(replyEventsTwice)
		return
	}
	s.events.myevents = true
	s.events.all = true
	s.events.format = formatOf(args, "plain")
	s.reply("+OK Events Enabled")
}

// handleEvent subscribes to the listed events in the given format.
func (s *session) handleEvent(_ Command, args string) {
	fields := strings.Fields(args)
	format := "plain"
	if len(fields) > 0 && formatOf(fields[0], "") != "" {
		format, fields = formatOf(fields[0], ""), fields[1:]
	}
	s.events.format = format
	s.events.add(fields)
	s.reply("+OK event listener enabled " + format)
}

// formatOf returns the event format named by word, or fallback.
func formatOf(word, fallback string) string {
	switch w := strings.ToLower(strings.TrimSpace(word)); w {
	case "plain", "json", "xml":
		return w
	}
	return fallback
}

// handleNixEvent unsubscribes from the listed events.
func (s *session) handleNixEvent(_ Command, args string) {
	for _, name := range strings.Fields(args) {
		if strings.EqualFold(name, "ALL") {
			s.events.all = false
		}
		delete(s.events.names, strings.ToUpper(name))
	}
	s.reply("+OK events nixed")
}

// handleNoEvents drops every subscription.
func (s *session) handleNoEvents(Command, string) {
	s.events.all = false
	s.events.names = nil
	s.reply("+OK no longer listening for events")
}

// handleLinger keeps the socket open after a hangup: until the server closes
// it, or for the given number of seconds.
func (s *session) handleLinger(_ Command, args string) {
	s.linger = true
	s.lingerSecs = -1
	if n, err := strconv.Atoi(args); err == nil && n > 0 {
		s.lingerSecs = n
		s.reply(fmt.Sprintf("+OK will linger %d seconds", n))
		return
	}
	s.reply("+OK will linger")
}

// handleNoLinger turns linger off again.
func (s *session) handleNoLinger(Command, string) {
	s.linger = false
	s.reply("+OK will not linger")
}

// handleResume marks the call to go on in the dialplan when the socket lets
// go of it (recordings 02c, 02d).
func (s *session) handleResume(Command, string) {
	s.resumed = true
	s.ch.vars.set("socket_resume", "true")
	s.reply(replyOK)
}

// handleGetvar answers a channel variable, a caller profile field or a global
// variable; an unknown name gets "-ERR command not found" (recording 06a).
func (s *session) handleGetvar(_ Command, name string) {
	value, ok := s.lookup(name)
	if !ok {
		s.reply(replyNotFound)
		return
	}
	s.reply(value)
}

// lookup finds name the way getvar does: channel variables first, then the
// caller profile, then the switch's global variables.
func (s *session) lookup(name string) (string, bool) {
	if name == "" {
		return "", false
	}
	if v, ok := s.ch.vars.get(name); ok {
		return v, true
	}
	if v, ok := s.ch.profileField(name); ok {
		return v, true
	}
	v, ok := s.globals()[name]
	return v, ok
}

// globals are the few global variables of a vanilla FreeSWITCH that a server
// might read through getvar.
func (s *session) globals() map[string]string {
	return map[string]string{
		"domain":      s.call.Domain,
		"domain_name": s.call.Domain,
		"hostname":    switchHostname,
		"local_ip_v4": switchIPv4,
	}
}

// handleAPI runs an API command and answers with an api/response.
func (s *session) handleAPI(_ Command, line string) {
	s.write(apiFrame(s.runAPI(line)))
	s.afterAPI(line)
}

// handleBgAPI answers at once with a Job-UUID, then delivers the result as a
// BACKGROUND_JOB event to a server subscribed to it (recording 07).
func (s *session) handleBgAPI(cmd Command, line string) {
	job := cmd.Headers["job-uuid"]
	if job == "" {
		job = newUUID()
	}
	s.reply("+OK Job-UUID: "+job, header{"Job-UUID", job})

	out := s.runAPI(line)
	verb, arg, _ := strings.Cut(line, " ")
	s.emitWithBody("BACKGROUND_JOB", out,
		header{"Job-UUID", job},
		header{"Job-Owner-UUID", s.ch.uuid},
		header{"Job-Command", verb},
		header{"Job-Command-Arg", arg},
	)
	s.afterAPI(line)
}

// runAPI returns the output of one API command line.
func (s *session) runAPI(line string) string {
	verb, arg, _ := strings.Cut(strings.TrimSpace(line), " ")
	fields := strings.Fields(arg)
	switch verb {
	case "status":
		up := int(time.Since(s.started).Seconds())
		return fmt.Sprintf("UP 0 years, 0 days, 0 hours, 0 minutes, %d seconds\n"+
			"fakefs (FreeSWITCH 1.10.12 stand-in) is ready\n1 session(s)\n", up)
	case "uuid_exists":
		return strconv.FormatBool(len(fields) > 0 && fields[0] == s.ch.uuid && !s.hungUp)
	case "uuid_getvar":
		return s.apiGetvar(fields)
	case "global_getvar":
		return s.globals()[arg]
	case "uuid_kill":
		return s.apiKill(fields)
	}
	return "-ERR " + verb + " Command not found!\n"
}

// apiGetvar answers "uuid_getvar <uuid> <name>".
func (s *session) apiGetvar(fields []string) string {
	if len(fields) < 2 || fields[0] != s.ch.uuid || s.hungUp {
		return "-ERR No such channel!\n"
	}
	if v, ok := s.lookup(fields[1]); ok {
		return v
	}
	return "_undef_"
}

// apiKill answers "uuid_kill <uuid> [cause]"; the hangup itself follows the
// answer (afterAPI).
func (s *session) apiKill(fields []string) string {
	if len(fields) < 1 || fields[0] != s.ch.uuid || s.hungUp {
		return "-ERR No such channel!\n"
	}
	return "+OK\n"
}

// afterAPI carries out what an API command does to the call once it has
// been answered: uuid_kill hangs the channel up.
func (s *session) afterAPI(line string) {
	fields := strings.Fields(line)
	if len(fields) < 2 || fields[0] != "uuid_kill" || fields[1] != s.ch.uuid {
		return
	}
	cause := "NORMAL_CLEARING"
	if len(fields) > 2 {
		cause = fields[2]
	}
	s.hangup(cause, "app")
}

// handleSendmsg acknowledges at once, then queues the application or hangs
// up. After a hangup or transfer messages are acknowledged and dropped
// (recording 10a).
func (s *session) handleSendmsg(cmd Command, target string) {
	if target != "" && target != s.ch.uuid {
		s.reply("-ERR invalid session id [" + target + "]")
		return
	}

	switch strings.ToLower(cmd.Headers["call-command"]) {
	case "execute":
		x, err := newExecution(cmd)
		if err != nil {
			s.fail(fmt.Errorf("protocol violation: %w", err))
			return
		}
		s.reply(replyOK)
		if !s.hungUp && !s.transferred {
			s.queue = append(s.queue, x)
		}
	case "hangup":
		s.reply(replyOK)
		s.hangup(causeOr(cmd.Headers["hangup-cause"]), "app")
	default:
		// unicast, nomedia, xferext and the like: accepted, not simulated.
		s.reply(replyOK)
	}
}

// causeOr returns cause, or NORMAL_CLEARING when it is empty.
func causeOr(cause string) string {
	if cause = strings.TrimSpace(cause); cause == "" {
		return "NORMAL_CLEARING"
	}
	return cause
}

// handleExit says goodbye and closes the socket (recordings 01, 02b).
func (s *session) handleExit(Command, string) {
	s.reply("+OK bye")
	s.disconnect()
}

// handleFilter acknowledges a filter without applying it: the stand-in only
// ever has one channel.
func (s *session) handleFilter(_ Command, args string) {
	fields := strings.Fields(args)
	switch {
	case len(fields) >= 1 && fields[0] == "delete" && len(fields) == 2 && fields[1] == "all":
		s.reply("+OK filter deleted. [all][]")
	case len(fields) >= 3 && fields[0] == "delete":
		s.reply("+OK filter deleted. [" + fields[1] + "][" + fields[2] + "]")
	case len(fields) >= 2:
		s.reply("+OK filter added. [" + fields[0] + "]=[" + fields[1] + "]")
	default:
		s.reply("-ERR invalid syntax")
	}
}

// handleDivert acknowledges divert_events on or off.
func (s *session) handleDivert(_ Command, args string) {
	if strings.EqualFold(args, "on") {
		s.reply("+OK events diverted")
		return
	}
	s.reply("+OK events not diverted")
}

// handleLog acknowledges a log level; no log/data frames are sent.
func (s *session) handleLog(_ Command, args string) {
	level := args
	if level == "" {
		level = "7"
	}
	s.reply("+OK log level " + level + " [" + level + "]")
}

// handleNoLog acknowledges nolog.
func (s *session) handleNoLog(Command, string) {
	s.reply("+OK no longer logging")
}

// handleSendEvent acknowledges a fired event with its new event UUID.
func (s *session) handleSendEvent(Command, string) {
	s.reply("+OK " + newUUID())
}
