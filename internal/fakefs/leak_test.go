package fakefs

import (
	"runtime"
	"testing"
	"time"
)

func TestDial_NoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()

	scripts := []struct {
		call   Call
		script func(a *appConn)
	}{
		{Call{Destination: "*11"}, func(a *appConn) { a.command("connect"); a.command("resume") }},
		{Call{Destination: "*11", Entries: []string{"1234#"}}, star11(true)},
		{Call{Destination: "*11", ConnectWait: 20 * time.Millisecond}, func(a *appConn) {
			a.until("notice:")
		}},
		{Call{Destination: "*11", HangupAfter: 20 * time.Millisecond}, func(a *appConn) {
			a.setup(false)
			a.execute("voicemail", "default 127.0.0.1 1002")
			a.until("notice:")
		}},
		{Call{Destination: "*11"}, func(a *appConn) { a.write("sendmsg\n\n") }},
	}
	for _, s := range scripts {
		_, _, _ = runCall(t, s.call, s.script)
	}

	// Goroutines of closed connections may take a moment to be reaped.
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if after := runtime.NumGoroutine(); after > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines before, %d after:\n%s", before, after, buf[:runtime.Stack(buf, true)])
	}
}
