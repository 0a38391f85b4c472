package store

import (
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Stats counts what the file holds.
type Stats struct {
	Blocked      int // protection on and blocked
	Unrestricted int // protection on, not blocked
	Unprotected  int // protection off
	LockedOut    int // *11 locked out now (any of the above)
	AuditRecords int
}

// Stats counts the extensions by state, at now, and the audit records, in
// one read transaction.
func (s *Store) Stats(now time.Time) (Stats, error) {
	var st Stats
	err := s.view(func(tx *bolt.Tx) error {
		st.AuditRecords = tx.Bucket(auditBucket).Stats().KeyN
		return tx.Bucket(extensionsBucket).ForEach(func(k, v []byte) error {
			ext, err := decodeExtension(k, v)
			if err != nil {
				return err
			}
			switch {
			case !ext.Protection:
				st.Unprotected++
			case ext.Blocked:
				st.Blocked++
			default:
				st.Unrestricted++
			}
			if ext.LockedOut(now) {
				st.LockedOut++
			}
			return nil
		})
	})
	if err != nil {
		return Stats{}, fmt.Errorf("stats: %w", err)
	}
	return st, nil
}

// Ping reports whether the file can be read: nil when a read transaction
// finds the schema record.
func (s *Store) Ping() error {
	return s.view(func(tx *bolt.Tx) error {
		meta := tx.Bucket(metaBucket)
		if meta == nil || meta.Get(schemaKey) == nil {
			return fmt.Errorf("%w: schema record missing", ErrCorrupt)
		}
		return nil
	})
}
