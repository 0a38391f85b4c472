package store

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	bolt "go.etcd.io/bbolt"
)

// maxCheckProblems is how many problems Check lists in its error.
const maxCheckProblems = 5

// compactTxMaxSize is how many bytes of keys and values Compact copies per
// write transaction, to bound its memory.
const compactTxMaxSize = 64 << 20

// errRollback makes update roll its transaction back instead of
// committing it.
var errRollback = errors.New("roll back")

// Check verifies the whole file: every record decodes and the file is as
// long as its pages, then bbolt's own consistency check of every page.
// It returns nil for a sound file and otherwise an error wrapping
// ErrCorrupt that lists the first few problems.
//
// bbolt's check is safe beside writers only inside a write transaction,
// so on a writable Store it holds the write lock for as long as it runs;
// that transaction is rolled back, never committed.
func (s *Store) Check() error {
	if err := s.view(checkRecords); err != nil {
		return fmt.Errorf("check database: %w", err)
	}

	problems, count, err := s.checkPages()
	if err != nil {
		return fmt.Errorf("check database: %w", err)
	}
	if count == 0 {
		return nil
	}

	list := strings.Join(problems, "; ")
	if count > len(problems) {
		list += fmt.Sprintf("; and %d more", count-len(problems))
	}
	return fmt.Errorf("check database: %w: bbolt's check found: %s", ErrCorrupt, list)
}

// checkPages runs bbolt's consistency check and returns the first few
// problems it reports and how many it reported.
func (s *Store) checkPages() (problems []string, count int, err error) {
	check := func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			count++
			if len(problems) < maxCheckProblems {
				problems = append(problems, err.Error())
			}
		}
		return errRollback
	}

	if s.db.IsReadOnly() {
		err = s.view(check)
	} else {
		err = s.update(check)
	}
	if errors.Is(err, errRollback) {
		err = nil
	}
	return problems, count, err
}

// checkRecords decodes every record of the file in tx, audit records
// included, after checkContent's checks.
//
// It also reads every page of every bucket, so that a damaged page faults
// here, where guard turns the fault into ErrCorrupt, rather than in the
// goroutine of bbolt's check, where it would end the process.
func checkRecords(tx *bolt.Tx) error {
	fresh, err := checkSchema(tx)
	if err != nil || fresh {
		return err
	}
	if err := checkContent(tx); err != nil {
		return err
	}

	err = tx.ForEach(func(_ []byte, b *bolt.Bucket) error {
		return b.ForEach(func(k, v []byte) error { return nil })
	})
	if err != nil {
		return err
	}
	return tx.Bucket(auditBucket).ForEach(func(k, v []byte) error {
		_, err := decodeAudit(k, v)
		return err
	})
}

// Backup writes a consistent copy of the whole file to w and returns how
// many bytes it wrote. It reads in one read transaction, so it works while
// the Store serves calls and changes; writers that need to grow the file
// wait until it ends.
func (s *Store) Backup(w io.Writer) (int64, error) {
	var n int64
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("back up database: %w", err)
	}
	return n, nil
}

// FileSize returns the size of the database file in bytes.
func (s *Store) FileSize() (int64, error) {
	info, err := os.Stat(s.path)
	if err != nil {
		return 0, fmt.Errorf("database file size: %w", err)
	}
	return info.Size(), nil
}

// Compact writes a compacted copy of the database at src to dst, a new
// file with mode 0600, leaving src as it is. It opens src read-only, so it
// fails with an error wrapping ErrLocked while a daemon holds src, and
// with ErrCorrupt if src is damaged (see Open). dst must not exist; if
// compaction fails, dst is removed.
func Compact(src, dst string) error {
	s, err := Open(src, Options{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("compact: %w", err)
	}
	defer s.Close()

	// O_EXCL makes creating dst fail if it exists, also when it appears
	// between a check and the open.
	createNew := func(name string, flag int, perm os.FileMode) (*os.File, error) {
		return os.OpenFile(name, flag|os.O_CREATE|os.O_EXCL, perm)
	}
	var out *bolt.DB
	err = guard(func() error {
		var err error
		out, err = bolt.Open(dst, 0o600, &bolt.Options{Timeout: defaultTimeout, OpenFile: createNew})
		return err
	})
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("compact: %s already exists", dst)
	}
	if err != nil {
		return fmt.Errorf("compact: create %s: %w", dst, err)
	}

	err = guard(func() error { return bolt.Compact(out, s.db, compactTxMaxSize) })
	if closeErr := out.Close(); err == nil {
		err = closeErr
	}
	if err != nil {
		_ = os.Remove(dst)
		return fmt.Errorf("compact %s into %s: %w", src, dst, err)
	}
	return nil
}
