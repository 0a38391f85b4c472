package esl

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"runtime/debug"
	"sync"
	"time"

	"github.com/percipia/eslgo/command"
)

// Handler runs the flow of one call. ctx is cancelled when the server's
// drain deadline passes during shutdown; the handler should then finish at
// once. When the handler returns, the server closes the connection, first
// handing the call back to the dialplan if the handler neither handed it
// back nor hung it up and ran no application (a handler that gave up early
// fails open), or killing the call if it had started something on it.
type Handler func(ctx context.Context, c *Call)

// Server accepts FreeSWITCH's outbound event socket connections, one per
// call. Set the fields before calling Serve.
type Server struct {
	// Handler runs each call. Required.
	Handler Handler
	// Log receives Debug lines for each command and event and Warn lines
	// for connections that fail. Required.
	Log *slog.Logger
	// ConnectTimeout bounds the wait for the reply to "connect"; zero means 5 s.
	ConnectTimeout time.Duration
	// ReplyTimeout bounds each wait for a command reply; zero means 5 s.
	ReplyTimeout time.Duration
	// SessionStarted and SessionEnded, when set, are called around each
	// connection, for example to keep a gauge of sessions in progress.
	SessionStarted, SessionEnded func()

	mu        sync.Mutex
	ln        net.Listener
	conns     map[net.Conn]struct{}
	shutdown  bool
	wg        sync.WaitGroup
	serveDone chan struct{} // closed when Serve's accept loop has ended

	abortOnce sync.Once
	abortCtx  context.Context
	abort     context.CancelFunc
}

// ErrServerClosed is returned by Serve after Shutdown.
var ErrServerClosed = errors.New("esl server closed")

// Serve accepts connections on ln until Shutdown, serving each on its own
// goroutine; failed accepts are retried with a backoff. It returns
// ErrServerClosed after Shutdown (or when called twice), and closes ln.
func (s *Server) Serve(ln net.Listener) error {
	s.init()
	s.mu.Lock()
	if s.shutdown || s.ln != nil {
		s.mu.Unlock()
		ln.Close()
		return ErrServerClosed
	}
	s.ln = ln
	s.mu.Unlock()
	defer close(s.serveDone)
	defer ln.Close()

	var backoff time.Duration
	for {
		nc, err := ln.Accept()
		if err != nil {
			if s.isShutdown() {
				return ErrServerClosed
			}
			// Out of file descriptors, or another passing failure: wait
			// and go on. Giving up would let every later call through
			// unchecked until someone restarts the daemon.
			backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
			s.Log.Warn("esl accept failed; retrying", "error", err, "retry_in", backoff)
			time.Sleep(backoff)
			continue
		}
		backoff = 0

		// Every accepted connection is served, also during Shutdown: it
		// may be a call FreeSWITCH has already handed over.
		s.track(nc)
		go s.serveConn(nc)
	}
}

// Shutdown stops accepting calls and waits for calls in progress to end.
// When ctx expires first, it cancels the handlers' context, gives them a
// moment to hang up, then closes every connection, and returns ctx's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.init()
	s.mu.Lock()
	s.shutdown = true
	ln := s.ln
	if ln != nil {
		ln.Close()
	}
	s.mu.Unlock()

	// Once the accept loop has ended no connection can be added, so the
	// wait below covers every call that was accepted.
	if ln != nil {
		<-s.serveDone
	}
	if s.wait(ctx) {
		return nil
	}

	// Drain deadline passed: handlers wrap up (hanging up their calls) with
	// a short grace period, then whatever is left is cut off.
	s.abort()
	grace, cancel := context.WithTimeout(context.Background(), s.replyTimeout())
	defer cancel()
	if !s.wait(grace) {
		s.closeAll()
		s.wg.Wait()
	}
	return ctx.Err()
}

func (s *Server) init() {
	s.abortOnce.Do(func() {
		s.abortCtx, s.abort = context.WithCancel(context.Background())
		s.mu.Lock()
		s.conns = make(map[net.Conn]struct{})
		s.serveDone = make(chan struct{})
		s.mu.Unlock()
	})
}

// wait waits for all connections to end, or ctx; it reports which.
func (s *Server) wait(ctx context.Context) bool {
	done := make(chan struct{})
	go func() {
		s.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *Server) isShutdown() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.shutdown
}

func (s *Server) track(nc net.Conn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.conns[nc] = struct{}{}
	s.wg.Add(1)
}

func (s *Server) untrack(nc net.Conn) {
	s.mu.Lock()
	delete(s.conns, nc)
	s.mu.Unlock()
	s.wg.Done()
}

func (s *Server) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for nc := range s.conns {
		nc.Close()
	}
}

func (s *Server) serveConn(nc net.Conn) {
	defer s.untrack(nc)
	if s.SessionStarted != nil {
		s.SessionStarted()
	}
	if s.SessionEnded != nil {
		defer s.SessionEnded()
	}

	sess := newSession(nc, s.Log, s.replyTimeout())
	defer func() {
		nc.Close()
		<-sess.readDone
	}()

	c, err := s.connect(sess)
	if err != nil {
		s.Log.Warn("esl connect failed", "remote_addr", nc.RemoteAddr().String(), "error", err)
		sess.handBackBlindly()
		return
	}
	s.runHandler(c)
	s.finish(c)
}

// runHandler runs the handler; a panic in it is logged and the call is
// finished like any other, so one bad call never takes the daemon down.
func (s *Server) runHandler(c *Call) {
	defer func() {
		if r := recover(); r != nil {
			s.Log.Error("call handler panicked", "uuid", c.UUID, "panic", r, "stack", string(debug.Stack()))
		}
	}()
	s.Handler(s.abortCtx, c)
}

// connect sends "connect" and reads the channel data from its reply.
func (s *Server) connect(sess *session) (*Call, error) {
	timeout := s.ConnectTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(s.abortCtx, timeout)
	defer cancel()

	f, err := sess.command(ctx, command.Connect{})
	if err != nil {
		return nil, err
	}
	data := newChannelData(f.headers)
	if data.UUID == "" {
		return nil, fmt.Errorf("%w: connect reply carries no Unique-ID", errProtocol)
	}
	sess.setChannelUUID(data.UUID)
	return &Call{ChannelData: *data, s: sess, replyTimeout: s.replyTimeout()}, nil
}

// finish makes sure no call is left stranded in the socket application
// once its handler has returned.
func (s *Server) finish(c *Call) {
	if c.handedBack || c.HungUp() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.replyTimeout())
	defer cancel()

	if !c.executed {
		if c.s.broken {
			c.s.handBackBlindly()
			return
		}
		if err := c.HandBack(ctx); err != nil {
			s.Log.Warn("esl hand back failed", "uuid", c.UUID, "error", err)
		}
		return
	}
	cause := c.fallbackCause
	if cause == "" {
		cause = "NORMAL_CLEARING"
	}
	if err := c.Kill(ctx, cause); err != nil {
		s.Log.Warn("esl hangup failed", "uuid", c.UUID, "error", err)
	}
}

func (s *Server) replyTimeout() time.Duration {
	if s.ReplyTimeout <= 0 {
		return 5 * time.Second
	}
	return s.ReplyTimeout
}
