package store

import (
	"testing"
	"time"
)

func TestStore_Stats(t *testing.T) {
	s, clock := openTestStore(t)
	_, hash := protect(t, s, "1001@example.com", "4711")
	protect(t, s, "1002@example.com", "4712")
	mustSet(t, s, "1003@example.com", Settings{Voicemail: ptr(true)})
	if _, err := s.SetBlocked("1002@example.com", true, testActor); err != nil {
		t.Fatal(err)
	}
	p := AttemptPolicy{MaxFailures: 1, Lockout: time.Hour}
	if _, _, err := s.RecordAttempt("1001@example.com", hash, false, p, testActor); err != nil {
		t.Fatal(err)
	}

	// A timed block that has ended counts as unrestricted.
	protect(t, s, "1004@example.com", "4714")
	until := clock.Now().Add(time.Minute)
	if _, err := s.BlockUntil("1004@example.com", until, testActor); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)

	got, err := s.Stats(clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	size, err := s.FileSize()
	if err != nil || size == 0 {
		t.Fatalf("FileSize() = %d, %v; want the file's size", size, err)
	}
	want := Stats{Blocked: 1, Unrestricted: 2, Unprotected: 1, LockedOut: 1,
		AuditRecords: auditCount(t, s), FileBytes: size}
	if got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
	if err := s.Ping(); err != nil {
		t.Errorf("Ping: %v", err)
	}
}
