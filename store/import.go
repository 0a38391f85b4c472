package store

import (
	"bytes"
	"errors"
	"fmt"
	"strconv"
	"strings"
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
// committed transaction, and returns how many rows it applied. A later row
// for the same extension applies on top of an earlier one. Each extension
// the import changed gets one audit record "import" saying how it ends
// up, with the line of its first row; the whole import gets one without an
// extension whose detail is "rows=N". Rows that change nothing leave no
// record, so an import repeated, or naming one extension many times,
// cannot flood the trail.
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
		changes := make(map[string]*importChange)
		var order []string
		for i, row := range rows {
			c := changes[ids[i]]
			if c == nil {
				before, found, err := getExtension(tx, ids[i])
				if err != nil {
					return err
				}
				if !found {
					before = Extension{ID: ids[i]}
				}
				c = &importChange{before: before, created: !found, line: row.Line, after: before}
				changes[ids[i]] = c
				order = append(order, ids[i])
			}
			if err := c.apply(row); err != nil {
				return err
			}
		}
		// Each extension is written once, as its rows leave it, and only
		// if they changed it.
		for _, id := range order {
			c := changes[id]
			if !c.changed() {
				continue
			}
			c.after.UpdatedAt = now
			if err := putExtension(tx, c.after); err != nil {
				return err
			}
			if err := appendAudit(tx, now, id, "import", actor, "ok", c.detail(now)); err != nil {
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

// importChange is what an import does to one extension: its state
// before, whether the import created it, the line of its first row, how
// many rows name it, and its state after them.
type importChange struct {
	before  Extension
	created bool
	line    int
	rows    int
	after   Extension
}

// changed reports whether the extension ends up other than it was.
func (c *importChange) changed() bool {
	return c.created || !sameState(c.before, c.after)
}

// sameState reports whether a and b are the same settings and state, the
// time of their last change aside.
func sameState(a, b Extension) bool {
	return a.Protection == b.Protection && a.Voicemail == b.Voicemail &&
		a.Blocked == b.Blocked && a.BlockedUntil.Equal(b.BlockedUntil) &&
		bytes.Equal(a.PasswordHash, b.PasswordHash) && a.FailedAttempts == b.FailedAttempts &&
		a.LockedOutUntil.Equal(b.LockedOutUntil)
}

// detail describes the extension as the import leaves it at time now:
// the block in effect, and what became of a block timer.
func (c *importChange) detail(now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "line=%d", c.line)
	if c.rows > 1 {
		fmt.Fprintf(&b, " rows=%d", c.rows)
	}
	if c.created {
		b.WriteString(" created")
	}
	password := "unchanged"
	if !bytes.Equal(c.before.PasswordHash, c.after.PasswordHash) {
		password = "changed"
	}
	fmt.Fprintf(&b, " protection=%s voicemail=%s password=%s blocked=%s",
		onOff(c.after.Protection), onOff(c.after.Voicemail), password, onOff(c.after.IsBlockedAt(now)))
	switch {
	case c.after.IsBlockedAt(now) && !c.after.BlockedUntil.IsZero():
		b.WriteString(" until=" + c.after.BlockedUntil.Format(time.RFC3339))
	case c.before.IsBlockedAt(now) && !c.before.BlockedUntil.IsZero() && c.after.BlockedUntil.IsZero():
		// A timed block in force lost its end: ended now, or made endless.
		b.WriteString(" timer=cleared")
	}
	return b.String()
}

// apply applies row to the extension's state after the rows before it,
// returning an *ImportError if the result breaks a rule.
func (c *importChange) apply(row ImportRow) error {
	change := Settings{Protection: row.Protection, Voicemail: row.Voicemail}
	if len(row.PasswordHash) > 0 {
		change.PasswordHash = row.PasswordHash
	}
	ext, _ := applySettings(c.after, change)
	if row.Blocked != nil {
		ext.Blocked = *row.Blocked
		ext.BlockedUntil = time.Time{}
	}

	switch {
	case ext.Protection && !ext.PasswordSet():
		return &ImportError{Line: row.Line, Err: fmt.Errorf("%s: %w", ext.ID, ErrNoPassword)}
	case ext.Blocked && !ext.Protection:
		return &ImportError{Line: row.Line, Err: fmt.Errorf("%s: %w", ext.ID, ErrProtectionOff)}
	}
	c.rows++
	c.after = ext
	return nil
}
