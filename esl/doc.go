// Package esl serves FreeSWITCH's outbound event socket: the dialplan runs
// "socket ADDR async full", FreeSWITCH connects to the daemon once per
// call, and this package turns that connection into a Call with a few
// bounded steps (answer, play, collect digits, set and unset variables, hang
// up with a cause, hand back, transfer). It is the only package that imports
// github.com/percipia/eslgo.
//
// # Why a session layer of our own
//
// We use eslgo's command builders (connect, sendmsg execute), which produce
// exactly the bytes FreeSWITCH expects, but not its connection or outbound
// server. Reading eslgo v1.5.2 closely, each of those would break a rule
// phonelock must keep:
//
//   - Its outbound server owns the listener: it cannot be closed for a
//     graceful shutdown, and with port 0 the bound address is only printed
//     to its logger. Server.Serve here takes a listener the caller made.
//   - After every handler it sleeps ConnectionDelay (25 ms by default) and
//     then sends "exit". An allowed call must go back to the dialplan with no
//     sleep at all, and "exit" without "resume" strands the call in the
//     socket application (recordings 02a, 02b, 02e). Here an allowed call
//     gets "resume", its +OK, and a close: nothing else.
//   - It hands each event to listeners on a goroutine of its own, so the
//     order is lost: an execute-complete could be seen before the hangup that
//     preceded it. Here one reader routes frames in arrival order.
//   - It matches replies to commands by arrival order, so a command that
//     timed out leaves its reply to be taken by the next one. Here a lost
//     reply marks the session broken (ErrBroken) and no further command is
//     trusted; the call is then killed with uuid_kill, whose reply is not
//     needed.
//   - It stops reading without a word on an unknown Content-Type, so every
//     later reply wait would hang. Here unknown frames are skipped (their
//     Content-Length says how far) and logged at Debug.
//   - It allocates whatever Content-Length says. Here frames are bounded
//     (1 MiB bodies, 256 KiB and 2048 lines of headers); a peer beyond that is
//     a protocol error that ends the session.
//
// Because eslgo's Conn is not used, its printf logger never runs; this
// package logs through the injected slog.Logger instead: Debug for each
// command (its first line only) and each event (name and application, never
// variables, which can hold digits the caller typed).
//
// # Protocol choices
//
// Events are turned on ("myevents") only before the first application runs,
// so the common path costs two round trips: connect and resume. The
// daemon does not ask FreeSWITCH to linger: nothing it needs arrives after
// the hangup event, and without linger FreeSWITCH closes the socket itself
// once the channel is gone. Every application is sent with event-lock and
// an Event-UUID, and its CHANNEL_EXECUTE_COMPLETE is matched by
// Application-UUID. After a hangup FreeSWITCH acknowledges queued commands
// but never runs them (recording 10a), so every wait also ends on the
// hangup event, the disconnect notice or the connection closing.
package esl
