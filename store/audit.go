package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Limits of audit queries and of PruneAudit's transactions.
const (
	defaultAuditLimit = 100   // records Audit and AuditQuery return when asked for none
	maxAuditLimit     = 10000 // records AuditQuery returns at most
	defaultPruneBatch = 1000  // records PruneAudit deletes per transaction when asked for none
)

// Actor says who made a change and from where, for the audit trail.
type Actor struct {
	Name   string // who, e.g. "admin" or "phone"
	Source string // through what: "cli", "api" or "phone"
	Addr   string // remote address or channel name where known, may be empty

	// Token and Role are the id and the role of the API token the change
	// came with, empty otherwise. A token's name is the operator's label
	// and need not be unique; its id is.
	Token string
	Role  string
}

// AuditRecord is one entry of the append-only audit trail. It never holds a
// password or a password hash.
type AuditRecord struct {
	// Seq numbers the records in the order they were appended, from 1.
	Seq uint64 `json:"seq"`

	// Time is when the record was appended, by the Store's clock.
	Time time.Time `json:"time"`

	// Extension is the id of the extension concerned, empty if none, as for
	// changes to the hierarchy or tokens and for imports.
	Extension string `json:"extension"`

	// Action is what was attempted: "set", "block", "unblock", "delete",
	// "timer_unblock", "reset_attempts", "import", "star11_block",
	// "star11_unblock", "star11_wrong_password", "star11_locked_out",
	// "star11_denied_locked_out", "sp_add", "sp_delete", "org_add",
	// "org_delete", "user_add", "user_delete", "token_create",
	// "token_revoke", ...
	Action string `json:"action"`

	// Actor, Source, Addr, Token and Role copy the Actor that made the
	// change.
	Actor  string `json:"actor"`
	Source string `json:"source"`
	Addr   string `json:"addr,omitempty"`
	Token  string `json:"token,omitempty"`
	Role   string `json:"role,omitempty"`

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
	q := AuditQuery{Limit: limit}
	if ext != "" {
		q.Extensions = []string{ext}
	}

	records, err := s.queryAudit(q)
	if err != nil {
		return nil, fmt.Errorf("read audit: %w", err)
	}
	return records, nil
}

// AuditQuery selects audit records for AuditQuery.
type AuditQuery struct {
	// Extensions, when not nil, keeps only the records of these extensions,
	// which must be valid ids (see ParseID); an empty, non-nil list keeps
	// none. Nil keeps the records of all extensions and those of no
	// extension.
	Extensions []string

	// Since, when not zero, keeps only records from that time on.
	Since time.Time

	// Limit is how many records to return at most: 0 or less means 100,
	// more than 10,000 means 10,000.
	Limit int

	// HideHierarchy drops the records that concern no extension, such as
	// changes to the hierarchy and to tokens.
	HideHierarchy bool

	// Match, when not nil, keeps only the records it accepts, after the
	// other conditions; Limit counts the records it keeps.
	Match func(AuditRecord) bool
}

// AuditQuery returns the audit records q selects, newest first. A
// malformed extension id returns an error wrapping ErrInvalidID.
//
// It scans the trail from its newest end and stops at the first record
// older than q.Since: records are appended in time order, save for records
// given their own time through AppendAudit.
func (s *Store) AuditQuery(q AuditQuery) ([]AuditRecord, error) {
	q.Limit = min(q.Limit, maxAuditLimit)
	records, err := s.queryAudit(q)
	if err != nil {
		return nil, fmt.Errorf("query audit: %w", err)
	}
	return records, nil
}

// queryAudit is AuditQuery without the maximum limit, which Audit does not
// have.
func (s *Store) queryAudit(q AuditQuery) ([]AuditRecord, error) {
	var only map[string]bool
	if q.Extensions != nil {
		only = make(map[string]bool, len(q.Extensions))
		for _, ext := range q.Extensions {
			id, err := ParseID(ext)
			if err != nil {
				return nil, err
			}
			only[id] = true
		}
		if len(only) == 0 {
			return nil, nil
		}
	}
	if q.Limit <= 0 {
		q.Limit = defaultAuditLimit
	}

	var records []AuditRecord
	err := s.view(func(tx *bolt.Tx) error {
		b := tx.Bucket(auditBucket)
		if b == nil {
			return nil
		}

		c := b.Cursor()
		for k, v := c.Last(); k != nil && len(records) < q.Limit; k, v = c.Prev() {
			rec, err := decodeAudit(k, v)
			if err != nil {
				return err
			}
			switch {
			case rec.Time.Before(q.Since):
				return nil
			case only != nil && !only[rec.Extension]:
			case q.HideHierarchy && rec.Extension == "":
			case q.Match != nil && !q.Match(rec):
			default:
				records = append(records, rec)
			}
		}
		return nil
	})
	return records, err
}

// PruneAudit deletes the audit records older than before, oldest first,
// and returns how many it deleted. It stops at the first record not older
// than before. Each write transaction deletes at most batch records (0 or
// less means 1000), so that calls never wait long for the write lock. On
// an error, the records of the transactions committed before stay deleted
// and are counted.
func (s *Store) PruneAudit(before time.Time, batch int) (int, error) {
	if batch <= 0 {
		batch = defaultPruneBatch
	}

	var total int
	for {
		n, more, err := s.pruneAuditBatch(before, batch)
		total += n
		if err != nil {
			return total, fmt.Errorf("prune audit: %w", err)
		}
		if !more {
			return total, nil
		}
	}
}

// pruneAuditBatch deletes up to batch of the oldest audit records older
// than before in one transaction. It returns how many it deleted and
// whether more such records remain.
func (s *Store) pruneAuditBatch(before time.Time, batch int) (n int, more bool, err error) {
	err = s.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(auditBucket)
		keys := make([][]byte, 0, min(batch, 1024))
		more = false

		// Deleting while a cursor walks the bucket can skip keys, so
		// collect the keys first.
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			rec, err := decodeAudit(k, v)
			if err != nil {
				return err
			}
			if !rec.Time.Before(before) {
				break
			}
			if len(keys) == batch {
				more = true
				break
			}
			keys = append(keys, bytes.Clone(k))
		}

		for _, k := range keys {
			if err := b.Delete(k); err != nil {
				return fmt.Errorf("delete audit record: %w", err)
			}
		}
		n = len(keys)
		return nil
	})
	if err != nil {
		return 0, false, err
	}
	return n, more, nil
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
		Token:     actor.Token,
		Role:      actor.Role,
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
