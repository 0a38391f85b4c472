package store

import (
	"bytes"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
)

// expireBatchSize is how many extensions ExpireBlocks unblocks in one
// write transaction, so that calls never wait long for the write lock.
const expireBatchSize = 500

// BlockUntil blocks the extension until the given time, with an audit
// record "block" whose detail is "until=" and the time in RFC 3339, in one
// committed transaction, and returns the new state. From then on the
// extension reads as unblocked (see IsBlockedAt), and ExpireBlocks clears
// the flag.
//
// It returns an error wrapping ErrInvalidTime, writing nothing, unless
// until is after the Store's clock, ErrNotFound if the extension is
// missing, and ErrProtectionOff if its protection is off.
func (s *Store) BlockUntil(id string, until time.Time, actor Actor) (Extension, error) {
	id, err := ParseID(id)
	if err != nil {
		return Extension{}, fmt.Errorf("block extension: %w", err)
	}
	until = until.UTC()

	var ext Extension
	err = s.update(func(tx *bolt.Tx) error {
		now := s.nowUTC()
		if !until.After(now) {
			return fmt.Errorf("until %s: %w", until.Format(time.RFC3339), ErrInvalidTime)
		}
		var err error
		ext, err = existingExtension(tx, id)
		switch {
		case err != nil:
			return err
		case !ext.Protection:
			return ErrProtectionOff
		}

		ext.Blocked = true
		ext.BlockedUntil = until
		ext.UpdatedAt = now
		if err := putExtension(tx, ext); err != nil {
			return err
		}
		detail := "until=" + until.Format(time.RFC3339)
		return appendAudit(tx, now, id, "block", actor, "ok", detail)
	})
	if err != nil {
		return Extension{}, fmt.Errorf("block extension %s: %w", id, err)
	}
	return ext, nil
}

// ExpireBlocks unblocks every extension whose timed block has ended at
// now, clearing Blocked and BlockedUntil, with an audit record
// "timer_unblock" for each, and returns how many it unblocked. It finds
// them in a read transaction and unblocks them in write transactions of
// at most 500 extensions each. On an error, the extensions of the
// transactions committed before stay unblocked and are counted.
func (s *Store) ExpireBlocks(now time.Time, actor Actor) (int, error) {
	var due []string
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		due, err = dueTimers(tx, now)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("expire blocks: %w", err)
	}

	var total int
	for batch := range slices.Chunk(due, expireBatchSize) {
		var n int
		err := s.update(func(tx *bolt.Tx) error {
			var err error
			n, err = s.expireTimers(tx, batch, now, actor)
			return err
		})
		if err != nil {
			return total, fmt.Errorf("expire blocks: %w", err)
		}
		total += n
	}
	return total, nil
}

// dueTimers returns the ids of the extensions whose timed block has ended
// at now.
func dueTimers(tx *bolt.Tx, now time.Time) ([]string, error) {
	b := tx.Bucket(extensionsBucket)
	if b == nil {
		return nil, nil
	}

	// Most extensions have no timer, and their records do not mention one.
	marker := []byte(`"blocked_until"`)
	var due []string
	err := b.ForEach(func(k, v []byte) error {
		if !bytes.Contains(v, marker) {
			return nil
		}
		ext, err := decodeExtension(k, v)
		if err == nil && timerDue(ext, now) {
			due = append(due, ext.ID)
		}
		return err
	})
	return due, err
}

// timerDue reports whether ext is blocked with a timer that has ended at
// now.
func timerDue(ext Extension, now time.Time) bool {
	return ext.Blocked && !ext.BlockedUntil.IsZero() && !now.Before(ext.BlockedUntil)
}

// expireTimers unblocks, in tx, those of the extensions ids whose timer is
// still due at now; another change may have come first. It returns how
// many it unblocked.
func (s *Store) expireTimers(tx *bolt.Tx, ids []string, now time.Time, actor Actor) (int, error) {
	changed := s.nowUTC()
	var n int
	for _, id := range ids {
		ext, found, err := getExtension(tx, id)
		if err != nil {
			return 0, err
		}
		if !found || !timerDue(ext, now) {
			continue
		}

		detail := "until=" + ext.BlockedUntil.Format(time.RFC3339)
		ext.Blocked = false
		ext.BlockedUntil = time.Time{}
		ext.UpdatedAt = changed
		if err := putExtension(tx, ext); err != nil {
			return 0, err
		}
		if err := appendAudit(tx, changed, id, "timer_unblock", actor, "ok", detail); err != nil {
			return 0, err
		}
		n++
	}
	return n, nil
}
