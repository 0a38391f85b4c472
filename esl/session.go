package esl

import (
	"bufio"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/percipia/eslgo/command"
	"github.com/percipia/eslgo/command/call"
)

// Errors a call step can return, compared with errors.Is.
var (
	// ErrHungUp means the channel hung up (or FreeSWITCH said goodbye)
	// before the step finished.
	ErrHungUp = errors.New("call hung up")
	// ErrClosed means the connection to FreeSWITCH is gone.
	ErrClosed = errors.New("connection closed")
	// ErrTimeout means FreeSWITCH did not answer within the step's deadline.
	ErrTimeout = errors.New("timed out waiting for freeswitch")
	// ErrBroken means an earlier step timed out while a command reply was
	// outstanding. Replies carry no id and are matched by order, so no
	// further command can be trusted on this connection.
	ErrBroken = errors.New("session unusable after a lost reply")
	// ErrRejected means FreeSWITCH answered a command with -ERR.
	ErrRejected = errors.New("command rejected")
)

// maxQueuedReplies bounds replies that arrive without a command waiting.
// One command is outstanding at a time, so more than a few is a peer that
// does not speak the protocol.
const maxQueuedReplies = 4

// session is one outbound connection: a goroutine reads frames in order and
// routes them; the call's own goroutine writes commands and waits.
type session struct {
	nc           net.Conn
	log          *slog.Logger
	writeTimeout time.Duration

	replies  chan *frame
	readDone chan struct{} // closed when the reader has stopped
	readErr  error         // why it stopped; read only after readDone

	hungUp     chan struct{} // closed at the first hangup event or disconnect notice
	hangupOnce sync.Once

	mu    sync.Mutex
	waits map[string]chan headers // Application-UUID -> its CHANNEL_EXECUTE_COMPLETE

	uuid   string // the channel's Unique-ID, set once connect has answered
	broken bool   // only touched by the call's goroutine
}

func newSession(nc net.Conn, log *slog.Logger, writeTimeout time.Duration) *session {
	s := &session{
		nc:           nc,
		log:          log,
		writeTimeout: writeTimeout,
		replies:      make(chan *frame, maxQueuedReplies),
		readDone:     make(chan struct{}),
		hungUp:       make(chan struct{}),
		waits:        make(map[string]chan headers),
	}
	go s.readLoop(bufio.NewReaderSize(nc, readBufferSize))
	return s
}

// readLoop reads frames until the connection fails or closes. In-order
// delivery matters: a completion must not overtake the hangup before it.
func (s *session) readLoop(r *bufio.Reader) {
	defer close(s.readDone)

	for {
		f, err := readFrame(r)
		if err != nil {
			s.readErr = err
			return
		}
		if err := s.route(f); err != nil {
			s.readErr = err
			return
		}
	}
}

func (s *session) route(f *frame) error {
	switch ct := f.contentType(); ct {
	case typeReply, typeAPI:
		select {
		case s.replies <- f:
			return nil
		default:
			return fmt.Errorf("%w: reply with no command waiting", errProtocol)
		}
	case typeEventPlain:
		return s.routeEvent(f.body)
	case typeDisconnect:
		s.log.Debug("esl disconnect notice", "disposition", f.headers.get("Content-Disposition"))
		s.markHungUp()
		return nil
	default:
		s.log.Debug("esl frame ignored", "content_type", ct)
		return nil
	}
}

func (s *session) routeEvent(body []byte) error {
	hs, err := parseEventBody(body)
	if err != nil {
		return fmt.Errorf("parse event: %w", err)
	}
	name := hs.get("Event-Name")
	s.log.Debug("esl event", "event", name, "application", hs.get("Application"))
	if id := hs.get("Unique-ID"); id != "" && id != s.channelUUID() {
		return nil // another channel's event: not ours to act on
	}

	switch name {
	case "CHANNEL_HANGUP", "CHANNEL_HANGUP_COMPLETE":
		s.markHungUp()
	case "CHANNEL_EXECUTE_COMPLETE":
		id := hs.get("Application-UUID")
		s.mu.Lock()
		done, ok := s.waits[id]
		delete(s.waits, id)
		s.mu.Unlock()
		if ok {
			done <- hs // buffered, never blocks
		}
	}
	return nil
}

func (s *session) channelUUID() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.uuid
}

func (s *session) setChannelUUID(id string) {
	s.mu.Lock()
	s.uuid = id
	s.mu.Unlock()
}

func (s *session) markHungUp() {
	s.hangupOnce.Do(func() { close(s.hungUp) })
}

func (s *session) isHungUp() bool {
	select {
	case <-s.hungUp:
		return true
	default:
		return false
	}
}

// command sends one command and waits for its reply, within ctx. A reply
// that does not come in time leaves the session broken, because the late
// reply would otherwise be taken as the answer to the next command.
func (s *session) command(ctx context.Context, cmd command.Command) (*frame, error) {
	if s.broken {
		return nil, ErrBroken
	}
	if len(s.replies) > 0 {
		// A reply nobody asked for would be taken as this command's.
		s.broken = true
		return nil, fmt.Errorf("%w: reply with no command waiting", errProtocol)
	}
	msg := cmd.BuildMessage()
	s.log.Debug("esl command", "command", firstLine(msg))

	if err := s.write(msg); err != nil {
		return nil, err
	}
	select {
	case f := <-s.replies:
		return f, replyError(f)
	case <-s.readDone:
		return s.lateReply()
	case <-ctx.Done():
		s.broken = true
		return nil, fmt.Errorf("%s: %w", firstLine(msg), ErrTimeout)
	}
}

// lateReply takes a reply that arrived just before the connection closed.
func (s *session) lateReply() (*frame, error) {
	select {
	case f := <-s.replies:
		return f, replyError(f)
	default:
		return nil, s.goneError()
	}
}

func (s *session) write(msg string) error {
	if err := s.nc.SetWriteDeadline(time.Now().Add(s.writeTimeout)); err != nil {
		return fmt.Errorf("set write deadline: %w", ErrClosed)
	}
	if _, err := s.nc.Write([]byte(msg + "\n\n")); err != nil {
		if s.isHungUp() {
			return ErrHungUp
		}
		return fmt.Errorf("write: %w: %v", ErrClosed, err)
	}
	return nil
}

// handBackBlindly sends "resume" without waiting for its reply, for a
// session whose replies can no longer be trusted: closing without it would
// strand a call in the socket application (recordings 02a, 09a).
func (s *session) handBackBlindly() {
	s.broken = true
	s.log.Debug("esl command", "command", "resume")
	_ = s.write("resume") // the connection is closed next either way
}

// goneError explains why the reader stopped, once it has.
func (s *session) goneError() error {
	if s.readErr != nil && errors.Is(s.readErr, errProtocol) {
		return fmt.Errorf("%w: %v", ErrClosed, s.readErr)
	}
	if s.isHungUp() {
		return ErrHungUp
	}
	return ErrClosed
}

// execute runs a dialplan application on the channel and waits for its
// completion event, which it returns. The wait ends early with ErrHungUp
// when the channel hangs up: FreeSWITCH drops queued applications then.
func (s *session) execute(ctx context.Context, uuid, app, arg string, replyTimeout time.Duration) (headers, error) {
	id := newUUID()
	done := make(chan headers, 1)
	s.mu.Lock()
	s.waits[id] = done
	s.mu.Unlock()
	defer s.forget(id)

	msg := &call.Execute{UUID: uuid, AppName: app, AppArgs: arg, AppUUID: id, Sync: true}
	rctx, cancel := context.WithTimeout(ctx, replyTimeout)
	_, err := s.command(rctx, msg)
	cancel()
	if err != nil {
		return nil, err
	}

	select {
	case hs := <-done:
		return hs, nil
	case <-s.hungUp:
		return nil, ErrHungUp
	case <-s.readDone:
		return nil, s.goneError()
	case <-ctx.Done():
		return nil, fmt.Errorf("%s did not complete: %w", app, ErrTimeout)
	}
}

func (s *session) forget(id string) {
	s.mu.Lock()
	delete(s.waits, id)
	s.mu.Unlock()
}

// replyError turns a -ERR reply into an error wrapping ErrRejected.
func replyError(f *frame) error {
	text := f.headers.get("Reply-Text")
	if text == "" && f.contentType() == typeAPI {
		text = string(f.body)
	}
	if strings.HasPrefix(text, "+OK") {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrRejected, strings.TrimSpace(text))
}

func firstLine(msg string) string {
	line, _, _ := strings.Cut(msg, "\n")
	return strings.TrimRight(line, "\r ")
}

// rawCommand is a protocol command eslgo has no type for.
type rawCommand string

func (c rawCommand) BuildMessage() string { return string(c) }

// newUUID returns a random (version 4) UUID for tagging an application run.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
