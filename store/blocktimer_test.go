package store

import (
	"errors"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

func TestExtension_IsBlockedAt(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		protection, blocked bool
		until               time.Time
		want                bool
	}{
		{false, true, time.Time{}, false},
		{true, false, time.Time{}, false},
		{true, true, time.Time{}, true},
		{true, true, now.Add(time.Second), true},
		{true, true, now, false},
		{true, true, now.Add(-time.Second), false},
		{false, true, now.Add(time.Second), false},
	}
	for _, tt := range tests {
		e := Extension{Protection: tt.protection, Blocked: tt.blocked, BlockedUntil: tt.until}
		if got := e.IsBlockedAt(now); got != tt.want {
			t.Errorf("%+v.IsBlockedAt(now) = %v; want %v", e, got, tt.want)
		}
	}

	// IsBlocked reads the real clock.
	e := Extension{Protection: true, Blocked: true, BlockedUntil: time.Now().Add(-time.Second)}
	if e.IsBlocked() {
		t.Error("IsBlocked() = true for a timer that ended; want false")
	}
}

func TestStore_BlockUntil(t *testing.T) {
	s, clock := openTestStore(t)
	protect(t, s, "100@example.com", "1234")
	mustSet(t, s, "200@example.com", Settings{})
	now := clock.Now()

	tests := []struct {
		name    string
		id      string
		until   time.Time
		wantErr error
	}{
		{"now", "100@example.com", now, ErrInvalidTime},
		{"past", "100@example.com", now.Add(-time.Hour), ErrInvalidTime},
		{"missing", "300@example.com", now.Add(time.Hour), ErrNotFound},
		{"protection off", "200@example.com", now.Add(time.Hour), ErrProtectionOff},
		{"malformed", "300", now.Add(time.Hour), ErrInvalidID},
	}
	before := auditCount(t, s)
	for _, tt := range tests {
		if _, err := s.BlockUntil(tt.id, tt.until, testActor); !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: BlockUntil() error = %v; want %v", tt.name, err, tt.wantErr)
		}
	}
	if got := auditCount(t, s); got != before {
		t.Errorf("refused BlockUntil calls wrote %d audit records", got-before)
	}

	until := time.Date(2025, 3, 14, 12, 0, 0, 0, time.FixedZone("CET", 3600))
	got, err := s.BlockUntil("100@example.com", until, testActor)
	if err != nil || !got.Blocked || !got.BlockedUntil.Equal(until) || !got.IsBlockedAt(now) {
		t.Fatalf("BlockUntil() = %+v, %v; want blocked until %v", got, err, until)
	}
	last, _ := s.Audit("100@example.com", 1)
	if last[0].Action != "block" || last[0].Detail != "until=2025-03-14T11:00:00Z" {
		t.Errorf("audit = %+v; want block until=2025-03-14T11:00:00Z", last[0])
	}
}

func TestStore_BlockUntil_ClearedByChanges(t *testing.T) {
	s, clock := openTestStore(t)
	const id = "100@example.com"
	protect(t, s, id, "1234")

	changes := []struct {
		name   string
		change func() (Extension, error)
	}{
		{"block", func() (Extension, error) { return s.SetBlocked(id, true, testActor) }},
		{"unblock", func() (Extension, error) { return s.SetBlocked(id, false, testActor) }},
		{"protection off", func() (Extension, error) {
			return s.Set(id, Settings{Protection: ptr(false)}, testActor)
		}},
	}
	for _, c := range changes {
		mustSet(t, s, id, Settings{Protection: ptr(true)})
		if _, err := s.BlockUntil(id, clock.Now().Add(time.Hour), testActor); err != nil {
			t.Fatal(err)
		}
		got, err := c.change()
		if err != nil || !got.BlockedUntil.IsZero() {
			t.Errorf("%s: got %+v, %v; want the timer cleared", c.name, got, err)
		}
	}
}

// TestStore_BlockUntil_ExpiresAcrossReopen blocks an extension for an hour,
// closes the store, and opens it again after the hour: the extension reads
// as unblocked at once, and ExpireBlocks clears its flag.
func TestStore_BlockUntil_ExpiresAcrossReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "phonelock.db")
	clock := newFakeClock()
	s := openTestPath(t, path, clock)
	const id = "100@example.com"
	protect(t, s, id, "1234")
	until := clock.Now().Add(time.Hour)
	if _, err := s.BlockUntil(id, until, testActor); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	clock.Advance(time.Hour)
	s = openTestPath(t, path, clock)
	_, callee, _, found, err := s.GetPair("", id)
	if err != nil || !found || !callee.BlockedUntil.Equal(until) || callee.IsBlockedAt(clock.Now()) {
		t.Fatalf("GetPair() after reopen = %+v, %v; want the timer kept and ended", callee, err)
	}

	timer := Actor{Name: "timer", Source: "daemon"}
	for _, want := range []int{1, 0} {
		if n, err := s.ExpireBlocks(clock.Now(), timer); n != want || err != nil {
			t.Errorf("ExpireBlocks() = %d, %v; want %d", n, err, want)
		}
	}
	got, err := s.Get(id)
	if err != nil || got.Blocked || !got.BlockedUntil.IsZero() || !got.UpdatedAt.Equal(clock.Now()) {
		t.Errorf("Get() = %+v, %v; want unblocked, no timer, updated now", got, err)
	}
	last, _ := s.Audit(id, 1)
	if last[0].Action != "timer_unblock" || last[0].Actor != "timer" ||
		last[0].Detail != "until="+until.Format(time.RFC3339) {
		t.Errorf("audit = %+v; want timer_unblock by timer", last[0])
	}
}

func TestStore_ExpireBlocks(t *testing.T) {
	s, clock := openTestStore(t)
	now := clock.Now()
	hash := testHash(t, "1234")

	// 1,203 extensions, written in one transaction to keep the test fast:
	// every third blocked with a timer that ended, every third with one
	// still running, every third blocked without a timer. The due ones
	// span three of ExpireBlocks' transactions.
	const n = 1203
	err := s.update(func(tx *bolt.Tx) error {
		for i := range n {
			ext := Extension{ID: strconv.Itoa(i) + "@example.com", Protection: true,
				PasswordHash: hash, Blocked: true}
			switch i % 3 {
			case 0:
				ext.BlockedUntil = now.Add(-time.Duration(i) * time.Second)
			case 1:
				ext.BlockedUntil = now.Add(time.Second)
			}
			if err := putExtension(tx, ext); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	got, err := s.ExpireBlocks(now, Actor{Name: "timer"})
	if err != nil || got != n/3 {
		t.Fatalf("ExpireBlocks() = %d, %v; want %d", got, err, n/3)
	}
	list, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	for _, ext := range list {
		i, _ := strconv.Atoi(ext.ID[:len(ext.ID)-len("@example.com")])
		wantBlocked, wantTimer := i%3 != 0, i%3 == 1
		if ext.Blocked != wantBlocked || ext.BlockedUntil.IsZero() == wantTimer {
			t.Fatalf("extension %d = %+v; want blocked %v, timer only if running", i, ext, wantBlocked)
		}
	}
	if got := auditCount(t, s); got != n/3 {
		t.Errorf("audit holds %d records; want %d", got, n/3)
	}
}
