package store

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/crypto/bcrypt"
)

// ImportRow is one extension of an Import: nil fields are left as they
// are, or take their defaults (off) for a new extension.
type ImportRow struct {
	// Line is where the row came from, for the ImportError of a bad row.
	Line int

	// ID is the extension's NUMBER@DOMAIN id (see ParseID).
	ID string

	// Protection, Voicemail and Blocked switch these on or off. Setting
	// Blocked clears a block timer.
	Protection, Voicemail, Blocked *bool

	// PasswordHash, when not empty, is a bcrypt hash (see HashPassword)
	// that replaces the password; empty keeps the password, so that an
	// export, which holds none, can be imported again.
	PasswordHash []byte
}

// Import creates or updates the extensions of rows, in order, in one
// committed transaction, and returns how many rows it applied. Each row
// gets an audit record "import" for its extension, saying what it set,
// and the whole import one without an extension whose detail is "rows=N".
// A later row for the same extension applies on top of an earlier one.
//
// It is all or nothing: the first invalid row (a malformed id, protection
// on without a password given or kept, blocked without protection, a hash
// that is not bcrypt) aborts the import with an *ImportError that names
// the row's line and wraps the cause (ErrInvalidID, ErrNoPassword,
// ErrProtectionOff, ...), and nothing is written. Passwords must be hashed
// before, as bcrypt takes tens of milliseconds each.
func (s *Store) Import(rows []ImportRow, actor Actor) (int, error) {
	if len(rows) == 0 {
		return 0, nil
	}

	// Check what needs no transaction first, to hold the write lock for
	// the writing alone.
	ids := make([]string, len(rows))
	for i, row := range rows {
		id, err := ParseID(row.ID)
		if err != nil {
			return 0, &ImportError{Line: row.Line, Err: err}
		}
		if len(row.PasswordHash) > 0 {
			if _, err := bcrypt.Cost(row.PasswordHash); err != nil {
				return 0, &ImportError{Line: row.Line, Err: errNotBcrypt}
			}
		}
		ids[i] = id
	}

	err := s.update(func(tx *bolt.Tx) error {
		now := s.nowUTC()
		for i, row := range rows {
			if err := importRow(tx, ids[i], row, now, actor); err != nil {
				return err
			}
		}
		detail := "rows=" + strconv.Itoa(len(rows))
		return appendAudit(tx, now, "", "import", actor, "ok", detail)
	})

	var rowErr *ImportError
	if errors.As(err, &rowErr) {
		return 0, rowErr
	}
	if err != nil {
		return 0, fmt.Errorf("import: %w", err)
	}
	return len(rows), nil
}

// importRow applies row to the extension id in tx, with its audit record,
// returning an *ImportError if the result breaks a rule.
func importRow(tx *bolt.Tx, id string, row ImportRow, now time.Time, actor Actor) error {
	ext, found, err := getExtension(tx, id)
	if err != nil {
		return err
	}
	if !found {
		ext = Extension{ID: id}
	}

	change := Settings{Protection: row.Protection, Voicemail: row.Voicemail}
	if len(row.PasswordHash) > 0 {
		change.PasswordHash = row.PasswordHash
	}
	ext, detail := applySettings(ext, change)
	if row.Blocked != nil {
		ext.Blocked = *row.Blocked
		ext.BlockedUntil = time.Time{}
		detail += " blocked=" + onOff(ext.Blocked)
	}

	switch {
	case ext.Protection && !ext.PasswordSet():
		return &ImportError{Line: row.Line, Err: fmt.Errorf("%s: %w", id, ErrNoPassword)}
	case ext.Blocked && !ext.Protection:
		return &ImportError{Line: row.Line, Err: fmt.Errorf("%s: %w", id, ErrProtectionOff)}
	}
	ext.UpdatedAt = now
	if err := putExtension(tx, ext); err != nil {
		return err
	}
	return appendAudit(tx, now, id, "import", actor, "ok", fmt.Sprintf("line=%d %s", row.Line, detail))
}
