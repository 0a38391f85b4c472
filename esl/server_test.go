package esl

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"
)

// peer is a hand-driven FreeSWITCH side of one connection.
type peer struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dialPeer(t *testing.T, addr string) *peer {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	return &peer{t: t, conn: conn, r: bufio.NewReader(conn)}
}

// expect reads one command and checks its first line.
func (p *peer) expect(first string) string {
	p.t.Helper()
	cmd, err := readCommand(p.r)
	if err != nil {
		p.t.Fatalf("waiting for %q: %v", first, err)
	}
	if got, _, _ := strings.Cut(string(cmd), "\n"); strings.TrimRight(got, "\r ") != first {
		p.t.Fatalf("got command %q, want %q", cmd, first)
	}
	return string(cmd)
}

func (p *peer) send(s string) {
	p.t.Helper()
	if _, err := io.WriteString(p.conn, s); err != nil {
		p.t.Fatal(err)
	}
}

// connectReply is a minimal reply to "connect" for call uuid.
func connectReply(uuid string) string {
	return "Event-Name: CHANNEL_DATA\nUnique-ID: " + uuid +
		"\nCaller-Destination-Number: 1002\nvariable_user_name: 1001\nvariable_domain_name: example.com" +
		"\nContent-Type: command/reply\nReply-Text: %2BOK%0A\nSocket-Mode: async\nControl: full\n\n"
}

func event(body string) string {
	return fmt.Sprintf("Content-Length: %d\nContent-Type: text/event-plain\n\n%s", len(body), body)
}

const okReply = "Content-Type: command/reply\nReply-Text: +OK\n\n"

// expectClosed waits for the server to close the connection.
func (p *peer) expectClosed() {
	p.t.Helper()
	if _, err := io.ReadAll(p.r); err != nil {
		p.t.Fatalf("waiting for close: %v", err)
	}
}

func TestServer_handBack(t *testing.T) {
	calls := make(chan *Call, 1)
	addr := startServer(t, func(ctx context.Context, c *Call) {
		calls <- c
		if err := c.HandBack(ctx); err != nil {
			t.Errorf("HandBack: %v", err)
		}
	})
	p := dialPeer(t, addr)
	p.expect("connect")
	p.send(connectReply("u-1"))
	p.expect("resume")
	p.send(okReply)
	p.expectClosed()

	c := <-calls
	if c.UUID != "u-1" || c.UserName != "1001" || c.Domain != "example.com" || c.Destination != "1002" {
		t.Errorf("channel data = %+v", c.ChannelData)
	}
}

// TestServer_fallbackHandBack: a handler that returns without doing
// anything must not strand the call.
func TestServer_fallbackHandBack(t *testing.T) {
	addr := startServer(t, func(context.Context, *Call) {})
	p := dialPeer(t, addr)
	p.expect("connect")
	p.send(connectReply("u-2"))
	p.expect("resume")
	p.send(okReply)
	p.expectClosed()
}

// TestCall_execute follows one application from sendmsg to its completion,
// with unrelated frames (an unknown content type, other events) between.
func TestCall_execute(t *testing.T) {
	errc := make(chan error, 1)
	addr := startServer(t, func(ctx context.Context, c *Call) {
		errc <- c.Play(ctx, "tone_stream://%(100,0,440)")
		c.Hangup(ctx, "NORMAL_CLEARING")
	})
	p := dialPeer(t, addr)
	p.expect("connect")
	p.send(connectReply("u-3"))
	p.expect("myevents")
	p.send(okReply)

	cmd := p.expect("sendmsg u-3")
	id := headerOf(cmd, "Event-Uuid")
	if id == "" || !strings.Contains(strings.ToLower(cmd), "event-lock: true") {
		t.Fatalf("sendmsg without Event-UUID or event-lock:\n%s", cmd)
	}
	p.send(okReply)
	p.send("Content-Type: text/rude-rant\nContent-Length: 4\n\nblah")
	p.send(event("Event-Name: CHANNEL_EXECUTE\nApplication: playback\nApplication-UUID: " + id + "\n\n"))
	p.send(event("Event-Name: CHANNEL_EXECUTE_COMPLETE\nApplication: playback\nApplication-UUID: other\n\n"))
	p.send(event("Event-Name: CHANNEL_EXECUTE_COMPLETE\nApplication: playback\nApplication-UUID: " + id + "\n\n"))
	if err := <-errc; err != nil {
		t.Fatalf("Play: %v", err)
	}

	cmd = p.expect("sendmsg u-3")
	if !strings.Contains(cmd, "hangup") {
		t.Fatalf("want hangup, got\n%s", cmd)
	}
	p.send(okReply)
	p.send(event("Event-Name: CHANNEL_HANGUP\nHangup-Cause: NORMAL_CLEARING\n\n"))
	p.expectClosed()
}

// TestCall_hangupEndsWait: a caller hanging up ends a wait for an
// application that FreeSWITCH will never complete.
func TestCall_hangupEndsWait(t *testing.T) {
	errc := make(chan error, 1)
	addr := startServer(t, func(ctx context.Context, c *Call) {
		errc <- c.Play(ctx, "long.wav")
	})
	p := dialPeer(t, addr)
	p.expect("connect")
	p.send(connectReply("u-4"))
	p.expect("myevents")
	p.send(okReply)
	p.expect("sendmsg u-4")
	p.send(okReply)
	p.send(event("Event-Name: CHANNEL_HANGUP\nHangup-Cause: NORMAL_CLEARING\n\n"))

	if err := <-errc; !errors.Is(err, ErrHungUp) {
		t.Fatalf("Play = %v, want ErrHungUp", err)
	}
	p.expectClosed()
}

// TestCall_lostReply: a command whose reply never comes breaks the session,
// and the server kills the call rather than trusting later replies.
func TestCall_lostReply(t *testing.T) {
	errc := make(chan error, 1)
	addr := startServer(t, func(ctx context.Context, c *Call) {
		ctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
		defer cancel()
		errc <- c.Answer(ctx)
	})
	p := dialPeer(t, addr)
	p.expect("connect")
	p.send(connectReply("u-5"))
	p.expect("myevents")
	p.send(okReply)
	p.expect("sendmsg u-5") // never answered

	if err := <-errc; !errors.Is(err, ErrTimeout) {
		t.Fatalf("Answer = %v, want ErrTimeout", err)
	}
	p.expect("api uuid_kill u-5 NORMAL_CLEARING")
	p.send(event("Event-Name: CHANNEL_HANGUP\nHangup-Cause: NORMAL_CLEARING\n\n"))
	p.expectClosed()
}

// TestServer_connectTimeout: a peer that never answers "connect" is
// dropped after ConnectTimeout.
func TestServer_connectTimeout(t *testing.T) {
	addr := startServer(t, func(context.Context, *Call) { t.Error("handler ran") })
	p := dialPeer(t, addr)
	p.expect("connect")
	start := time.Now()
	p.expectClosed()
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("closed after %s, want about the 2 s connect timeout", d)
	}
}

// TestServer_protocolErrors: garbage ends the session without a panic.
func TestServer_protocolErrors(t *testing.T) {
	inputs := []string{
		"Content-Length: 999999999999\n\n",
		"no colon here\n\n",
		okReply + okReply + okReply + okReply + okReply + okReply,
		"Content-Type: command/reply\nReply-Text: -ERR nope\n\n",
	}
	for _, in := range inputs {
		addr := startServer(t, func(context.Context, *Call) { t.Error("handler ran") })
		p := dialPeer(t, addr)
		p.expect("connect")
		p.send(in)
		p.expectClosed()
	}
}

// TestServer_shutdownDrains: Shutdown waits for a call in progress, and a
// call that outlives the drain deadline sees its context cancelled.
func TestServer_shutdownDrains(t *testing.T) {
	before := runtime.NumGoroutine()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	started := make(chan struct{})
	srv := &Server{
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Handler: func(ctx context.Context, c *Call) {
			close(started)
			<-ctx.Done() // a dialog that will not finish by itself
		},
		ReplyTimeout: time.Second,
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	p := dialPeer(t, ln.Addr().String())
	p.expect("connect")
	p.send(connectReply("u-6"))
	<-started

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v, want DeadlineExceeded", err)
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve = %v", err)
	}
	if _, err := net.DialTimeout("tcp", ln.Addr().String(), time.Second); err == nil {
		t.Error("listener still accepts after Shutdown")
	}
	// The handler gave up without touching the call: it goes back to the
	// dialplan rather than being stranded.
	p.expect("resume")
	p.conn.Close()
	waitGoroutines(t, before)
}

// waitGoroutines fails when goroutines started by the test outlive it.
func waitGoroutines(t *testing.T, want int) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for runtime.NumGoroutine() > want {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("%d goroutines, want %d:\n%s", runtime.NumGoroutine(), want, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func headerOf(cmd, name string) string {
	for _, line := range strings.Split(cmd, "\n") {
		k, v, ok := strings.Cut(strings.TrimRight(line, "\r"), ":")
		if ok && strings.EqualFold(k, name) {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// flakyListener fails its first accepts, as a listener out of file
// descriptors does.
type flakyListener struct {
	net.Listener
	failures int
}

func (l *flakyListener) Accept() (net.Conn, error) {
	if l.failures > 0 {
		l.failures--
		return nil, errors.New("accept4: too many open files")
	}
	return l.Listener.Accept()
}

// TestServer_acceptErrors: failed accepts are retried, not fatal.
func TestServer_acceptErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &Server{
		Log:     slog.New(slog.NewTextHandler(io.Discard, nil)),
		Handler: func(ctx context.Context, c *Call) { c.HandBack(ctx) },
	}
	go srv.Serve(&flakyListener{Listener: ln, failures: 5})
	defer srv.Shutdown(context.Background())

	p := dialPeer(t, ln.Addr().String())
	p.expect("connect")
	p.send(connectReply("u-7"))
	p.expect("resume")
	p.send(okReply)
	p.expectClosed()
}

// TestCall_refusedStaysRefused: when FreeSWITCH rejects the first step of a
// flow that acts on the call, the server kills the call, with the flow's
// cause, rather than hand it back, so a refused call never slips through.
func TestCall_refusedStaysRefused(t *testing.T) {
	addr := startServer(t, func(ctx context.Context, c *Call) {
		c.SetFallbackCause("OUTGOING_CALL_BARRED")
		if err := c.PreAnswer(ctx); !errors.Is(err, ErrRejected) {
			t.Errorf("PreAnswer = %v, want ErrRejected", err)
		}
	})
	p := dialPeer(t, addr)
	p.expect("connect")
	p.send(connectReply("u-8"))
	p.expect("myevents")
	p.send("Content-Type: command/reply\nReply-Text: -ERR no\n\n")
	p.expect("api uuid_kill u-8 OUTGOING_CALL_BARRED")
	p.send(event("Event-Name: CHANNEL_HANGUP\nUnique-ID: u-8\nHangup-Cause: NORMAL_CLEARING\n\n"))
	p.expectClosed()
}

// TestCall_otherChannelsEvents: a hangup of another channel does not end
// this call, and a stray reply is not taken as a command's answer.
func TestCall_otherChannelsEvents(t *testing.T) {
	errc := make(chan error, 2)
	proceed := make(chan struct{})
	addr := startServer(t, func(ctx context.Context, c *Call) {
		errc <- c.Play(ctx, "a.wav")
		<-proceed
		errc <- c.Play(ctx, "b.wav")
	})
	p := dialPeer(t, addr)
	p.expect("connect")
	p.send(connectReply("u-9"))
	p.expect("myevents")
	p.send(okReply)
	cmd := p.expect("sendmsg u-9")
	p.send(okReply)
	p.send(event("Event-Name: CHANNEL_HANGUP\nUnique-ID: someone-else\nHangup-Cause: NORMAL_CLEARING\n\n"))
	p.send(event("Event-Name: CHANNEL_EXECUTE_COMPLETE\nUnique-ID: u-9\nApplication-UUID: " + headerOf(cmd, "Event-Uuid") + "\n\n"))
	if err := <-errc; err != nil {
		t.Fatalf("first Play: %v", err)
	}

	p.send(okReply) // a reply nobody asked for, before the next command
	time.Sleep(50 * time.Millisecond)
	close(proceed)
	if err := <-errc; !errors.Is(err, errProtocol) {
		t.Fatalf("second Play after a stray reply = %v, want a protocol error", err)
	}
	p.expect("api uuid_kill u-9 NORMAL_CLEARING")
	p.send(event("Event-Name: CHANNEL_HANGUP\nUnique-ID: u-9\n\n"))
	p.expectClosed()
}
