package store

import (
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestOpen_CreatesFileWithMode0600(t *testing.T) {
	path := filepath.Join(t.TempDir(), "phonelock.db")
	openTestPath(t, path, newFakeClock())

	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := info.Mode().Perm(), os.FileMode(0o600); got != want {
		t.Errorf("file mode = %v; want %v", got, want)
	}
}

func TestOpen_ReopensExistingData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "phonelock.db")
	s := openTestPath(t, path, newFakeClock())
	mustSet(t, s, "100@example.com", Settings{Voicemail: ptr(true)})
	if err := s.Close(); err != nil {
		t.Fatalf("Close() error = %v", err)
	}

	s = openTestPath(t, path, newFakeClock())
	got, err := s.Get("100@example.com")
	if err != nil || !got.Voicemail {
		t.Errorf("Get() after reopen = %+v, %v; want voicemail on", got, err)
	}
	if s.Path() != path {
		t.Errorf("Path() = %q; want %q", s.Path(), path)
	}
}

func TestOpen_Locked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "phonelock.db")
	openTestPath(t, path, newFakeClock())

	for _, readOnly := range []bool{false, true} {
		start := time.Now()
		s, err := Open(path, Options{ReadOnly: readOnly})
		elapsed := time.Since(start)

		if !errors.Is(err, ErrLocked) {
			if s != nil {
				_ = s.Close()
			}
			t.Fatalf("second Open(readOnly=%v) error = %v; want ErrLocked", readOnly, err)
		}
		if elapsed > 1500*time.Millisecond {
			t.Errorf("second Open(readOnly=%v) took %v; want about 1s", readOnly, elapsed)
		}
		for _, want := range []string{path, "in use", "--server"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %q", err, want)
			}
		}
	}
}

func TestOpen_LockReleasedByClose(t *testing.T) {
	path := filepath.Join(t.TempDir(), "phonelock.db")
	first := openTestPath(t, path, newFakeClock())
	if err := first.Close(); err != nil {
		t.Fatalf("Close() error = %v", err)
	}

	openTestPath(t, path, newFakeClock())
}

func TestOpen_ReadOnly(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.db")
	if _, err := Open(missing, Options{ReadOnly: true}); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open(missing, read-only) error = %v; want os.ErrNotExist", err)
	}
	if _, err := os.Stat(missing); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("read-only Open created %s", missing)
	}

	path := filepath.Join(dir, "phonelock.db")
	s := openTestPath(t, path, newFakeClock())
	mustSet(t, s, "100@example.com", Settings{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	// Two readers share the file.
	r1, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("Open(read-only) error = %v", err)
	}
	defer r1.Close()
	r2, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("second Open(read-only) error = %v", err)
	}
	defer r2.Close()

	if _, err := r1.Get("100@example.com"); err != nil {
		t.Errorf("read-only Get() error = %v", err)
	}
	if _, err := r1.Set("200@example.com", Settings{}, testActor); err == nil {
		t.Error("read-only Set() succeeded; want an error")
	}
}

func TestOpen_ReadOnlyEmptyBoltFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "empty.db")
	writeRawBolt(t, path, func(*bolt.Tx) error { return nil })

	s, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("Open(read-only) error = %v", err)
	}
	defer s.Close()

	list, err := s.List()
	if err != nil || len(list) != 0 {
		t.Errorf("List() = %v, %v; want empty", list, err)
	}
	if _, err := s.Get("100@example.com"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get() error = %v; want ErrNotFound", err)
	}
}

func TestOpen_NewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "phonelock.db")
	s := openTestPath(t, path, newFakeClock())
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	updateRawBolt(t, path, func(tx *bolt.Tx) error {
		return tx.Bucket(metaBucket).Put(schemaKey, []byte("7"))
	})

	for _, readOnly := range []bool{false, true} {
		_, err := Open(path, Options{ReadOnly: readOnly})
		if !errors.Is(err, ErrNewerSchema) {
			t.Fatalf("Open(readOnly=%v) error = %v; want ErrNewerSchema", readOnly, err)
		}
		for _, want := range []string{"version 7", "supports 1", "upgrade phonelock"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %q", err, want)
			}
		}
	}
}

func TestOpen_Corrupt(t *testing.T) {
	tests := []struct {
		name  string
		write func(t *testing.T, path string)
	}{
		{"random bytes", func(t *testing.T, path string) {
			writeFile(t, path, randomBytes(64*1024, 1))
		}},
		{"few random bytes", func(t *testing.T, path string) {
			writeFile(t, path, randomBytes(100, 2))
		}},
		{"empty file", func(t *testing.T, path string) {
			writeFile(t, path, nil)
		}},
		{"truncated to half", func(t *testing.T, path string) {
			data := validDatabase(t)
			writeFile(t, path, data[:len(data)/2])
		}},
		{"other bbolt data without schema", func(t *testing.T, path string) {
			writeRawBolt(t, path, func(tx *bolt.Tx) error {
				_, err := tx.CreateBucket([]byte("other"))
				return err
			})
		}},
		{"schema version missing", func(t *testing.T, path string) {
			writeRawBolt(t, path, func(tx *bolt.Tx) error {
				_, err := tx.CreateBucket(metaBucket)
				return err
			})
		}},
		{"schema version unreadable", func(t *testing.T, path string) {
			writeFile(t, path, validDatabase(t))
			updateRawBolt(t, path, func(tx *bolt.Tx) error {
				return tx.Bucket(metaBucket).Put(schemaKey, []byte{0, 0, 0, 1})
			})
		}},
		{"extension record not json", func(t *testing.T, path string) {
			writeFile(t, path, validDatabase(t))
			updateRawBolt(t, path, func(tx *bolt.Tx) error {
				return tx.Bucket(extensionsBucket).Put([]byte("100@example.com"), []byte("{garbage"))
			})
		}},
		{"extension record under another key", func(t *testing.T, path string) {
			writeFile(t, path, validDatabase(t))
			updateRawBolt(t, path, func(tx *bolt.Tx) error {
				return tx.Bucket(extensionsBucket).Put([]byte("999@example.com"), []byte(`{"extension":"1@x"}`))
			})
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "phonelock.db")
			tt.write(t, path)

			// The read-only attempt also shows that the failed writable
			// Open, which may have panicked inside bbolt, released its lock.
			for _, readOnly := range []bool{false, true} {
				s, err := Open(path, Options{ReadOnly: readOnly})
				if !errors.Is(err, ErrCorrupt) {
					if s != nil {
						_ = s.Close()
					}
					t.Fatalf("Open(readOnly=%v) error = %v; want ErrCorrupt", readOnly, err)
				}
				if !strings.Contains(err.Error(), path) {
					t.Errorf("error %q does not name the file", err)
				}
			}
		})
	}
}

// TestStore_OverwrittenPage overwrites each page of a valid database in
// turn with random bytes and checks that every operation either works or
// fails with ErrCorrupt, and never panics.
func TestStore_OverwrittenPage(t *testing.T) {
	valid := validDatabase(t)
	pageSize := os.Getpagesize()
	dir := t.TempDir()

	var corrupt int
	for page := 0; page*pageSize < len(valid); page++ {
		data := append([]byte(nil), valid...)
		copy(data[page*pageSize:(page+1)*pageSize], randomBytes(pageSize, uint64(page)))
		path := filepath.Join(dir, "page.db")
		writeFile(t, path, data)

		errs := exerciseStore(path)
		for _, err := range errs {
			if err == nil {
				continue
			}
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("page %d: error = %v; want nil or ErrCorrupt", page, err)
			}
			corrupt++
			break
		}
	}
	if corrupt == 0 {
		t.Error("no overwritten page was reported as ErrCorrupt")
	}
}

// exerciseStore opens path and runs every kind of operation on it,
// returning the errors in order; it stops at a failed Open.
func exerciseStore(path string) []error {
	s, err := Open(path, Options{Timeout: 100 * time.Millisecond})
	if err != nil {
		return []error{err}
	}
	defer s.Close()

	errs := make([]error, 0, 8)
	_, err = s.Get("150@example.com")
	if errors.Is(err, ErrNotFound) {
		err = nil
	}
	errs = append(errs, err)
	_, _, _, _, err = s.GetPair("10@example.com", "199@example.com")
	errs = append(errs, err)
	_, err = s.List()
	errs = append(errs, err)
	_, err = s.Audit("", 0)
	errs = append(errs, err)
	_, err = s.Audit("120@example.com", 0)
	errs = append(errs, err)
	_, err = s.Set("7777@example.com", Settings{Voicemail: ptr(true)}, testActor)
	errs = append(errs, err)
	_, err = s.SetBlocked("100@example.com", true, testActor)
	if errors.Is(err, ErrNotFound) || errors.Is(err, ErrProtectionOff) {
		err = nil
	}
	errs = append(errs, err)
	errs = append(errs, s.AppendAudit(AuditRecord{Action: "test"}))

	// The admin plane's reads and writes.
	_, err = s.AuditQuery(AuditQuery{Since: time.Unix(0, 0), HideHierarchy: true})
	errs = append(errs, err)
	_, err = s.ExpireBlocks(time.Now(), testActor)
	errs = append(errs, err)
	_, _, _, err = s.Owner("100@example.com")
	errs = append(errs, err)
	_, err = s.Authenticate("pl_0123456789abcdef_AAAA", time.Now())
	if errors.Is(err, ErrUnauthorized) {
		err = nil
	}
	errs = append(errs, err)
	_, err = s.Import([]ImportRow{{ID: "8888@example.com"}}, testActor)
	errs = append(errs, err)
	_, err = s.Backup(io.Discard)
	errs = append(errs, err)
	errs = append(errs, s.Check())
	return errs
}

// validDatabase returns the bytes of a closed database holding a few
// hundred extensions and their audit records, large enough to span many
// pages, and a small hierarchy and a token.
func validDatabase(t *testing.T) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "valid.db")
	s := openTestPath(t, path, newFakeClock())
	hash := testHash(t, "1234")
	for i := range 200 {
		id := strings.Repeat("9", i%5) + strconv.Itoa(100+i) + "@example.com"
		mustSet(t, s, id, Settings{Protection: ptr(i%2 == 0), PasswordHash: hash})
	}
	seedHierarchy(t, s)
	mustCreateToken(t, s, "ops", "admin", time.Time{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func randomBytes(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 42))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// writeRawBolt creates a bbolt file at path whose content fn writes,
// bypassing this package.
func writeRawBolt(t *testing.T, path string, fn func(*bolt.Tx) error) {
	t.Helper()
	updateRawBolt(t, path, fn)
}

// updateRawBolt runs fn in a write transaction on path with a raw bbolt
// handle, bypassing this package's checks.
func updateRawBolt(t *testing.T, path string, fn func(*bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatalf("bolt.Open() error = %v", err)
	}
	if err := db.Update(fn); err != nil {
		t.Fatalf("bolt Update() error = %v", err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestOpen_OlderSchema1File opens a file written before the admin plane's
// buckets existed: read-only it reads them as empty, writable it adds them.
func TestOpen_OlderSchema1File(t *testing.T) {
	path := filepath.Join(t.TempDir(), "phonelock.db")
	writeRawBolt(t, path, func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucket(metaBucket)
		if err != nil {
			return err
		}
		if err := meta.Put(schemaKey, []byte("1")); err != nil {
			return err
		}
		ext, err := tx.CreateBucket(extensionsBucket)
		if err != nil {
			return err
		}
		if _, err := tx.CreateBucket(auditBucket); err != nil {
			return err
		}
		record := `{"extension":"100@a.example","protection":false}`
		return ext.Put([]byte("100@a.example"), []byte(record))
	})

	r, err := Open(path, Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("Open(read-only) error = %v", err)
	}
	sps, err1 := r.ServiceProviders()
	orgs, err2 := r.Organizations()
	users, err3 := r.Users()
	tokens, err4 := r.Tokens()
	count, err5 := r.TokenCount()
	org, _, owners, err6 := r.Owner("100@a.example")
	_, err7 := r.Authenticate("pl_0123456789abcdef_x", time.Now())
	_, err8 := r.OrganizationByID("acme")
	if err := errors.Join(err1, err2, err3, err4, err5, err6, r.Check()); err != nil {
		t.Errorf("read-only reads error = %v", err)
	}
	if len(sps)+len(orgs)+len(users)+len(tokens)+count+len(owners) != 0 || org != "" {
		t.Errorf("read-only reads found something in an older file")
	}
	if !errors.Is(err7, ErrUnauthorized) || !errors.Is(err8, ErrNotFound) {
		t.Errorf("Authenticate() = %v, OrganizationByID() = %v; want ErrUnauthorized, ErrNotFound",
			err7, err8)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}

	s := openTestPath(t, path, newFakeClock())
	seedHierarchy(t, s)
	if org, _, _, err := s.Owner("100@a.example"); org != "acme" || err != nil {
		t.Errorf("Owner() = %q, %v; want acme", org, err)
	}
	if ext, err := s.Get("100@a.example"); err != nil || ext.ID != "100@a.example" {
		t.Errorf("Get() = %+v, %v; want the old extension", ext, err)
	}
}
