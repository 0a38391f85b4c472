package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// defaultAuditLimit is how many records Audit returns when asked for none.
const defaultAuditLimit = 100

// Actor says who made a change and from where, for the audit trail.
type Actor struct {
	Name   string // who, e.g. "admin" or "phone"
	Source string // through what: "cli", "api" or "phone"
	Addr   string // remote address or channel name where known, may be empty
}

// AuditRecord is one entry of the append-only audit trail. It never holds a
// password or a password hash.
type AuditRecord struct {
	// Seq numbers the records in the order they were appended, from 1.
	Seq uint64 `json:"seq"`

	// Time is when the record was appended, by the Store's clock.
	Time time.Time `json:"time"`

	// Extension is the id of the extension concerned, empty if none.
	Extension string `json:"extension"`

	// Action is what was attempted: "set", "block", "unblock", "delete",
	// "star11_block", "star11_unblock", "star11_wrong_password",
	// "star11_locked_out", "star11_denied_locked_out", ...
	Action string `json:"action"`

	// Actor, Source and Addr copy the Actor that made the change.
	Actor  string `json:"actor"`
	Source string `json:"source"`
	Addr   string `json:"addr,omitempty"`

	// Result is the outcome: "ok", "refused", "wrong_password",
	// "locked_out", ...
	Result string `json:"result"`

	// Detail adds what changed, such as
	// "protection=on voicemail=off password=changed"; never a password.
	Detail string `json:"detail,omitempty"`
}

// AppendAudit appends rec to the audit trail in its own committed
// transaction, for events that change nothing else, such as a *11 call
// refused during a lockout. The Store always assigns Seq, so that records
// are never overwritten; Time is filled in if zero. A non-empty
// rec.Extension must be a valid id (see ParseID) and is normalised. The
// caller must not put a password or hash in rec.
func (s *Store) AppendAudit(rec AuditRecord) error {
	if rec.Extension != "" {
		id, err := ParseID(rec.Extension)
		if err != nil {
			return fmt.Errorf("append audit: %w", err)
		}
		rec.Extension = id
	}

	err := s.update(func(tx *bolt.Tx) error {
		if rec.Time.IsZero() {
			rec.Time = s.nowUTC()
		}
		return putAudit(tx, rec)
	})
	if err != nil {
		return fmt.Errorf("append audit: %w", err)
	}
	return nil
}

// Audit returns up to limit audit records, newest first, of the extension
// ext, or of all extensions when ext is empty. A limit of 0 or less means
// 100. A malformed ext returns an error wrapping ErrInvalidID.
//
// Filtering by extension scans the trail from its newest end, so it takes
// longer for an extension that changed long ago.
func (s *Store) Audit(ext string, limit int) ([]AuditRecord, error) {
	if ext != "" {
		id, err := ParseID(ext)
		if err != nil {
			return nil, fmt.Errorf("read audit: %w", err)
		}
		ext = id
	}
	if limit <= 0 {
		limit = defaultAuditLimit
	}

	var records []AuditRecord
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(auditBucket)
		if b == nil {
			return nil
		}

		c := b.Cursor()
		for k, v := c.Last(); k != nil && len(records) < limit; k, v = c.Prev() {
			rec, err := decodeAudit(k, v)
			if err != nil {
				return err
			}
			if ext == "" || rec.Extension == ext {
				records = append(records, rec)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read audit: %w", err)
	}
	return records, nil
}

// appendAudit appends a record made from its arguments in tx, the
// transaction of the change it describes.
func appendAudit(tx *bolt.Tx, now time.Time, id, action string, actor Actor,
	result, detail string) error {
	return putAudit(tx, AuditRecord{
		Time:      now,
		Extension: id,
		Action:    action,
		Actor:     actor.Name,
		Source:    actor.Source,
		Addr:      actor.Addr,
		Result:    result,
		Detail:    detail,
	})
}

// putAudit stores rec in tx under the audit bucket's next sequence number,
// which it also writes into rec.Seq.
func putAudit(tx *bolt.Tx, rec AuditRecord) error {
	b := tx.Bucket(auditBucket)
	seq, err := b.NextSequence()
	if err != nil {
		return fmt.Errorf("number audit record: %w", err)
	}
	rec.Seq = seq

	v, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encode audit record: %w", err)
	}
	if err := b.Put(binary.BigEndian.AppendUint64(nil, seq), v); err != nil {
		return fmt.Errorf("write audit record: %w", err)
	}
	return nil
}

// decodeAudit decodes the audit record v stored under key, which must be
// its sequence number.
func decodeAudit(key, v []byte) (AuditRecord, error) {
	var rec AuditRecord
	if err := json.Unmarshal(v, &rec); err != nil {
		return AuditRecord{}, fmt.Errorf("%w: audit record %x: %v", ErrCorrupt, key, err)
	}
	if len(key) != 8 || binary.BigEndian.Uint64(key) != rec.Seq {
		return AuditRecord{}, fmt.Errorf("%w: audit record %x holds seq %d", ErrCorrupt, key, rec.Seq)
	}
	return rec, nil
}
