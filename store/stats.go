package store

import (
	"fmt"
	"os"
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
	FileBytes    int64 // size of the database file
}

// Stats counts the extensions by state, at now, and the audit records, in
// one read transaction, and gives the file's size. An extension whose
// timed block has ended at now counts as unrestricted.
func (s *Store) Stats(now time.Time) (Stats, error) {
	var st Stats
	err := s.view(func(tx *bolt.Tx) error {
		info, err := os.Stat(tx.DB().Path())
		if err != nil {
			return fmt.Errorf("file size: %w", err)
		}
		st.FileBytes = info.Size()

		st.AuditRecords = tx.Bucket(auditBucket).Stats().KeyN
		return tx.Bucket(extensionsBucket).ForEach(func(k, v []byte) error {
			ext, err := decodeExtension(k, v)
			if err != nil {
				return err
			}
			switch {
			case !ext.Protection:
				st.Unprotected++
			case ext.IsBlockedAt(now):
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
