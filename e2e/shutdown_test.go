package e2e

import (
	"context"
	"net"
	"syscall"
	"testing"
	"time"

	"github.com/phonelock/phonelock/internal/fakefs"
)

// TestShutdown_drainsDialog: on SIGTERM the daemon stops taking calls at
// once, lets a dialog in progress finish, and exits 0.
func TestShutdown_drainsDialog(t *testing.T) {
	d := startDaemon(t, newDB(t))
	d.protect(alice, "4711", false)

	call := fromAlice("*11")
	call.Entries = []string{"4711#"}
	call.PlayTime = 700 * time.Millisecond // each prompt takes a while
	done := make(chan *fakefs.Result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		res, err := fakefs.Dial(ctx, d.eslAddr, call)
		if err != nil {
			t.Errorf("dialog during shutdown: %v", err)
		}
		done <- res
	}()
	waitMetric(t, d, "phonelock_esl_sessions", 1)

	if err := d.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitRefused(t, d.eslAddr)

	res := <-done
	if res == nil || res.HangupCause != "NORMAL_CLEARING" || res.HungUpBy != "app" {
		t.Fatalf("dialog did not finish normally during the drain: %+v", res)
	}
	select {
	case <-d.exited:
	case <-time.After(20 * time.Second):
		t.Fatal("daemon did not exit after draining")
	}
	if d.exitErr != nil {
		t.Fatalf("exit: %v\n%s", d.exitErr, d.log)
	}

	// The toggle made during the drain was committed.
	d = startDaemon(t, d.db)
	if !d.blocked(alice) {
		t.Error("the block confirmed during shutdown was lost")
	}
}

// TestShutdown_drainDeadline: a call that outlives the drain deadline (a
// voicemail nobody ends) is hung up, not stranded, and the daemon exits 0.
func TestShutdown_drainDeadline(t *testing.T) {
	d := startDaemon(t, newDB(t), "--drain-timeout", "500ms")
	d.protect(bob, "2222", true)
	d.mustAdmin("", "ext", "block", bob)

	done := make(chan *fakefs.Result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		res, err := fakefs.Dial(ctx, d.eslAddr, fromAlice("1002")) // the caller never hangs up
		if err != nil {
			t.Errorf("voicemail call: %v", err)
		}
		done <- res
	}()
	waitMetric(t, d, "phonelock_esl_sessions", 1)

	start := time.Now()
	d.stop()
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("shutdown took %s with a 500ms drain deadline", took)
	}
	res := <-done
	if res == nil || res.Outcome != fakefs.OutcomeHungUp || res.HungUpBy != "app" {
		t.Fatalf("call left at the drain deadline: %+v", res)
	}
}

// waitRefused waits until nothing accepts connections at addr.
func waitRefused(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return
		}
		conn.Close()
		if time.Now().After(deadline) {
			t.Fatal("still accepting calls after SIGTERM")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
