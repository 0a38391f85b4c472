package fakefs

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// frameWait bounds every read of the fake app, so a broken stand-in fails a
// test instead of hanging it.
const frameWait = 5 * time.Second

// subscribeAll is the event list the recordings' app subscribed to.
const subscribeAll = "event plain CHANNEL_EXECUTE CHANNEL_EXECUTE_COMPLETE CHANNEL_ANSWER CHANNEL_HANGUP " +
	"CHANNEL_HANGUP_COMPLETE DTMF CHANNEL_PROGRESS CHANNEL_PROGRESS_MEDIA CHANNEL_PARK CHANNEL_UNPARK"

// frame is one message from the stand-in, as an app parses it.
type frame struct {
	headers []header // outer headers, in order, as sent
	body    []byte
	event   []header // decoded event headers of a text/event-plain body
}

// get returns the first outer header called name.
func (f frame) get(name string) string {
	return lookupHeader(f.headers, name)
}

// ev returns the first decoded event header called name.
func (f frame) ev(name string) string {
	return lookupHeader(f.event, name)
}

// has reports whether the event carries a header called name.
func (f frame) has(name string) bool {
	for _, h := range f.event {
		if h.name == name {
			return true
		}
	}
	return false
}

// label names the frame for order checks: "reply:+OK", "event:DTMF/1",
// "event:CHANNEL_EXECUTE/answer", "notice:linger", "api".
func (f frame) label() string {
	switch f.get("Content-Type") {
	case "command/reply":
		return "reply:" + f.get("Reply-Text")
	case "api/response":
		return "api"
	case "text/disconnect-notice":
		return "notice:" + f.get("Content-Disposition")
	case "text/event-plain":
		return "event:" + f.eventDetail()
	}
	return "other:" + f.get("Content-Type")
}

// eventDetail is the event name with its application or DTMF digit.
func (f frame) eventDetail() string {
	name := f.ev("Event-Name")
	switch {
	case f.has("Application"):
		return name + "/" + f.ev("Application")
	case f.has("DTMF-Digit"):
		return name + "/" + f.ev("DTMF-Digit")
	case name == "CHANNEL_STATE":
		return name + "/" + f.ev("Channel-State")
	}
	return name
}

// lookupHeader returns the value of the first header called name.
func lookupHeader(hs []header, name string) string {
	for _, h := range hs {
		if h.name == name {
			return h.value
		}
	}
	return ""
}

// readFrame reads one message: header lines up to a blank line, then a body
// of Content-Length bytes.
func readFrame(r *bufio.Reader) (frame, error) {
	var f frame
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return f, err
		}
		line = strings.TrimSuffix(line, "\n")
		if line == "" && len(f.headers) > 0 {
			break
		}
		if line == "" {
			continue
		}
		name, value, _ := strings.Cut(line, ": ")
		f.headers = append(f.headers, header{name, value})
	}

	if n, err := strconv.Atoi(f.get("Content-Length")); err == nil && n > 0 {
		f.body = make([]byte, n)
		if _, err := io.ReadFull(r, f.body); err != nil {
			return f, err
		}
	}
	if f.get("Content-Type") == "text/event-plain" {
		f.event = decodeHeaders(string(f.body))
	}
	return f, nil
}

// decodeHeaders parses percent-encoded "Name: value" lines up to a blank
// line.
func decodeHeaders(block string) []header {
	var hs []header
	for _, line := range strings.Split(block, "\n") {
		if line == "" {
			break
		}
		name, value, _ := strings.Cut(line, ": ")
		if v, err := url.PathUnescape(value); err == nil {
			value = v
		}
		hs = append(hs, header{name, value})
	}
	return hs
}

// appConn is the server side of one call, driven by a test script. Its
// methods keep the first error and do nothing after it, so scripts read as
// plain steps; serve reports the error.
type appConn struct {
	conn   net.Conn
	r      *bufio.Reader
	frames []frame
	err    error
	seq    int
}

// serve starts a fake app on a loopback port that accepts one connection
// and runs script on it, then closes the socket. wait returns the frames
// the app read and its first error.
func serve(t *testing.T, script func(a *appConn)) (addr string, wait func() ([]frame, error)) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}

	type outcome struct {
		frames []frame
		err    error
	}
	done := make(chan outcome, 1)
	go func() {
		defer ln.Close()
		conn, err := ln.Accept()
		if err != nil {
			done <- outcome{err: err}
			return
		}
		a := &appConn{conn: conn, r: bufio.NewReader(conn)}
		script(a)
		_ = conn.Close()
		done <- outcome{a.frames, a.err}
	}()

	wait = func() ([]frame, error) {
		select {
		case o := <-done:
			return o.frames, o.err
		case <-time.After(10 * time.Second):
			_ = ln.Close()
			return nil, errors.New("fake app did not finish")
		}
	}
	return ln.Addr().String(), wait
}

// failf records the first error of the script.
func (a *appConn) failf(format string, args ...any) {
	if a.err == nil {
		a.err = fmt.Errorf(format, args...)
	}
}

// write sends raw bytes.
func (a *appConn) write(raw string) {
	if a.err != nil {
		return
	}
	if _, err := io.WriteString(a.conn, raw); err != nil {
		a.failf("write %q: %v", raw, err)
	}
}

// next reads one frame.
func (a *appConn) next() frame {
	if a.err != nil {
		return frame{}
	}
	_ = a.conn.SetReadDeadline(time.Now().Add(frameWait))
	f, err := readFrame(a.r)
	if err != nil {
		a.failf("read frame after %d frames: %v", len(a.frames), err)
		return frame{}
	}
	a.frames = append(a.frames, f)
	return f
}

// until reads frames up to and including the first that label starts with
// prefix.
func (a *appConn) until(prefix string) frame {
	for a.err == nil {
		if f := a.next(); strings.HasPrefix(f.label(), prefix) {
			return f
		}
	}
	return frame{}
}

// command sends a command and returns its reply, reading past any events
// that arrive first.
func (a *appConn) command(lines ...string) frame {
	a.write(strings.Join(lines, "\n") + "\n\n")
	for a.err == nil {
		f := a.next()
		if ct := f.get("Content-Type"); ct == "command/reply" || ct == "api/response" {
			return f
		}
	}
	return frame{}
}

// sendmsg returns the text of an execute sendmsg with event-lock and a fresh
// Event-UUID, and that UUID.
func (a *appConn) sendmsg(app, arg string) (string, string) {
	a.seq++
	uuid := fmt.Sprintf("00000000-0000-4000-8000-%012d", a.seq)
	lines := []string{"sendmsg", "call-command: execute", "execute-app-name: " + app}
	if arg != "" {
		lines = append(lines, "execute-app-arg: "+arg)
	}
	lines = append(lines, "event-lock: true", "Event-UUID: "+uuid)
	return strings.Join(lines, "\n") + "\n\n", uuid
}

// execute runs app and returns its CHANNEL_EXECUTE_COMPLETE event.
func (a *appConn) execute(app, arg string) frame {
	msg, uuid := a.sendmsg(app, arg)
	a.write(msg)
	if r := a.until("reply:"); a.err == nil && r.get("Reply-Text") != "+OK" {
		a.failf("sendmsg %s: reply %q", app, r.get("Reply-Text"))
	}
	for a.err == nil {
		f := a.next()
		if f.ev("Event-Name") == "CHANNEL_EXECUTE_COMPLETE" && f.ev("Application-UUID") == uuid {
			return f
		}
	}
	return frame{}
}

// setup sends connect, myevents, the recordings' event list and, if
// lingering, "linger".
func (a *appConn) setup(linger bool) {
	a.command("connect")
	a.command("myevents")
	if linger {
		a.command("linger")
	}
	a.command(subscribeAll)
}

// expectEOF checks that the stand-in closes the socket.
func (a *appConn) expectEOF() {
	if a.err != nil {
		return
	}
	_ = a.conn.SetReadDeadline(time.Now().Add(frameWait))
	f, err := readFrame(a.r)
	if !errors.Is(err, io.EOF) {
		a.failf("want EOF, got frame %q, error %v", f.label(), err)
	}
}

// expectOpen checks that nothing arrives and the socket stays open for d.
func (a *appConn) expectOpen(d time.Duration) {
	if a.err != nil {
		return
	}
	_ = a.conn.SetReadDeadline(time.Now().Add(d))
	f, err := readFrame(a.r)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		a.failf("want an open, quiet socket, got frame %q, error %v", f.label(), err)
	}
}

// labels lists the labels of frames.
func labels(frames []frame) []string {
	out := make([]string, 0, len(frames))
	for _, f := range frames {
		out = append(out, f.label())
	}
	return out
}

// findEvent returns the first event frame whose detail is detail.
func findEvent(frames []frame, detail string) (frame, bool) {
	for _, f := range frames {
		if f.event != nil && f.eventDetail() == detail {
			return f, true
		}
	}
	return frame{}, false
}
