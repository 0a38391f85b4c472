package store

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestExtension_IsBlocked(t *testing.T) {
	tests := []struct {
		protection, blocked, want bool
	}{
		{false, false, false},
		{false, true, false},
		{true, false, false},
		{true, true, true},
	}
	for _, tt := range tests {
		e := Extension{Protection: tt.protection, Blocked: tt.blocked}
		if got := e.IsBlocked(); got != tt.want {
			t.Errorf("Extension{Protection: %v, Blocked: %v}.IsBlocked() = %v; want %v",
				tt.protection, tt.blocked, got, tt.want)
		}
	}
}

func TestExtension_LockedOut(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		until time.Time
		want  bool
	}{
		{time.Time{}, false},
		{now.Add(-time.Second), false},
		{now, false},
		{now.Add(time.Second), true},
	}
	for _, tt := range tests {
		e := Extension{LockedOutUntil: tt.until}
		if got := e.LockedOut(now); got != tt.want {
			t.Errorf("LockedOut(%v) with until %v = %v; want %v", now, tt.until, got, tt.want)
		}
	}
}

func TestStore_Set(t *testing.T) {
	const id = "100@example.com"
	tests := []struct {
		name    string
		before  []Settings // applied first, must succeed
		change  Settings
		wantErr error
		check   func(t *testing.T, got Extension)
	}{
		{
			name:   "creates with everything off",
			change: Settings{},
			check: func(t *testing.T, got Extension) {
				if got.Protection || got.Voicemail || got.PasswordSet() || got.Blocked {
					t.Errorf("got %+v; want everything off", got)
				}
			},
		},
		{
			name:    "protection needs a password",
			change:  Settings{Protection: ptr(true)},
			wantErr: ErrNoPassword,
		},
		{
			name:   "protection with password in one change",
			change: Settings{Protection: ptr(true), PasswordHash: testHash(t, "1234"), Voicemail: ptr(true)},
			check: func(t *testing.T, got Extension) {
				if !got.Protection || !got.PasswordSet() || !got.Voicemail {
					t.Errorf("got %+v; want protection, password and voicemail", got)
				}
			},
		},
		{
			name:   "protection on after the password",
			before: []Settings{{PasswordHash: testHash(t, "1234")}},
			change: Settings{Protection: ptr(true)},
			check: func(t *testing.T, got Extension) {
				if !got.Protection {
					t.Errorf("got %+v; want protection on", got)
				}
			},
		},
		{
			name:    "removing the password of a protected extension",
			before:  []Settings{{Protection: ptr(true), PasswordHash: testHash(t, "1234")}},
			change:  Settings{PasswordHash: []byte{}},
			wantErr: ErrNoPassword,
		},
		{
			name:   "removing the password with protection off",
			before: []Settings{{PasswordHash: testHash(t, "1234")}},
			change: Settings{PasswordHash: []byte{}},
			check: func(t *testing.T, got Extension) {
				if got.PasswordSet() {
					t.Errorf("got %+v; want no password", got)
				}
			},
		},
		{
			name:    "hash that is not bcrypt",
			change:  Settings{PasswordHash: []byte("1234")},
			wantErr: errAny,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := openTestStore(t)
			for _, before := range tt.before {
				mustSet(t, s, id, before)
			}
			wantAudit := auditCount(t, s) + 1
			beforeState, beforeErr := s.Get(id)

			got, err := s.Set(id, tt.change, testActor)

			if tt.wantErr != nil {
				if err == nil || tt.wantErr != errAny && !errors.Is(err, tt.wantErr) {
					t.Fatalf("Set() error = %v; want %v", err, tt.wantErr)
				}
				assertNoSecret(t, err.Error(), tt.change.PasswordHash, "1234")
				after, afterErr := s.Get(id)
				if !sameNotFound(afterErr, beforeErr) || fmt.Sprint(after) != fmt.Sprint(beforeState) {
					t.Errorf("refused Set() changed %+v into %+v", beforeState, after)
				}
				if got := auditCount(t, s); got != wantAudit-1 {
					t.Errorf("audit records after refused Set() = %d; want %d", got, wantAudit-1)
				}
				return
			}
			if err != nil {
				t.Fatalf("Set() error = %v", err)
			}
			tt.check(t, got)
			stored, err := s.Get(id)
			if err != nil || fmt.Sprint(stored) != fmt.Sprint(got) {
				t.Errorf("Get() = %+v, %v; want what Set returned, %+v", stored, err, got)
			}
			if got := auditCount(t, s); got != wantAudit {
				t.Errorf("audit records = %d; want %d", got, wantAudit)
			}
		})
	}
}

// errAny in a test table means any error will do.
var errAny = errors.New("any error")

func TestStore_Set_ProtectionOffClearsBlock(t *testing.T) {
	s, clock := openTestStore(t)
	const id = "100@example.com"
	_, hash := protect(t, s, id, "1234")
	if _, err := s.SetBlocked(id, true, testActor); err != nil {
		t.Fatal(err)
	}
	lockOut(t, s, id, hash)

	got := mustSet(t, s, id, Settings{Protection: ptr(false)})

	if got.Blocked || got.FailedAttempts != 0 || !got.LockedOutUntil.IsZero() || got.IsBlocked() {
		t.Errorf("after protection off got %+v; want unblocked, no failures, no lockout", got)
	}
	if !got.PasswordSet() {
		t.Error("protection off removed the password; want it kept")
	}
	if !got.UpdatedAt.Equal(clock.Now()) {
		t.Errorf("UpdatedAt = %v; want %v", got.UpdatedAt, clock.Now())
	}

	// Switching protection back on must not revive the old block.
	got = mustSet(t, s, id, Settings{Protection: ptr(true)})
	if got.IsBlocked() {
		t.Errorf("after protection on again got %+v; want unblocked", got)
	}
}

func TestStore_Set_PasswordChangeResetsLockout(t *testing.T) {
	s, _ := openTestStore(t)
	const id = "100@example.com"
	_, hash := protect(t, s, id, "1234")
	lockOut(t, s, id, hash)
	policy := AttemptPolicy{MaxFailures: 3, Lockout: time.Hour}
	if _, _, err := s.RecordAttempt(id, hash, false, policy, testActor); err != nil {
		t.Fatal(err)
	}

	got := mustSet(t, s, id, Settings{PasswordHash: testHash(t, "5678")})

	if got.FailedAttempts != 0 || !got.LockedOutUntil.IsZero() {
		t.Errorf("after password change got %+v; want no failures, no lockout", got)
	}
}

func TestStore_Set_SamePasswordKeepsLockout(t *testing.T) {
	s, clock := openTestStore(t)
	const id = "100@example.com"
	_, hash := protect(t, s, id, "1234")
	lockOut(t, s, id, hash)

	got := mustSet(t, s, id, Settings{PasswordHash: hash, Voicemail: ptr(true)})

	if !got.LockedOut(clock.Now()) {
		t.Errorf("got %+v; want still locked out", got)
	}
}

func TestStore_Set_NormalisesID(t *testing.T) {
	s, _ := openTestStore(t)

	got := mustSet(t, s, "100@Example.COM", Settings{})

	if want := "100@example.com"; got.ID != want {
		t.Errorf("ID = %q; want %q", got.ID, want)
	}
	if _, err := s.Get("100@EXAMPLE.com"); err != nil {
		t.Errorf("Get() error = %v", err)
	}
	if _, err := s.Set("100", Settings{}, testActor); !errors.Is(err, ErrInvalidID) {
		t.Errorf("Set(%q) error = %v; want ErrInvalidID", "100", err)
	}
}

func TestStore_SetBlocked(t *testing.T) {
	s, _ := openTestStore(t)
	const id = "100@example.com"

	if _, err := s.SetBlocked(id, true, testActor); !errors.Is(err, ErrNotFound) {
		t.Errorf("SetBlocked(missing) error = %v; want ErrNotFound", err)
	}

	mustSet(t, s, id, Settings{PasswordHash: testHash(t, "1234")})
	records := auditCount(t, s)
	if _, err := s.SetBlocked(id, true, testActor); !errors.Is(err, ErrProtectionOff) {
		t.Errorf("SetBlocked(protection off) error = %v; want ErrProtectionOff", err)
	}
	if got := auditCount(t, s); got != records {
		t.Errorf("audit records after refused block = %d; want %d", got, records)
	}

	mustSet(t, s, id, Settings{Protection: ptr(true)})
	steps := []struct {
		blocked bool
		action  string
	}{
		{true, "block"},
		{true, "block"},
		{false, "unblock"},
		{false, "unblock"},
	}
	for _, step := range steps {
		got, err := s.SetBlocked(id, step.blocked, testActor)
		if err != nil {
			t.Fatalf("SetBlocked(%v) error = %v", step.blocked, err)
		}
		if got.IsBlocked() != step.blocked {
			t.Errorf("SetBlocked(%v) IsBlocked() = %v", step.blocked, got.IsBlocked())
		}
		last, err := s.Audit(id, 1)
		if err != nil || len(last) != 1 || last[0].Action != step.action || last[0].Result != "ok" {
			t.Errorf("last audit record = %+v, %v; want action %q result ok", last, err, step.action)
		}
	}
}

func TestStore_Delete(t *testing.T) {
	s, _ := openTestStore(t)
	const id = "100@example.com"

	if err := s.Delete(id, testActor); !errors.Is(err, ErrNotFound) {
		t.Errorf("Delete(missing) error = %v; want ErrNotFound", err)
	}

	mustSet(t, s, id, Settings{})
	if err := s.Delete(id, testActor); err != nil {
		t.Fatalf("Delete() error = %v", err)
	}
	if _, err := s.Get(id); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get() after Delete error = %v; want ErrNotFound", err)
	}

	records, err := s.Audit(id, 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range records {
		got = append(got, r.Action)
	}
	if want := "delete set"; strings.Join(got, " ") != want {
		t.Errorf("audit actions = %q; want %q", got, want)
	}
}

func TestStore_Get(t *testing.T) {
	s, _ := openTestStore(t)

	if _, err := s.Get("100@example.com"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(missing) error = %v; want ErrNotFound", err)
	}
	if _, err := s.Get("not an id"); !errors.Is(err, ErrInvalidID) {
		t.Errorf("Get(malformed) error = %v; want ErrInvalidID", err)
	}
}

func TestStore_GetPair(t *testing.T) {
	s, _ := openTestStore(t)
	mustSet(t, s, "100@example.com", Settings{Voicemail: ptr(true)})
	mustSet(t, s, "200@example.com", Settings{})

	tests := []struct {
		caller, callee             string
		wantCaller, wantCallee     bool
		wantCallerID, wantCalleeID string
	}{
		{"100@example.com", "200@example.com", true, true, "100@example.com", "200@example.com"},
		{"100@example.com", "300@example.com", true, false, "100@example.com", ""},
		{"300@example.com", "200@example.com", false, true, "", "200@example.com"},
		{"300@example.com", "400@example.com", false, false, "", ""},
		{"", "200@example.com", false, true, "", "200@example.com"},
		{"100@example.com", "", true, false, "100@example.com", ""},
		{"", "", false, false, "", ""},
		{"100@EXAMPLE.com", "200@Example.com", true, true, "100@example.com", "200@example.com"},
		{"not an id", "*11@example.com", false, false, "", ""},
	}
	for _, tt := range tests {
		caller, callee, callerFound, calleeFound, err := s.GetPair(tt.caller, tt.callee)
		if err != nil {
			t.Errorf("GetPair(%q, %q) error = %v", tt.caller, tt.callee, err)
			continue
		}
		if callerFound != tt.wantCaller || calleeFound != tt.wantCallee {
			t.Errorf("GetPair(%q, %q) found = %v, %v; want %v, %v",
				tt.caller, tt.callee, callerFound, calleeFound, tt.wantCaller, tt.wantCallee)
		}
		if caller.ID != tt.wantCallerID || callee.ID != tt.wantCalleeID {
			t.Errorf("GetPair(%q, %q) ids = %q, %q; want %q, %q",
				tt.caller, tt.callee, caller.ID, callee.ID, tt.wantCallerID, tt.wantCalleeID)
		}
	}
}

func TestStore_List(t *testing.T) {
	s, _ := openTestStore(t)
	for _, id := range []string{"300@b.example", "100@b.example", "200@a.example"} {
		mustSet(t, s, id, Settings{})
	}

	list, err := s.List()
	if err != nil {
		t.Fatal(err)
	}

	var got []string
	for _, e := range list {
		got = append(got, e.ID)
	}
	want := "100@b.example 200@a.example 300@b.example"
	if strings.Join(got, " ") != want {
		t.Errorf("List() ids = %q; want %q", got, want)
	}
}

func TestStore_ConcurrentUse(t *testing.T) {
	s, _ := openTestStore(t)
	_, hash := protect(t, s, "100@example.com", "1234")
	policy := AttemptPolicy{MaxFailures: 1000, Lockout: time.Minute}

	var wg sync.WaitGroup
	for i := range 4 {
		wg.Go(func() {
			for range 20 {
				if _, _, _, _, err := s.GetPair("100@example.com", "200@example.com"); err != nil {
					t.Errorf("GetPair() error = %v", err)
				}
				ok := i%2 == 0
				if _, _, err := s.RecordAttempt("100@example.com", hash, ok, policy, testActor); err != nil {
					t.Errorf("RecordAttempt() error = %v", err)
				}
			}
		})
	}
	wg.Wait()

	if got, want := auditCount(t, s), 1+4*20; got != want {
		t.Errorf("audit records = %d; want %d", got, want)
	}
}
