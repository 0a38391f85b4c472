package store

import (
	"bytes"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// AttemptPolicy is the *11 lockout policy.
type AttemptPolicy struct {
	// MaxFailures is how many wrong passwords in a row start a lockout; at
	// least 1.
	MaxFailures int

	// Lockout is how long a lockout lasts; not negative.
	Lockout time.Duration
}

// AttemptResult says what RecordAttempt did.
type AttemptResult int

// The outcomes of RecordAttempt.
const (
	AttemptToggled   AttemptResult = iota + 1 // right password: block flipped, counters reset
	AttemptWrong                              // wrong password, counted, no lockout yet
	AttemptLockedOut                          // wrong password that started a lockout, or any attempt during one
)

// String returns the result's name for logs and metrics labels.
func (r AttemptResult) String() string {
	switch r {
	case AttemptToggled:
		return "toggled"
	case AttemptWrong:
		return "wrong"
	case AttemptLockedOut:
		return "locked_out"
	}
	return fmt.Sprintf("AttemptResult(%d)", int(r))
}

// RecordAttempt records one *11 password attempt on the extension and its
// audit record in one committed transaction, and returns the new state.
//
// checkedHash is the hash the caller verified the password against. If the
// stored hash differs, because an administrator changed the password
// meanwhile, RecordAttempt returns ErrStalePassword and writes nothing; it
// returns ErrProtectionOff if protection was switched off meanwhile, and
// ErrNotFound if the extension was deleted.
//
// A right password (ok) flips the block state in effect (see IsBlockedAt:
// an expired timed block counts as unblocked), clears BlockedUntil and
// resets FailedAttempts and LockedOutUntil (AttemptToggled, audit
// "star11_block" or "star11_unblock"). A wrong one increments FailedAttempts; reaching
// p.MaxFailures sets LockedOutUntil to now plus p.Lockout and resets the
// count (AttemptLockedOut, audit "star11_locked_out"), otherwise it is
// AttemptWrong (audit "star11_wrong_password"). During a lockout, which
// another call may have started meanwhile, no attempt counts, right or
// wrong: nothing changes and the result is AttemptLockedOut (audit
// "star11_denied_locked_out").
func (s *Store) RecordAttempt(id string, checkedHash []byte, ok bool, p AttemptPolicy, actor Actor) (Extension, AttemptResult, error) {
	id, err := ParseID(id)
	if err != nil {
		return Extension{}, 0, fmt.Errorf("record attempt: %w", err)
	}
	if p.MaxFailures < 1 || p.Lockout < 0 {
		return Extension{}, 0, fmt.Errorf("record attempt for %s: %w", id, errBadPolicy)
	}

	var ext Extension
	var result AttemptResult
	err = s.update(func(tx *bolt.Tx) error {
		var err error
		ext, err = existingExtension(tx, id)
		switch {
		case err != nil:
			return err
		case !bytes.Equal(ext.PasswordHash, checkedHash) || len(checkedHash) == 0:
			return ErrStalePassword
		case !ext.Protection:
			return ErrProtectionOff
		}

		now := s.nowUTC()
		if ext.LockedOut(now) {
			// Another call started the lockout while this one was
			// entering its password: the answer no longer counts.
			result = AttemptLockedOut
			return appendAudit(tx, now, id, "star11_denied_locked_out", actor, "locked_out", "")
		}
		var action, outcome, detail string
		ext, result, action, outcome, detail = applyAttempt(ext, ok, p, now)
		ext.UpdatedAt = now

		if err := putExtension(tx, ext); err != nil {
			return err
		}
		return appendAudit(tx, now, id, action, actor, outcome, detail)
	})
	if err != nil {
		return Extension{}, 0, fmt.Errorf("record attempt for %s: %w", id, err)
	}
	return ext, result, nil
}

// applyAttempt returns ext after one attempt at time now, what happened,
// and the audit action, result and detail that describe it.
func applyAttempt(ext Extension, ok bool, p AttemptPolicy, now time.Time) (
	_ Extension, _ AttemptResult, action, outcome, detail string) {
	if ok {
		ext.Blocked = !ext.IsBlockedAt(now)
		ext.BlockedUntil = time.Time{}
		ext.FailedAttempts = 0
		ext.LockedOutUntil = time.Time{}
		if ext.Blocked {
			return ext, AttemptToggled, "star11_block", "ok", ""
		}
		return ext, AttemptToggled, "star11_unblock", "ok", ""
	}

	ext.FailedAttempts++
	if ext.FailedAttempts < p.MaxFailures {
		detail = fmt.Sprintf("failed_attempts=%d", ext.FailedAttempts)
		return ext, AttemptWrong, "star11_wrong_password", "wrong_password", detail
	}

	ext.FailedAttempts = 0
	ext.LockedOutUntil = now.Add(p.Lockout)
	detail = "locked_out_until=" + ext.LockedOutUntil.Format(time.RFC3339)
	return ext, AttemptLockedOut, "star11_locked_out", "locked_out", detail
}

// ResetAttempts ends the extension's *11 lockout and clears its count of
// wrong passwords, with an audit record "reset_attempts", in one committed
// transaction, and returns the new state. It returns an error wrapping
// ErrNotFound if the extension is missing.
func (s *Store) ResetAttempts(id string, actor Actor) (Extension, error) {
	id, err := ParseID(id)
	if err != nil {
		return Extension{}, fmt.Errorf("reset attempts: %w", err)
	}

	var ext Extension
	err = s.update(func(tx *bolt.Tx) error {
		var found bool
		var err error
		ext, found, err = getExtension(tx, id)
		if err != nil {
			return err
		}
		if !found {
			return ErrNotFound
		}

		now := s.nowUTC()
		ext.FailedAttempts = 0
		ext.LockedOutUntil = time.Time{}
		ext.UpdatedAt = now
		if err := putExtension(tx, ext); err != nil {
			return err
		}
		return appendAudit(tx, now, id, "reset_attempts", actor, "ok", "")
	})
	if err != nil {
		return Extension{}, fmt.Errorf("reset attempts for %s: %w", id, err)
	}
	return ext, nil
}
