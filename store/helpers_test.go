package store

import (
	"bytes"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// fakeClock is a settable clock for Options.Now.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// testActor is the actor of every change made by the tests.
var testActor = Actor{Name: "admin", Source: "cli", Addr: "127.0.0.1:5000"}

// openTestStore opens a fresh store in a temporary directory with a fake
// clock, and closes it when the test ends.
func openTestStore(t *testing.T) (*Store, *fakeClock) {
	t.Helper()
	clock := newFakeClock()
	s := openTestPath(t, filepath.Join(t.TempDir(), "phonelock.db"), clock)
	return s, clock
}

// openTestPath opens the store at path for writing, closing it when the
// test ends.
func openTestPath(t *testing.T, path string, clock *fakeClock) *Store {
	t.Helper()
	s, err := Open(path, Options{Now: clock.Now})
	if err != nil {
		t.Fatalf("Open(%q) error = %v", path, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// testHash returns a bcrypt hash of password at the minimum cost, to keep
// the tests fast.
func testHash(t testing.TB, password string) []byte {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatalf("GenerateFromPassword() error = %v", err)
	}
	return hash
}

func ptr[T any](v T) *T {
	return &v
}

// mustSet applies change to id and fails the test on error.
func mustSet(t testing.TB, s *Store, id string, change Settings) Extension {
	t.Helper()
	ext, err := s.Set(id, change, testActor)
	if err != nil {
		t.Fatalf("Set(%q) error = %v", id, err)
	}
	return ext
}

// protect creates id with protection on and a password, returning the
// extension and its hash.
func protect(t testing.TB, s *Store, id, password string) (Extension, []byte) {
	t.Helper()
	hash := testHash(t, password)
	ext := mustSet(t, s, id, Settings{Protection: ptr(true), PasswordHash: hash})
	return ext, hash
}

// auditCount returns how many audit records the store holds.
func auditCount(t *testing.T, s *Store) int {
	t.Helper()
	records, err := s.Audit("", 1<<20)
	if err != nil {
		t.Fatalf("Audit() error = %v", err)
	}
	return len(records)
}

// assertNoSecret fails the test if text contains the hash or the password.
func assertNoSecret(t *testing.T, text string, hash []byte, password string) {
	t.Helper()
	if len(hash) > 0 && bytes.Contains([]byte(text), hash) {
		t.Errorf("%q contains the password hash", text)
	}
	if password != "" && bytes.Contains([]byte(text), []byte(password)) {
		t.Errorf("%q contains the password", text)
	}
}

// sameNotFound reports whether both errors, or neither, wrap ErrNotFound.
func sameNotFound(a, b error) bool {
	return errors.Is(a, ErrNotFound) == errors.Is(b, ErrNotFound)
}
