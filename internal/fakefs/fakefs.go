// Package fakefs is a FreeSWITCH stand-in for tests: it plays the switch's
// side of the outbound event socket against a server under test, the way
// FreeSWITCH 1.10.12 does in the wire recordings under shared/freeswitch.
//
// Dial connects to the server as the dialplan action
// "socket <addr> async full" would, answers its commands with replies of the
// recorded shape, simulates the applications it executes (answer,
// pre_answer, playback, play_and_get_digits, set, unset, hangup, voicemail,
// transfer; any other completes at once), scripts a caller who keys digits
// and hangs up, and reports what happened to the call in a Result.
//
// Where FreeSWITCH is racy or slow, the stand-in is strict and fast:
//   - A server that closes the socket or sends "exit" before any hangup
//     without "resume" always strands the call; the recordings strand it
//     only when this happens within about a millisecond (02a, 02e, 02f).
//   - Applications run one at a time, in order, even without event-lock.
//   - Each prompt and playback lasts Call.PlayTime; the caller's keys for a
//     prompt arrive together when it ends, and prompt and digit timeouts
//     take no extra time.
//   - After a transfer the new extension is not simulated.
package fakefs

import (
	"context"
	"fmt"
	"net"
	"time"
)

// Defaults for the timing fields of Call.
const (
	// DefaultPlayTime is how long a simulated playback or digit prompt runs.
	DefaultPlayTime = 20 * time.Millisecond

	// DefaultConnectWait is how long FreeSWITCH waits for "connect" before it
	// gives up on the socket (recording 09a).
	DefaultConnectWait = 25 * time.Second
)

// Call scripts one call as FreeSWITCH would hand it to the socket, and the
// caller on the line. The zero value is an unauthenticated call that never
// hangs up by itself.
type Call struct {
	// UUID is the channel's Unique-ID; Dial generates one if it is empty.
	UUID string

	// UserName is the authenticated SIP user (variable_user_name). Empty
	// means an unauthenticated call, shaped like a loopback leg: no
	// variable_user_name, variable_domain_name or variable_sip_auth_username.
	UserName string

	// Domain is variable_domain_name; it defaults to "127.0.0.1". getvar
	// domain_name answers it even on unauthenticated calls, because
	// FreeSWITCH falls back to its global variables (recording 11c).
	Domain string

	// CallerIDNumber is the number the caller claims: Caller-Caller-ID-Number,
	// Caller-Username, variable_sip_from_user and Channel-Name carry it. It
	// defaults to UserName, or to "0000000000" on unauthenticated calls.
	CallerIDNumber string

	// Destination is the dialled number, Caller-Destination-Number.
	Destination string

	// Entries are what the caller keys at each play_and_get_digits prompt, in
	// order: "1234#" (terminated), "999" (ended by the digit timeout), ""
	// (silence until the timeout). Prompts after the last entry get silence.
	Entries []string

	// HangupOnApp makes the caller hang up as the HangupOnAppN-th execution
	// of this application starts. At a play_and_get_digits prompt the caller
	// first keys the next entry up to any terminator, leaving partial digits.
	HangupOnApp string

	// HangupOnAppN selects the execution of HangupOnApp (1-based; 0 means 1).
	HangupOnAppN int

	// HangupAfter makes the caller hang up this long after the connect reply
	// (0 means never). It is what ends a voicemail recording.
	HangupAfter time.Duration

	// PlayTime is how long each playback and each digit prompt runs; it
	// defaults to DefaultPlayTime.
	PlayTime time.Duration

	// ConnectWait is how long FreeSWITCH waits for "connect"; it defaults to
	// DefaultConnectWait.
	ConnectWait time.Duration

	// ExtraVars are further channel variables present from the start.
	ExtraVars map[string]string
}

// withDefaults returns c with its empty fields filled in.
func (c Call) withDefaults() Call {
	if c.UUID == "" {
		c.UUID = newUUID()
	}
	if c.Domain == "" {
		c.Domain = "127.0.0.1"
	}
	if c.CallerIDNumber == "" {
		c.CallerIDNumber = c.UserName
	}
	if c.CallerIDNumber == "" {
		c.CallerIDNumber = "0000000000"
	}
	if c.HangupOnAppN <= 0 {
		c.HangupOnAppN = 1
	}
	if c.PlayTime <= 0 {
		c.PlayTime = DefaultPlayTime
	}
	if c.ConnectWait <= 0 {
		c.ConnectWait = DefaultConnectWait
	}
	return c
}

// Outcome is where a call went once the socket let go of it.
type Outcome int

// The outcomes of a call. The zero Outcome is not one of them.
const (
	// OutcomeContinued means the dialplan went on after the socket
	// application, because the server sent "resume" before it let go.
	OutcomeContinued Outcome = iota + 1

	// OutcomeStranded means the call was left parked in the socket
	// application, ringing, with no dialplan and no hangup (recordings 02a,
	// 09a).
	OutcomeStranded

	// OutcomeHungUp means the call was hung up, by the server or the caller.
	OutcomeHungUp

	// OutcomeTransferred means the server handed the call to another
	// dialplan extension with the transfer application.
	OutcomeTransferred
)

// String returns a lower-case name for o, such as "stranded".
func (o Outcome) String() string {
	switch o {
	case OutcomeContinued:
		return "continued"
	case OutcomeStranded:
		return "stranded"
	case OutcomeHungUp:
		return "hung up"
	case OutcomeTransferred:
		return "transferred"
	}
	return fmt.Sprintf("outcome(%d)", int(o))
}

// Command is one command the server sent, as FreeSWITCH parsed it.
type Command struct {
	// Name is the command's first line, such as "connect",
	// "event plain CHANNEL_EXECUTE" or "sendmsg".
	Name string

	// Headers holds the header lines, keyed by lower-cased name.
	Headers map[string]string

	// Body is the body announced by a Content-Length header, if any.
	Body string
}

// App is one application execution that actually started on the channel.
type App struct {
	Name string
	Arg  string

	// UUID is the Application-UUID of its events: the sendmsg's Event-UUID,
	// or a generated one.
	UUID string
}

// Result is what FreeSWITCH saw of a call, for assertions.
type Result struct {
	// Commands holds every command the server sent, in order.
	Commands []Command

	// Apps holds every application that started executing, in order.
	// Applications dropped by a hangup are not in it.
	Apps []App

	// Answered and PreAnswered say whether the call was answered, or put
	// into early media by pre_answer or voicemail.
	Answered    bool
	PreAnswered bool

	// HangupCause is the cause of the hangup; empty if there was none.
	HangupCause string

	// HungUpBy is "app" or "caller" after a hangup, else empty.
	HungUpBy string

	// Resumed says whether the server's "resume" was accepted.
	Resumed bool

	// Outcome says where the call went.
	Outcome Outcome

	// TransferTo is the transfer application's argument, such as
	// "*98 XML default", when Outcome is OutcomeTransferred.
	TransferTo string

	// VoicemailArgs is the argument of the last voicemail execution.
	VoicemailArgs string

	// Played lists the files playback started on, in order.
	Played []string

	// FinalVars holds the channel variables at the end, without the
	// "variable_" prefix: what a CDR would hold.
	FinalVars map[string]string

	// Transcript holds every chunk both sides wrote, each after a "-----"
	// line naming its direction and time, for debugging failures.
	Transcript []byte

	// Duration is how long Dial ran.
	Duration time.Duration
}

// Dial connects to addr as FreeSWITCH would for call c and plays the call to
// its end: until either side closes the socket or ctx ends. It returns the
// result with a nil error when the call ran its course. It returns an error
// when addr cannot be reached (then the result is nil), when the server
// breaks the protocol (a command before "connect", a malformed header line,
// a bad Content-Length), when a write to the server stalls, or when ctx ends
// first; in those cases the result holds what was seen so far. Every
// goroutine Dial starts has ended when it returns.
func Dial(ctx context.Context, addr string, c Call) (*Result, error) {
	started := time.Now()

	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}

	s := newSession(conn, addr, c.withDefaults(), started)
	err = s.run(ctx)
	return s.result(), err
}
