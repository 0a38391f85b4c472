// Package store keeps phonelock's state in a bbolt file: the extensions with
// their protection settings, password hashes, block timers and *11 lockout
// counters; the hierarchy of service providers, organizations and users
// that own them; the admin API's tokens; and an append-only audit trail of
// every change.
//
// It is the only package that imports bbolt. A Store is safe for concurrent
// use. Every change is one committed bbolt transaction that includes its
// audit record, so a method that returns success has made the change
// durable. A damaged file yields errors wrapping ErrCorrupt, never a panic.
package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime/debug"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// SchemaVersion is the layout version this package reads and writes. Files
// with a greater version are refused with ErrNewerSchema.
const SchemaVersion = 1

// Bucket names and the key of the schema version in the meta bucket.
var (
	metaBucket       = []byte("meta")
	extensionsBucket = []byte("extensions")
	auditBucket      = []byte("audit")
	schemaKey        = []byte("schema")
)

// Buckets added within schema 1 for the admin plane. A writable Open
// creates those a file lacks; readers treat a missing one as empty.
var (
	serviceProvidersBucket = []byte("service_providers")
	organizationsBucket    = []byte("organizations")
	usersBucket            = []byte("users")
	domainsBucket          = []byte("domains")         // domain -> organization id
	userExtensionsBucket   = []byte("user_extensions") // extension id NUL user id -> nothing
	tokensBucket           = []byte("tokens")
)

// laterBuckets lists the buckets added within schema 1.
var laterBuckets = [][]byte{
	serviceProvidersBucket, organizationsBucket, usersBucket,
	domainsBucket, userExtensionsBucket, tokensBucket,
}

// defaultTimeout is how long Open waits for the file lock when
// Options.Timeout is not positive.
const defaultTimeout = time.Second

// Options configures Open.
type Options struct {
	// Timeout is how long to wait for the file lock; 0 means 1 second.
	Timeout time.Duration

	// ReadOnly opens the file with a shared lock and creates nothing.
	ReadOnly bool

	// Now is the clock for UpdatedAt and audit times; nil means time.Now.
	Now func() time.Time
}

// Store is an open phonelock database. Its methods are safe for concurrent
// use until Close.
type Store struct {
	db   *bolt.DB
	file *os.File // the file bbolt opened, to release its lock if bbolt cannot
	path string
	now  func() time.Time

	// failed is set once bbolt panicked on this file: it may then still
	// hold its locks, so every later use fails at once instead of
	// waiting on them forever.
	failed atomic.Bool
}

// Open opens the database at path. Unless opts.ReadOnly is set, a missing
// file is created with mode 0600 and initialised with the current schema;
// in read-only mode a missing file is an error wrapping os.ErrNotExist.
//
// Open fails within about opts.Timeout with an error wrapping ErrLocked when
// another process holds the file, with ErrNewerSchema when a newer phonelock
// wrote it, and with ErrCorrupt when it is empty, damaged or not a phonelock
// database. The caller must Close the returned Store.
func Open(path string, opts Options) (*Store, error) {
	if opts.Timeout <= 0 {
		opts.Timeout = defaultTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}

	// bbolt would silently initialise an existing empty file, which more
	// likely is a database lost to a full disk than a new one.
	if info, err := os.Stat(path); err == nil && info.Mode().IsRegular() && info.Size() == 0 {
		return nil, fmt.Errorf("open store %s: %w: the file is empty; remove it to start afresh",
			path, ErrCorrupt)
	}

	db, file, err := openBolt(path, opts)
	if err != nil {
		return nil, err
	}
	s := &Store{db: db, file: file, path: path, now: opts.Now}

	if err := s.prepare(opts.ReadOnly); err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	return s, nil
}

// openBolt opens the bbolt file and turns its failures, panics included,
// into this package's errors.
func openBolt(path string, opts Options) (db *bolt.DB, file *os.File, err error) {
	// Keep the file so that a panic inside bbolt.Open, which loses the
	// half-opened DB, does not also keep the file locked.
	// TODO(corrupt-open): the DB's memory mapping still leaks then; bbolt
	// gives no way to reach it, and the process usually exits anyway.
	openFile := func(name string, flag int, perm os.FileMode) (*os.File, error) {
		f, err := os.OpenFile(name, flag, perm)
		file = f
		return f, err
	}
	// On failure the deferred cleanup closes file: the error returns
	// below keep it in the named result for that.
	defer func() {
		if err != nil && db == nil && file != nil {
			unlockFile(file)
			_ = file.Close()
		}
	}()

	err = guard(func() error {
		var openErr error
		db, openErr = bolt.Open(path, 0o600, &bolt.Options{
			Timeout:  opts.Timeout,
			ReadOnly: opts.ReadOnly,
			OpenFile: openFile,
		})
		return openErr
	})

	switch {
	case err == nil:
		return db, file, nil
	case errors.Is(err, ErrCorrupt):
		return nil, file, fmt.Errorf("open store %s: %w", path, err)
	case errors.Is(err, berrors.ErrTimeout):
		return nil, file, fmt.Errorf("open store %s: %w", path, ErrLocked)
	case isSystemError(err):
		return nil, file, fmt.Errorf("open store: %w", err)
	default:
		// What is left (bad meta pages, checksum, version, a file too small
		// for its page size) all say the content is not what bbolt expects.
		return nil, file, fmt.Errorf("open store %s: %w: %v", path, ErrCorrupt, err)
	}
}

// isSystemError reports whether err came from the operating system (missing
// file, permissions, I/O) rather than from the file's content.
func isSystemError(err error) bool {
	var pathErr *fs.PathError
	var errno syscall.Errno
	return errors.As(err, &pathErr) || errors.As(err, &errno)
}

// prepare checks the schema version and the file's shape and, for a file
// opened for writing, creates the buckets it lacks: all of them in a fresh
// file, those added later in an older one.
func (s *Store) prepare(readOnly bool) error {
	var fresh, lacking bool
	err := s.view(func(tx *bolt.Tx) error {
		var err error
		fresh, err = checkSchema(tx)
		if err != nil || fresh {
			return err
		}
		for _, name := range laterBuckets {
			lacking = lacking || tx.Bucket(name) == nil
		}
		return checkContent(tx)
	})

	switch {
	case err != nil || readOnly:
		return err
	case fresh:
		return s.update(initSchema)
	case lacking:
		return s.update(createBuckets)
	}
	return nil
}

// checkSchema returns fresh=true for a file with no buckets at all, and an
// error unless the file carries a schema version this package can read.
func checkSchema(tx *bolt.Tx) (fresh bool, err error) {
	meta := tx.Bucket(metaBucket)
	if meta == nil {
		if k, _ := tx.Cursor().First(); k != nil {
			return false, fmt.Errorf("%w: the file holds data but no phonelock schema", ErrCorrupt)
		}
		return true, nil
	}

	raw := meta.Get(schemaKey)
	if raw == nil {
		return false, fmt.Errorf("%w: the schema version is missing", ErrCorrupt)
	}
	version, err := strconv.ParseUint(string(raw), 10, 32)
	if err != nil || version == 0 {
		return false, fmt.Errorf("%w: the schema version is unreadable", ErrCorrupt)
	}
	if version > SchemaVersion {
		return false, fmt.Errorf("%w: the file has schema version %d, this phonelock supports %d; "+
			"upgrade phonelock", ErrNewerSchema, version, SchemaVersion)
	}
	return false, nil
}

// checkContent looks for damage that bbolt does not notice when it opens a
// file: a file shorter than its own pages, missing buckets, and extension,
// hierarchy and token records that do not decode. Audit records are checked only at the end
// the next append touches; reading every one would slow Open as they grow.
func checkContent(tx *bolt.Tx) error {
	info, err := os.Stat(tx.DB().Path())
	if err != nil {
		return fmt.Errorf("check file size: %w", err)
	}
	if tx.Size() > info.Size() {
		return fmt.Errorf("%w: the file is %d bytes but its pages need %d; it was truncated",
			ErrCorrupt, info.Size(), tx.Size())
	}

	extensions, audit := tx.Bucket(extensionsBucket), tx.Bucket(auditBucket)
	if extensions == nil || audit == nil {
		return fmt.Errorf("%w: a bucket is missing", ErrCorrupt)
	}

	err = extensions.ForEach(func(k, v []byte) error {
		_, err := decodeExtension(k, v)
		return err
	})
	if err != nil {
		return err
	}
	if err := checkHierarchy(tx); err != nil {
		return err
	}

	if k, v := audit.Cursor().Last(); k != nil {
		if _, err := decodeAudit(k, v); err != nil {
			return err
		}
	}
	return nil
}

// initSchema creates the buckets of a fresh file and records its schema
// version.
func initSchema(tx *bolt.Tx) error {
	meta, err := tx.CreateBucketIfNotExists(metaBucket)
	if err != nil {
		return fmt.Errorf("create bucket: %w", err)
	}
	if err := meta.Put(schemaKey, []byte(strconv.Itoa(SchemaVersion))); err != nil {
		return fmt.Errorf("write schema version: %w", err)
	}

	for _, name := range [][]byte{extensionsBucket, auditBucket} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket: %w", err)
		}
	}
	return createBuckets(tx)
}

// createBuckets creates the buckets added within schema 1 that tx lacks.
func createBuckets(tx *bolt.Tx) error {
	for _, name := range laterBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return fmt.Errorf("create bucket %s: %w", name, err)
		}
	}
	return nil
}

// Close releases the file and its lock. The Store must not be used after.
func (s *Store) Close() error {
	if s.failed.Load() {
		// bbolt may still hold its own locks, so its Close could wait
		// forever: release the file lock and the file directly. The
		// memory mapping stays until the process ends.
		unlockFile(s.file)
		s.file.Close()
		return errFailed
	}
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("close store: %w", err)
	}
	return nil
}

// Path returns the path the Store was opened with.
func (s *Store) Path() string {
	return s.path
}

// view runs fn in a read transaction, turning a panic into ErrCorrupt.
func (s *Store) view(fn func(*bolt.Tx) error) error {
	return s.guarded(func() error { return s.db.View(fn) })
}

// update runs fn in a write transaction that is committed when fn returns
// nil, turning a panic into ErrCorrupt.
func (s *Store) update(fn func(*bolt.Tx) error) error {
	return s.guarded(func() error { return s.db.Update(fn) })
}

// errFailed is returned by every use of a Store after bbolt panicked.
var errFailed = fmt.Errorf("%w: the database failed earlier in this process; "+
	"check it (phonelock admin --db FILE db check, daemon stopped) and restart", ErrCorrupt)

// guarded runs fn unless the Store has failed, and marks it failed when
// fn panics.
func (s *Store) guarded(fn func() error) error {
	if s.failed.Load() {
		return errFailed
	}
	err := guard(fn)
	var p panicked
	if errors.As(err, &p) {
		s.failed.Store(true)
	}
	return err
}

// panicked carries what bbolt panicked with.
type panicked struct{ value any }

func (p panicked) Error() string { return fmt.Sprint(p.value) }

// guard runs fn and returns its error, or an error wrapping ErrCorrupt if
// it panics. bbolt trusts the file it maps: a damaged page makes it panic,
// or fault on memory past the end of a truncated file, which
// debug.SetPanicOnFault turns into a panic that can be recovered.
func guard(fn func() error) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %w", ErrCorrupt, panicked{r})
		}
	}()

	return fn()
}

// nowUTC returns the Store's clock reading in UTC, without the monotonic part,
// so that what is returned equals what is read back.
func (s *Store) nowUTC() time.Time {
	return s.now().UTC()
}
