package fakefs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"time"
)

// writeTimeout bounds each write to the server, so a server that stops
// reading fails the call instead of hanging it.
const writeTimeout = 5 * time.Second

// batch is what the reader hands to the session: the commands that one read
// completed, in order, and the error that ended reading, if any.
type batch struct {
	cmds []Command
	err  error
}

// alarm is a timer whose channel is nil while it is not set, so a select
// ignores it.
type alarm struct{ t *time.Timer }

// set (re)starts the alarm to fire after d.
func (a *alarm) set(d time.Duration) {
	a.stop()
	a.t = time.NewTimer(d)
}

// stop disarms the alarm.
func (a *alarm) stop() {
	if a.t != nil {
		a.t.Stop()
		a.t = nil
	}
}

// c returns the channel the alarm fires on, nil when it is not set.
func (a *alarm) c() <-chan time.Time {
	if a.t == nil {
		return nil
	}
	return a.t.C
}

// transcript records both directions of the conversation. The reader and the
// session write to it concurrently.
type transcript struct {
	mu    sync.Mutex
	start time.Time
	buf   bytes.Buffer
}

// record appends one chunk written by dir ("app->fs" or "fs->app").
func (t *transcript) record(dir string, p []byte) {
	t.mu.Lock()
	defer t.mu.Unlock()

	elapsed := time.Since(t.start).Round(time.Microsecond)
	fmt.Fprintf(&t.buf, "----- %s +%s %d bytes\n", dir, elapsed, len(p))
	t.buf.Write(p)
	if !bytes.HasSuffix(p, []byte("\n")) {
		t.buf.WriteString("\n")
	}
}

// bytes returns a copy of everything recorded.
func (t *transcript) bytes() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return bytes.Clone(t.buf.Bytes())
}

// session is one call on one connection. Only run's goroutine touches it,
// apart from the transcript.
type session struct {
	ctx     context.Context
	call    Call
	conn    net.Conn
	started time.Time
	ch      *channel
	res     Result
	log     *transcript

	socketData string
	socketUUID string
	seq        int

	connected   bool
	events      subscription
	linger      bool
	lingerSecs  int
	parkDue     bool
	parked      bool
	resumed     bool
	hungUp      bool
	transferred bool
	closed      bool
	err         error

	queue   []*execution
	running *execution
	runs    map[string]int
	entries []string
	dialed  string
	lastApp *execution

	connectWait alarm
	appTimer    alarm
	callerTimer alarm
	lingerTimer alarm
}

// newSession prepares the call c on conn; addr is what the dialplan's socket
// application was given.
func newSession(conn net.Conn, addr string, c Call, started time.Time) *session {
	socketData := addr + " async full"
	return &session{
		call:       c,
		conn:       conn,
		started:    started,
		ch:         newChannel(c, socketData, started),
		log:        &transcript{start: started},
		socketData: socketData,
		socketUUID: newUUID(),
		seq:        100,
		runs:       map[string]int{},
		entries:    append([]string(nil), c.Entries...),
	}
}

// run plays the call until the socket closes or ctx ends, and returns the
// first failure.
func (s *session) run(ctx context.Context) error {
	s.ctx = ctx
	batches := make(chan batch)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	rd := &reader{conn: s.conn, log: s.log, out: batches, done: done}
	go func() {
		defer wg.Done()
		rd.run()
	}()

	// An ended context unblocks a write stuck on a server that stopped
	// reading, and the reader.
	fired := make(chan struct{})
	stopAfter := context.AfterFunc(ctx, func() {
		defer close(fired)
		_ = s.conn.SetDeadline(time.Now())
	})

	defer func() {
		if !stopAfter() {
			<-fired
		}
		close(done)
		_ = s.conn.Close()
		wg.Wait()
		s.stopAlarms()
	}()

	s.loop(batches)
	return s.err
}

// loop reacts to the server's commands and to the call's timers until the
// session closes.
func (s *session) loop(batches <-chan batch) {
	s.connectWait.set(s.call.ConnectWait)
	for !s.closed {
		select {
		case b := <-batches:
			s.handleBatch(b)
		case <-s.connectWait.c():
			s.connectTimedOut()
		case <-s.appTimer.c():
			s.appTimer.stop()
			s.appTimerFired()
		case <-s.callerTimer.c():
			s.callerTimer.stop()
			s.hangup("NORMAL_CLEARING", "caller")
		case <-s.lingerTimer.c():
			s.lingerTimer.stop()
			s.disconnect()
		case <-s.ctx.Done():
			s.failEnded()
		}
		s.startApps()
	}
}

// stopAlarms disarms every timer.
func (s *session) stopAlarms() {
	s.connectWait.stop()
	s.appTimer.stop()
	s.callerTimer.stop()
	s.lingerTimer.stop()
}

// reader splits the server's byte stream into batches of commands, one batch
// per read that completed at least one command.
type reader struct {
	conn net.Conn
	log  *transcript
	out  chan<- batch
	done <-chan struct{}
}

// run reads until reading fails, a protocol error shows up or the session is
// done. The last batch it sends carries the error.
func (r *reader) run() {
	var pending []byte
	chunk := make([]byte, 4096)
	for {
		n, err := r.conn.Read(chunk)
		if n > 0 {
			r.log.record("app->fs", chunk[:n])

			var cmds []Command
			var perr error
			cmds, pending, perr = splitCommands(append(pending, chunk[:n]...))
			if len(cmds) > 0 || perr != nil {
				if !r.send(batch{cmds: cmds, err: perr}) || perr != nil {
					return
				}
			}
		}
		if err != nil {
			r.send(batch{err: err})
			return
		}
	}
}

// send hands b to the session unless the session is done; it reports
// whether b was delivered.
func (r *reader) send(b batch) bool {
	select {
	case r.out <- b:
		return true
	case <-r.done:
		return false
	}
}

// handleBatch answers every command of one read before any application
// starts, as FreeSWITCH does with pipelined commands (recording 08a), then
// deals with the end of the stream.
func (s *session) handleBatch(b batch) {
	for _, cmd := range b.cmds {
		if s.closed {
			return
		}
		s.handle(cmd)
	}
	s.park()
	if b.err == nil || s.closed {
		return
	}

	switch {
	case errors.Is(b.err, errNotCommand):
		s.fail(fmt.Errorf("protocol violation: %w", b.err))
	case s.ctx.Err() != nil:
		s.failEnded()
	default:
		// The server closed the socket (or reset it): the call goes wherever
		// the state says.
		s.closed = true
	}
}

// connectTimedOut gives up on a server that never sent "connect", the way
// FreeSWITCH does after 25 s (recording 09a): notice, close, call stranded.
func (s *session) connectTimedOut() {
	s.connectWait.stop()
	s.disconnect()
}

// write sends one frame to the server. A server that went away ends the
// session quietly; one that stopped reading fails it.
func (s *session) write(p []byte) {
	if s.closed {
		return
	}
	s.log.record("fs->app", p)

	_ = s.conn.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err := s.conn.Write(p)
	switch {
	case err == nil:
	case s.ctx.Err() != nil:
		s.failEnded()
	case errors.Is(err, os.ErrDeadlineExceeded):
		s.fail(fmt.Errorf("write to app: %w", err))
	default:
		s.closed = true
	}
}

// disconnect sends the final disconnect notice and closes the session.
func (s *session) disconnect() {
	s.write(disconnectNotice(s.ch.uuid))
	s.closed = true
}

// fail ends the session with err, unless it already failed.
func (s *session) fail(err error) {
	if s.err == nil {
		s.err = err
	}
	s.closed = true
}

// failEnded fails the session because its context ended first.
func (s *session) failEnded() {
	s.fail(fmt.Errorf("call still open when the context ended: %w", s.ctx.Err()))
}

// outcome says where the call went: the first of transfer, hangup, resume
// that happened, else stranded.
func (s *session) outcome() Outcome {
	switch {
	case s.transferred:
		return OutcomeTransferred
	case s.hungUp:
		return OutcomeHungUp
	case s.resumed:
		return OutcomeContinued
	}
	return OutcomeStranded
}

// result completes the Result with the final state of the call.
func (s *session) result() *Result {
	r := s.res
	r.Resumed = s.resumed
	r.Outcome = s.outcome()
	r.FinalVars = s.ch.vars.snapshot()
	r.Transcript = s.log.bytes()
	r.Duration = time.Since(s.started)
	return &r
}
