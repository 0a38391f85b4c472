package adminapi

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/phonelock/phonelock/store"
)

// TestPasswordWork_oneCheckPerExtension: a second check of the same
// extension waits for the first, and is told the daemon is busy when its
// wait runs out; other extensions do not wait; nothing is left behind.
func TestPasswordWork_oneCheckPerExtension(t *testing.T) {
	w := newPasswordWork()
	release, err := w.extension(context.Background(), "1@a.example")
	if err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := w.extension(ctx, "1@a.example"); !errors.Is(err, errBusy) {
		t.Errorf("second check of a busy extension: %v; want busy", err)
	}
	other, err := w.extension(context.Background(), "2@a.example")
	if err != nil {
		t.Fatalf("another extension waited: %v", err)
	}
	other()

	gone, cancelGone := context.WithCancel(context.Background())
	cancelGone()
	if _, err := w.extension(gone, "1@a.example"); errors.Is(err, errBusy) || !errors.Is(err, context.Canceled) {
		t.Errorf("a client that went away: %v; want context.Canceled, not busy", err)
	}

	release()
	again, err := w.extension(context.Background(), "1@a.example")
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	again()
	if n := len(w.checked); n != 0 {
		t.Errorf("%d turns left behind after every check ended", n)
	}
}

// TestService_concurrentGuesses: guesses at the current password sent all
// at once are checked one after the other, so those queued behind the
// guess that starts the lockout are refused before any check. Without the
// queue every guess would be checked, and the store would record the late
// ones as denied during the lockout.
func TestService_concurrentGuesses(t *testing.T) {
	st, _, user := newOwnerFixture(t)
	ctx := context.Background()
	// bcrypt under the race detector on a busy machine takes seconds: the
	// queue must not give up before the lockout is met.
	user.passwordWait = time.Minute

	const guesses = 8
	codes := make(chan string, guesses)
	var wg sync.WaitGroup
	for i := range guesses {
		wg.Go(func() {
			current, next := fmt.Sprintf("90%02d", i), "5555"
			_, err := user.Set(ctx, "1@a.example", SetRequest{CurrentPassword: &current, Password: &next})
			var e *Error
			if errors.As(err, &e) {
				codes <- e.Code
				return
			}
			codes <- "unexpected: " + errString(err)
		})
	}
	wg.Wait()
	close(codes)

	count := map[string]int{}
	for c := range codes {
		count[c]++
	}
	if count["wrong_password"] != 1 || count["locked_out"] != guesses-1 {
		t.Errorf("answers %v; want 1 wrong_password and %d locked_out", count, guesses-1)
	}
	records, err := st.Audit("1@a.example", 100)
	if err != nil {
		t.Fatal(err)
	}
	var checked []string
	for _, r := range records {
		if strings.HasPrefix(r.Action, "password_change") {
			checked = append(checked, r.Action)
		}
	}
	if len(checked) != 2 {
		t.Errorf("%d guesses reached the store (%v); want the 2 the lockout allows", len(checked), checked)
	}
}

func errString(err error) string {
	if err == nil {
		return "no error"
	}
	return err.Error()
}

// TestService_importGivesUpWithItsClient: an import whose client has gone
// stops hashing and writes nothing.
func TestService_importGivesUpWithItsClient(t *testing.T) {
	st := openStore(t)
	svc := NewService(st, store.Actor{Name: "test", Source: "cli"})

	pw := "4711"
	rows := make([]ImportRow, 400) // 400 bcrypts: many seconds, were they all done
	for i := range rows {
		rows[i] = ImportRow{Line: i + 2, Extension: fmt.Sprintf("%d@a.example", 1000+i), Password: &pw}
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	n, err := svc.Import(ctx, rows)
	if err == nil || n != 0 {
		t.Fatalf("import after its client left: %d rows, %v; want an error", n, err)
	}
	// All 400 would take minutes under the race detector; stopping takes
	// the hashes in flight.
	if took := time.Since(start); took > 30*time.Second {
		t.Errorf("the import went on for %s after its client left", took)
	}
	if list, err := st.List(); err != nil || len(list) != 0 {
		t.Errorf("a cancelled import wrote %d extensions (%v)", len(list), err)
	}

	// An import whose time has run out says so, and writes nothing.
	expired, cancelExpired := context.WithTimeout(context.Background(), -time.Second)
	defer cancelExpired()
	var e *Error
	if _, err := svc.Import(expired, rows[:3]); !errors.As(err, &e) || e.Code != "timeout" {
		t.Errorf("import out of time: %v; want code timeout", err)
	}
	if list, err := st.List(); err != nil || len(list) != 0 {
		t.Errorf("an import out of time wrote %d extensions (%v)", len(list), err)
	}
}

// TestService_importTurnAndEarlyChecks: one import runs at a time, another
// one meanwhile is told the daemon is busy; and a malformed id is refused
// before any password is hashed.
func TestService_importTurnAndEarlyChecks(t *testing.T) {
	st := openStore(t)
	svc := NewService(st, store.Actor{Name: "test", Source: "cli"})
	ctx := context.Background()
	rows := []ImportRow{{Line: 2, Extension: "1001@a.example"}}

	release, err := svc.passwords.importTurn()
	if err != nil {
		t.Fatal(err)
	}
	var e *Error
	if _, err := svc.Import(ctx, rows); !errors.As(err, &e) || e.Code != "import_running" {
		t.Errorf("import during another: %v; want import_running", err)
	}
	release()
	if n, err := svc.Import(ctx, rows); err != nil || n != 1 {
		t.Errorf("import after the other ended: %d, %v", n, err)
	}

	// With every CPU's turn at password work taken, an import that
	// started hashing could only run out of time; the bad id on the last
	// line must be found before.
	for range cap(svc.passwords.cpus) {
		svc.passwords.cpus <- struct{}{}
	}
	defer func() {
		for range cap(svc.passwords.cpus) {
			<-svc.passwords.cpus
		}
	}()
	pw := "4711"
	rows = nil
	for i := range 50 {
		rows = append(rows, ImportRow{Line: i + 2, Extension: fmt.Sprintf("%d@a.example", 2000+i), Password: &pw})
	}
	rows = append(rows, ImportRow{Line: 52, Extension: "not an id"})
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	if _, err := svc.Import(short, rows); !errors.As(err, &e) || e.Code != "invalid_row" || !strings.Contains(e.Message, "line 52") {
		t.Errorf("import with a bad id last: %v; want invalid_row naming line 52, found before any hashing", err)
	}
}

// TestPasswordWork_sendingImport: one import body a role is read at a
// time; another role is not held up by it; nothing is left behind.
func TestPasswordWork_sendingImport(t *testing.T) {
	w := newPasswordWork()
	release, err := w.sendingImport("org:acme")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.sendingImport("org:acme"); !errors.Is(err, errSending) {
		t.Errorf("second import of the same role: %v; want import_running", err)
	}
	other, err := w.sendingImport("org:beta")
	if err != nil {
		t.Errorf("another role was held up: %v", err)
	} else {
		other()
	}
	release()
	again, err := w.sendingImport("org:acme")
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	again()
	if len(w.sending) != 0 {
		t.Errorf("%d roles left marked as sending", len(w.sending))
	}
}
