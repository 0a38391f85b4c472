package adminapi

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/phonelock/phonelock/store"
)

// DefaultPasswordWait bounds how long a request waits for its turn at
// password work before it is told the daemon is busy: well within the
// admin command's default timeout, so that the command hears the answer.
const DefaultPasswordWait = 5 * time.Second

// passwordWork rations the API's bcrypt work, tens of milliseconds of CPU
// a password. At most one password is being checked for an extension at a
// time, so concurrent guesses at a current password queue up and meet the
// lockout the first ones start instead of all being checked at once; and
// at most one hash or check per CPU runs at a time, so a flood of requests
// queues rather than taking the CPUs the calls need. The phone's *11 does
// not go through it: it has its own pace, a human's.
type passwordWork struct {
	cpus chan struct{}
	// importing holds the one import that may run at a time.
	importing chan struct{}

	mu      sync.Mutex
	checked map[string]*extensionTurn
	// sending holds the roles with an import being sent, one a role.
	sending map[string]bool
}

// extensionTurn is the turn at checking one extension's password; waiters
// counts who holds or waits for it, so the last one removes it.
type extensionTurn struct {
	held    chan struct{}
	waiters int
}

func newPasswordWork() *passwordWork {
	return &passwordWork{cpus: make(chan struct{}, runtime.GOMAXPROCS(0)),
		importing: make(chan struct{}, 1), checked: map[string]*extensionTurn{}, sending: map[string]bool{}}
}

// errBusy is the answer of a request that waited its password wait in
// vain.
var errBusy = newError(ErrUnavailable, "busy", "too much password work queued; try again shortly")

// extension waits for the turn at checking id's password, at most until
// ctx ends, and returns the function that gives it back.
func (w *passwordWork) extension(ctx context.Context, id string) (release func(), err error) {
	w.mu.Lock()
	turn := w.checked[id]
	if turn == nil {
		turn = &extensionTurn{held: make(chan struct{}, 1)}
		w.checked[id] = turn
	}
	turn.waiters++
	w.mu.Unlock()

	leave := func() {
		w.mu.Lock()
		if turn.waiters--; turn.waiters == 0 {
			delete(w.checked, id)
		}
		w.mu.Unlock()
	}
	select {
	case turn.held <- struct{}{}:
		return func() { <-turn.held; leave() }, nil
	case <-ctx.Done():
		leave()
		return nil, waitError(ctx)
	}
}

// errImporting is the answer to an import while another one runs.
var errImporting = newError(ErrUnavailable, "import_running", "another import is running; try again when it has ended")

// errSending is the answer to an import while another one of the same
// role is still under way.
var errSending = newError(ErrUnavailable, "import_running",
	"another import with this token's role is under way; try again when it has ended")

// sendingImport takes the turn of role's one import being sent, or says at
// once that another one has it. An import's rows are read under this turn,
// not the daemon-wide one, so that a sender who dawdles holds up only its
// own role; and at most one body a role is held in memory.
func (w *passwordWork) sendingImport(role string) (release func(), err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.sending[role] {
		return nil, errSending
	}
	w.sending[role] = true
	return func() {
		w.mu.Lock()
		delete(w.sending, role)
		w.mu.Unlock()
	}, nil
}

// importRunning says whether an import holds the daemon-wide turn now, so
// that another can be refused before its rows are sent; it may have ended
// by the time they are in, or another may have begun.
func (w *passwordWork) importRunning() bool {
	return len(w.importing) > 0
}

// importTurn takes the turn of the one import that may run at a time, or
// says at once that another one has it: imports take minutes, too long to
// queue for.
func (w *passwordWork) importTurn() (release func(), err error) {
	select {
	case w.importing <- struct{}{}:
		return func() { <-w.importing }, nil
	default:
		return nil, errImporting
	}
}

// hash returns password's bcrypt hash, computed in a CPU's turn.
func (w *passwordWork) hash(ctx context.Context, password string) ([]byte, error) {
	if err := w.cpu(ctx); err != nil {
		return nil, err
	}
	defer func() { <-w.cpus }()
	hash, err := store.HashPassword(password)
	if err != nil {
		return nil, newError(ErrUnavailable, "internal", err.Error())
	}
	return hash, nil
}

// check reports whether password matches hash, checked in a CPU's turn.
func (w *passwordWork) check(ctx context.Context, hash []byte, password string) (bool, error) {
	if err := w.cpu(ctx); err != nil {
		return false, err
	}
	defer func() { <-w.cpus }()
	return store.CheckPassword(hash, password), nil
}

func (w *passwordWork) cpu(ctx context.Context) error {
	select {
	case w.cpus <- struct{}{}:
		return nil
	case <-ctx.Done():
		return waitError(ctx)
	}
}

// waitError is the answer of a request whose wait for password work ended
// with ctx: busy when the wait ran out, the context's error when the
// client went away.
func waitError(ctx context.Context) error {
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return errBusy
	}
	return fmt.Errorf("waiting for password work: %w", ctx.Err())
}
