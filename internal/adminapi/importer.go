package adminapi

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/phonelock/phonelock/policy"
	"github.com/phonelock/phonelock/store"
)

// ImportRow is one extension to create or update in an import; nil fields
// are left as they are (off for a new extension). Password is the plain
// password, hashed before it is stored and never returned.
type ImportRow struct {
	Line       int     `json:"line"`
	Extension  string  `json:"extension"`
	Protection *bool   `json:"protection,omitempty"`
	Voicemail  *bool   `json:"voicemail,omitempty"`
	Blocked    *bool   `json:"blocked,omitempty"`
	Password   *string `json:"password,omitempty"`
}

// ImportRequest is the body of an import.
type ImportRequest struct {
	Rows []ImportRow `json:"rows"`
}

// ImportResult says how many rows an import applied.
type ImportResult struct {
	Imported int `json:"imported"`
}

// MaxImportRows bounds one import.
const MaxImportRows = 100000

var errTooManyRows = newError(ErrInvalid, "too_many_rows", fmt.Sprintf("at most %d rows in one import", MaxImportRows))

// mayImport refuses, with ErrForbidden, a role that may not import at all,
// before anything is read.
func (s *Service) mayImport() error {
	return scope{role: s.role}.may("import extensions", managers...)
}

// ImportBudget is how long an import with the given number of passwords
// may take, most of it hashing them: a minute, and 100 ms a password, as if
// on one CPU twice as slow as the one bcrypt was measured on (about 50 ms a
// password). 100,000 passwords get 2 h 47 min. The admin command waits a
// little longer, to hear the answer.
func ImportBudget(passwords int) time.Duration {
	return time.Minute + time.Duration(passwords)*100*time.Millisecond
}

// Import implements Admin: every row is checked, the passwords hashed (in
// parallel: bcrypt takes tens of milliseconds each), then all rows are
// written in one transaction, or none when any row is bad. An import that
// outlasts its ImportBudget, or whose client goes away, writes nothing.
// One import runs at a time; another one meanwhile gets import_running.
func (s *Service) Import(ctx context.Context, rows []ImportRow) (int, error) {
	if len(rows) > MaxImportRows {
		return 0, errTooManyRows
	}
	if err := s.mayImport(); err != nil {
		return 0, err
	}
	release, err := s.passwords.importTurn()
	if err != nil {
		return 0, err
	}
	defer release()
	sc, err := s.scope()
	if err != nil {
		return 0, err
	}
	// Everything that can be checked is checked before the passwords are
	// hashed, which costs far more.
	out := make([]store.ImportRow, len(rows))
	passwords := 0
	for i, r := range rows {
		id, err := store.ParseID(r.Extension)
		switch {
		case err != nil:
			return 0, newError(ErrInvalid, "invalid_row", fmt.Sprintf("line %d: %v (nothing was imported)", r.Line, err))
		case !sc.extension(id):
			return 0, newError(ErrInvalid, "invalid_row", fmt.Sprintf(
				"line %d: extension %s is outside what this token may change (nothing was imported)", r.Line, id))
		}
		if r.Password != nil {
			if err := policy.ValidatePassword(*r.Password); err != nil {
				return 0, newError(ErrInvalid, "invalid_row", fmt.Sprintf("line %d: %v", r.Line, err))
			}
			passwords++
		}
		out[i] = store.ImportRow{Line: r.Line, ID: r.Extension, Protection: r.Protection, Voicemail: r.Voicemail, Blocked: r.Blocked}
	}
	ctx, cancel := context.WithTimeout(ctx, ImportBudget(passwords))
	defer cancel()
	if err := s.hashAll(ctx, rows, out); err != nil {
		return 0, err
	}
	// Nobody would hear of an import written after its client gave up.
	if err := importEnded(ctx); err != nil {
		return 0, err
	}

	n, err := timed(s, "import", func() (int, error) { return s.store.Import(out, s.actor) })
	var rowErr *store.ImportError
	if errors.As(err, &rowErr) {
		return 0, newError(ErrInvalid, "invalid_row", fmt.Sprintf("line %d: %v (nothing was imported)", rowErr.Line, rowErr.Err))
	}
	if err != nil {
		return 0, storeError("", err)
	}
	return n, nil
}

// hashAll hashes the rows' passwords into out, on all CPUs but one (and on
// one if there is only one), so that other password work and calls keep a
// CPU; it stops at the first error or when ctx ends.
func (s *Service) hashAll(ctx context.Context, rows []ImportRow, out []store.ImportRow) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(1, cap(s.passwords.cpus)-1) {
		wg.Go(func() {
			for i := range next {
				hash, err := s.passwords.hash(ctx, *rows[i].Password)
				if err != nil {
					cancel(err)
					return
				}
				out[i].PasswordHash = hash
			}
		})
	}
feed:
	for i := range rows {
		if rows[i].Password == nil {
			continue
		}
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	return importEnded(ctx)
}

// importEnded returns why ctx, an import's, ended, or nil if it has not.
func importEnded(ctx context.Context) error {
	err := context.Cause(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		return newError(ErrUnavailable, "timeout", "the import took longer than its time allows (nothing was imported)")
	}
	return err
}
