package store

import (
	"bytes"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/crypto/bcrypt"
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
	ext, result, err := s.attempt(star11Attempt, id, checkedHash, ok, p, actor)
	if err != nil {
		return Extension{}, 0, fmt.Errorf("record attempt for %s: %w", id, err)
	}
	return ext, result, nil
}

// ChangePassword is the owner's password change: like RecordAttempt, but
// checkedHash is the hash the caller verified the current password
// against, and a right one (ok) replaces the password with newHash and
// resets FailedAttempts and LockedOutUntil (AttemptToggled, audit
// "password_change"). Wrong current passwords count towards the same
// lockout as *11 attempts (audit "password_change_wrong_password",
// "password_change_locked_out", "password_change_denied_locked_out"), so
// that the API is no faster a way to guess a password than the phone.
// Protection need not be on.
func (s *Store) ChangePassword(id string, checkedHash []byte, ok bool, newHash []byte, p AttemptPolicy, actor Actor) (
	Extension, AttemptResult, error) {
	if _, err := bcrypt.Cost(newHash); ok && err != nil {
		return Extension{}, 0, fmt.Errorf("change password for %s: %w", id, errNotBcrypt)
	}
	kind := passwordChange(newHash)
	ext, result, err := s.attempt(kind, id, checkedHash, ok, p, actor)
	if err != nil {
		return Extension{}, 0, fmt.Errorf("change password for %s: %w", id, err)
	}
	return ext, result, nil
}

// attemptKind is what a right password does, and the prefix of the audit
// actions of the attempts.
type attemptKind struct {
	prefix         string
	needProtection bool
	// right applies a right password to ext and returns the audit action.
	right func(ext Extension, now time.Time) (Extension, string)
}

// star11Attempt flips the block state in effect (see IsBlockedAt: an
// expired timed block counts as unblocked) and clears BlockedUntil.
var star11Attempt = attemptKind{prefix: "star11", needProtection: true,
	right: func(ext Extension, now time.Time) (Extension, string) {
		ext.Blocked = !ext.IsBlockedAt(now)
		ext.BlockedUntil = time.Time{}
		if ext.Blocked {
			return ext, "star11_block"
		}
		return ext, "star11_unblock"
	}}

// passwordChange replaces the password hash with newHash.
func passwordChange(newHash []byte) attemptKind {
	return attemptKind{prefix: "password_change",
		right: func(ext Extension, _ time.Time) (Extension, string) {
			ext.PasswordHash = newHash
			return ext, "password_change"
		}}
}

// attempt records one password attempt of the given kind in one committed
// transaction; see RecordAttempt.
func (s *Store) attempt(kind attemptKind, id string, checkedHash []byte, ok bool, p AttemptPolicy, actor Actor) (
	Extension, AttemptResult, error) {
	id, err := ParseID(id)
	if err != nil {
		return Extension{}, 0, err
	}
	if p.MaxFailures < 1 || p.Lockout < 0 {
		return Extension{}, 0, errBadPolicy
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
		case kind.needProtection && !ext.Protection:
			return ErrProtectionOff
		}

		now := s.nowUTC()
		if ext.LockedOut(now) {
			// Another attempt started the lockout while this one was
			// being checked: the answer no longer counts.
			result = AttemptLockedOut
			return appendAudit(tx, now, id, kind.prefix+"_denied_locked_out", actor, "locked_out", "")
		}
		var action, outcome, detail string
		ext, result, action, outcome, detail = applyAttempt(kind, ext, ok, p, now)
		ext.UpdatedAt = now

		if err := putExtension(tx, ext); err != nil {
			return err
		}
		return appendAudit(tx, now, id, action, actor, outcome, detail)
	})
	return ext, result, err
}

// applyAttempt returns ext after one attempt of the given kind at time
// now, what happened, and the audit action, result and detail that
// describe it.
func applyAttempt(kind attemptKind, ext Extension, ok bool, p AttemptPolicy, now time.Time) (
	_ Extension, _ AttemptResult, action, outcome, detail string) {
	if ok {
		ext, action = kind.right(ext, now)
		ext.FailedAttempts = 0
		ext.LockedOutUntil = time.Time{}
		return ext, AttemptToggled, action, "ok", ""
	}

	ext.FailedAttempts++
	if ext.FailedAttempts < p.MaxFailures {
		detail = fmt.Sprintf("failed_attempts=%d", ext.FailedAttempts)
		return ext, AttemptWrong, kind.prefix + "_wrong_password", "wrong_password", detail
	}

	ext.FailedAttempts = 0
	ext.LockedOutUntil = now.Add(p.Lockout)
	detail = "locked_out_until=" + ext.LockedOutUntil.Format(time.RFC3339)
	return ext, AttemptLockedOut, kind.prefix + "_locked_out", "locked_out", detail
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
