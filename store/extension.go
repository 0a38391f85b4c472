package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/crypto/bcrypt"
)

// Extension is the stored state of one extension.
type Extension struct {
	// ID is the normalised NUMBER@DOMAIN id (see ParseID).
	ID string `json:"extension"`

	// Protection says whether the extension can be blocked at all.
	Protection bool `json:"protection"`

	// PasswordHash is the bcrypt hash of the *11 password, empty if none
	// is set. Callers strip it before showing an Extension to anyone.
	PasswordHash []byte `json:"password_hash,omitempty"`

	// Blocked is the stored block flag; IsBlockedAt says whether it
	// applies.
	Blocked bool `json:"blocked"`

	// BlockedUntil is when a timed block ends by itself; zero for a block
	// without end. It is set only while Blocked is.
	BlockedUntil time.Time `json:"blocked_until,omitzero"`

	// Voicemail says whether calls to the blocked extension go to voicemail.
	Voicemail bool `json:"voicemail"`

	// FailedAttempts counts wrong *11 passwords since the last right one or
	// the last lockout.
	FailedAttempts int `json:"failed_attempts"`

	// LockedOutUntil is when the current *11 lockout ends; zero if none.
	LockedOutUntil time.Time `json:"locked_out_until,omitzero"`

	// UpdatedAt is when the extension last changed.
	UpdatedAt time.Time `json:"updated_at"`
}

// PasswordSet reports whether the extension has a password.
func (e Extension) PasswordSet() bool {
	return len(e.PasswordHash) > 0
}

// IsBlocked reports whether the extension is blocked now; see IsBlockedAt.
func (e Extension) IsBlocked() bool {
	return e.IsBlockedAt(time.Now())
}

// IsBlockedAt reports whether the extension is blocked at time now:
// protection off means never blocked, whatever the stored flag says, and a
// timed block has ended once now reaches BlockedUntil, even before
// ExpireBlocks clears the flag.
func (e Extension) IsBlockedAt(now time.Time) bool {
	return e.Protection && e.Blocked && (e.BlockedUntil.IsZero() || now.Before(e.BlockedUntil))
}

// LockedOut reports whether the *11 dialog is locked for the extension at
// time now.
func (e Extension) LockedOut(now time.Time) bool {
	return now.Before(e.LockedOutUntil)
}

// Get returns the extension with the given id, an error wrapping
// ErrNotFound if there is none, or one wrapping ErrInvalidID if id is
// malformed.
func (s *Store) Get(id string) (Extension, error) {
	id, err := ParseID(id)
	if err != nil {
		return Extension{}, fmt.Errorf("get extension: %w", err)
	}

	var ext Extension
	var found bool
	err = s.view(func(tx *bolt.Tx) error {
		var err error
		ext, found, err = getExtension(tx, id)
		return err
	})
	if err == nil && !found {
		err = ErrNotFound
	}
	if err != nil {
		return Extension{}, fmt.Errorf("get extension %s: %w", id, err)
	}
	return ext, nil
}

// GetPair reads the caller's and the callee's extensions in one read
// transaction; it is the lookup on every call. An empty id is skipped, and
// so is a malformed one, which no stored extension can have: both come back
// as not found. The found flags say whether each extension exists. The only
// errors are those of a damaged or closed store.
func (s *Store) GetPair(callerID, calleeID string) (caller, callee Extension, callerFound, calleeFound bool, err error) {
	callerID, _ = normalizeID(callerID)
	calleeID, _ = normalizeID(calleeID)

	err = s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(extensionsBucket)
		var err error
		if caller, callerFound, err = readExtension(b, callerID); err != nil {
			return err
		}
		callee, calleeFound, err = readExtension(b, calleeID)
		return err
	})
	if err != nil {
		return Extension{}, Extension{}, false, false, fmt.Errorf("get extensions: %w", err)
	}
	return caller, callee, callerFound, calleeFound, nil
}

// List returns all extensions sorted by id.
func (s *Store) List() ([]Extension, error) {
	var list []Extension
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(extensionsBucket)
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			ext, err := decodeExtension(k, v)
			if err != nil {
				return err
			}
			list = append(list, ext)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list extensions: %w", err)
	}
	return list, nil
}

// Settings is a partial update of an extension for Set; nil fields are left
// as they are.
type Settings struct {
	// Protection switches protection on or off.
	Protection *bool

	// Voicemail switches voicemail on or off.
	Voicemail *bool

	// PasswordHash, when not nil, replaces the password hash at once: a
	// bcrypt hash (see HashPassword) sets a new password, an empty slice
	// removes the password.
	PasswordHash []byte
}

// Set creates the extension if it is missing and applies change, with an
// audit record "set", in one committed transaction, and returns the new
// state.
//
// Set refuses with ErrNoPassword, writing nothing, a change that would
// leave protection on without a password. Protection off also clears
// Blocked, BlockedUntil, FailedAttempts and LockedOutUntil, since an unprotected
// extension is never blocked. A new password resets FailedAttempts and
// LockedOutUntil. A PasswordHash that is neither empty nor a bcrypt hash is
// refused.
func (s *Store) Set(id string, change Settings, actor Actor) (Extension, error) {
	id, err := ParseID(id)
	if err != nil {
		return Extension{}, fmt.Errorf("set extension: %w", err)
	}
	if len(change.PasswordHash) > 0 {
		if _, err := bcrypt.Cost(change.PasswordHash); err != nil {
			return Extension{}, fmt.Errorf("set extension %s: %w", id, errNotBcrypt)
		}
	}

	var ext Extension
	err = s.update(func(tx *bolt.Tx) error {
		old, found, err := getExtension(tx, id)
		if err != nil {
			return err
		}
		if !found {
			old = Extension{ID: id}
		}

		now := s.nowUTC()
		var detail string
		ext, detail = applySettings(old, change)
		if ext.Protection && !ext.PasswordSet() {
			return ErrNoPassword
		}
		if !found {
			detail = "created " + detail
		}
		ext.UpdatedAt = now

		if err := putExtension(tx, ext); err != nil {
			return err
		}
		return appendAudit(tx, now, ext.ID, "set", actor, "ok", detail)
	})
	if err != nil {
		return Extension{}, fmt.Errorf("set extension %s: %w", id, err)
	}
	return ext, nil
}

// applySettings returns ext with change applied and the rules of Set
// enforced, and an audit detail describing the result.
func applySettings(ext Extension, change Settings) (Extension, string) {
	if change.Protection != nil {
		ext.Protection = *change.Protection
	}
	if change.Voicemail != nil {
		ext.Voicemail = *change.Voicemail
	}

	passwordChanged := change.PasswordHash != nil &&
		!bytes.Equal(change.PasswordHash, ext.PasswordHash)
	if passwordChanged {
		ext.PasswordHash = bytes.Clone(change.PasswordHash)
		ext.FailedAttempts = 0
		ext.LockedOutUntil = time.Time{}
	}
	if len(ext.PasswordHash) == 0 {
		ext.PasswordHash = nil
	}

	if !ext.Protection {
		ext.Blocked = false
		ext.BlockedUntil = time.Time{}
		ext.FailedAttempts = 0
		ext.LockedOutUntil = time.Time{}
	}

	password := "unchanged"
	switch {
	case passwordChanged && ext.PasswordSet():
		password = "changed"
	case passwordChanged:
		password = "removed"
	}
	detail := fmt.Sprintf("protection=%s voicemail=%s password=%s",
		onOff(ext.Protection), onOff(ext.Voicemail), password)
	return ext, detail
}

// SetBlocked blocks or unblocks the extension, with an audit record "block"
// or "unblock", in one committed transaction, and returns the new state.
// Either way it clears a block timer: the block has no end, or is over.
// It returns an error wrapping ErrNotFound if the extension is missing and
// ErrProtectionOff, writing nothing, when blocking an extension whose
// protection is off. Unblocking an unblocked extension succeeds and is
// audited too.
func (s *Store) SetBlocked(id string, blocked bool, actor Actor) (Extension, error) {
	action := "unblock"
	if blocked {
		action = "block"
	}
	id, err := ParseID(id)
	if err != nil {
		return Extension{}, fmt.Errorf("%s extension: %w", action, err)
	}

	var ext Extension
	err = s.update(func(tx *bolt.Tx) error {
		var err error
		ext, err = existingExtension(tx, id)
		switch {
		case err != nil:
			return err
		case blocked && !ext.Protection:
			return ErrProtectionOff
		}

		now := s.nowUTC()
		ext.Blocked = blocked
		ext.BlockedUntil = time.Time{}
		ext.UpdatedAt = now
		if err := putExtension(tx, ext); err != nil {
			return err
		}
		return appendAudit(tx, now, id, action, actor, "ok", "")
	})
	if err != nil {
		return Extension{}, fmt.Errorf("%s extension %s: %w", action, id, err)
	}
	return ext, nil
}

// Delete removes the extension, with an audit record "delete", in one
// committed transaction. It returns an error wrapping ErrNotFound if the
// extension is missing. The extension's earlier audit records are kept.
func (s *Store) Delete(id string, actor Actor) error {
	id, err := ParseID(id)
	if err != nil {
		return fmt.Errorf("delete extension: %w", err)
	}

	err = s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(extensionsBucket)
		if b.Get([]byte(id)) == nil {
			return ErrNotFound
		}
		if err := b.Delete([]byte(id)); err != nil {
			return fmt.Errorf("delete record: %w", err)
		}
		return appendAudit(tx, s.nowUTC(), id, "delete", actor, "ok", "")
	})
	if err != nil {
		return fmt.Errorf("delete extension %s: %w", id, err)
	}
	return nil
}

// existingExtension reads the extension id in tx, or returns ErrNotFound.
func existingExtension(tx *bolt.Tx, id string) (Extension, error) {
	ext, found, err := getExtension(tx, id)
	if err == nil && !found {
		err = ErrNotFound
	}
	return ext, err
}

// getExtension reads one extension in tx; see readExtension.
func getExtension(tx *bolt.Tx, id string) (Extension, bool, error) {
	return readExtension(tx.Bucket(extensionsBucket), id)
}

// readExtension reads one extension from the extensions bucket b. An empty
// id, or a nil bucket (a fresh file opened read-only), reads as not found.
func readExtension(b *bolt.Bucket, id string) (Extension, bool, error) {
	if id == "" || b == nil {
		return Extension{}, false, nil
	}

	v := b.Get([]byte(id))
	if v == nil {
		return Extension{}, false, nil
	}
	ext, err := decodeExtension([]byte(id), v)
	return ext, err == nil, err
}

// putExtension writes ext in tx under its id.
func putExtension(tx *bolt.Tx, ext Extension) error {
	v, err := json.Marshal(ext)
	if err != nil {
		return fmt.Errorf("encode extension: %w", err)
	}
	if err := tx.Bucket(extensionsBucket).Put([]byte(ext.ID), v); err != nil {
		return fmt.Errorf("write extension: %w", err)
	}
	return nil
}

// decodeExtension decodes the record v stored under key, which must name
// the same extension.
func decodeExtension(key, v []byte) (Extension, error) {
	var ext Extension
	if err := json.Unmarshal(v, &ext); err != nil {
		return Extension{}, fmt.Errorf("%w: extension record %q: %v", ErrCorrupt, key, err)
	}
	if ext.ID != string(key) {
		return Extension{}, fmt.Errorf("%w: extension record %q holds id %q", ErrCorrupt, key, ext.ID)
	}
	return ext, nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
