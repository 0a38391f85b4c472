package store

import (
	"errors"
	"path/filepath"
	"testing"
	"time"
)

// lockOut makes wrong *11 attempts on id until it is locked out, with a
// policy of 3 failures and an hour's lockout.
func lockOut(t *testing.T, s *Store, id string, hash []byte) {
	t.Helper()
	policy := AttemptPolicy{MaxFailures: 3, Lockout: time.Hour}
	for range policy.MaxFailures {
		if _, _, err := s.RecordAttempt(id, hash, false, policy, testActor); err != nil {
			t.Fatalf("RecordAttempt() error = %v", err)
		}
	}
}

func TestStore_RecordAttempt_Toggles(t *testing.T) {
	s, _ := openTestStore(t)
	const id = "100@example.com"
	_, hash := protect(t, s, id, "1234")
	policy := AttemptPolicy{MaxFailures: 3, Lockout: time.Hour}
	phone := Actor{Name: "phone", Source: "phone", Addr: "sofia/internal/100@example.com"}

	steps := []struct {
		wantBlocked bool
		wantAction  string
	}{
		{true, "star11_block"},
		{false, "star11_unblock"},
		{true, "star11_block"},
	}
	for _, step := range steps {
		got, result, err := s.RecordAttempt(id, hash, true, policy, phone)
		if err != nil {
			t.Fatalf("RecordAttempt() error = %v", err)
		}
		if result != AttemptToggled || got.IsBlocked() != step.wantBlocked {
			t.Errorf("RecordAttempt() = blocked %v, %v; want blocked %v, %v",
				got.IsBlocked(), result, step.wantBlocked, AttemptToggled)
		}

		last, err := s.Audit(id, 1)
		if err != nil || len(last) != 1 {
			t.Fatalf("Audit() = %v, %v", last, err)
		}
		want := AuditRecord{Action: step.wantAction, Actor: "phone", Source: "phone",
			Addr: phone.Addr, Result: "ok", Extension: id}
		if got := last[0]; got.Action != want.Action || got.Actor != want.Actor ||
			got.Source != want.Source || got.Addr != want.Addr || got.Result != want.Result ||
			got.Extension != want.Extension {
			t.Errorf("audit record = %+v; want %+v", got, want)
		}
	}
}

func TestStore_RecordAttempt_CountsAndLocksOut(t *testing.T) {
	s, clock := openTestStore(t)
	const id = "100@example.com"
	_, hash := protect(t, s, id, "1234")
	policy := AttemptPolicy{MaxFailures: 3, Lockout: 15 * time.Minute}

	steps := []struct {
		wantResult   AttemptResult
		wantFailures int
		wantAction   string
		wantOutcome  string
	}{
		{AttemptWrong, 1, "star11_wrong_password", "wrong_password"},
		{AttemptWrong, 2, "star11_wrong_password", "wrong_password"},
		{AttemptLockedOut, 0, "star11_locked_out", "locked_out"},
	}
	for i, step := range steps {
		got, result, err := s.RecordAttempt(id, hash, false, policy, testActor)
		if err != nil {
			t.Fatalf("attempt %d: RecordAttempt() error = %v", i+1, err)
		}
		if result != step.wantResult || got.FailedAttempts != step.wantFailures {
			t.Errorf("attempt %d: got %v with %d failures; want %v with %d",
				i+1, result, got.FailedAttempts, step.wantResult, step.wantFailures)
		}
		last, err := s.Audit(id, 1)
		if err != nil || last[0].Action != step.wantAction || last[0].Result != step.wantOutcome {
			t.Errorf("attempt %d: audit = %+v, %v; want %s/%s",
				i+1, last, err, step.wantAction, step.wantOutcome)
		}
	}

	got, err := s.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	if want := clock.Now().Add(15 * time.Minute); !got.LockedOutUntil.Equal(want) {
		t.Errorf("LockedOutUntil = %v; want %v", got.LockedOutUntil, want)
	}
	if !got.LockedOut(clock.Now()) || got.LockedOut(clock.Now().Add(15*time.Minute)) {
		t.Errorf("LockedOut() wrong around %v", got.LockedOutUntil)
	}
	if got.IsBlocked() {
		t.Error("wrong passwords blocked the extension")
	}
}

func TestStore_RecordAttempt_RightPasswordResetsCount(t *testing.T) {
	s, _ := openTestStore(t)
	const id = "100@example.com"
	_, hash := protect(t, s, id, "1234")
	policy := AttemptPolicy{MaxFailures: 3, Lockout: time.Hour}
	for _, ok := range []bool{false, false, true, false, false} {
		if _, _, err := s.RecordAttempt(id, hash, ok, policy, testActor); err != nil {
			t.Fatal(err)
		}
	}

	got, err := s.Get(id)
	if err != nil {
		t.Fatal(err)
	}
	if got.FailedAttempts != 2 || !got.LockedOutUntil.IsZero() {
		t.Errorf("got %d failures, locked out until %v; want 2, none",
			got.FailedAttempts, got.LockedOutUntil)
	}
}

func TestStore_RecordAttempt_LockoutSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "phonelock.db")
	clock := newFakeClock()
	s := openTestPath(t, path, clock)
	const id = "100@example.com"
	_, hash := protect(t, s, id, "1234")
	lockOut(t, s, id, hash)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	clock.Advance(59 * time.Minute)
	s = openTestPath(t, path, clock)
	got, err := s.Get(id)
	if err != nil {
		t.Fatal(err)
	}

	if !got.LockedOut(clock.Now()) {
		t.Errorf("after reopen got %+v; want locked out at %v", got, clock.Now())
	}
}

func TestStore_RecordAttempt_Refused(t *testing.T) {
	const id = "100@example.com"
	policy := AttemptPolicy{MaxFailures: 3, Lockout: time.Hour}
	tests := []struct {
		name    string
		prepare func(t *testing.T, s *Store) (checkedHash []byte)
		policy  AttemptPolicy
		wantErr error
	}{
		{
			name: "password changed meanwhile",
			prepare: func(t *testing.T, s *Store) []byte {
				_, old := protect(t, s, id, "1234")
				mustSet(t, s, id, Settings{PasswordHash: testHash(t, "5678")})
				return old
			},
			policy:  policy,
			wantErr: ErrStalePassword,
		},
		{
			name: "password removed meanwhile",
			prepare: func(t *testing.T, s *Store) []byte {
				_, old := protect(t, s, id, "1234")
				mustSet(t, s, id, Settings{Protection: ptr(false), PasswordHash: []byte{}})
				return old
			},
			policy:  policy,
			wantErr: ErrStalePassword,
		},
		{
			name: "protection switched off meanwhile",
			prepare: func(t *testing.T, s *Store) []byte {
				_, hash := protect(t, s, id, "1234")
				mustSet(t, s, id, Settings{Protection: ptr(false)})
				return hash
			},
			policy:  policy,
			wantErr: ErrProtectionOff,
		},
		{
			name: "extension deleted meanwhile",
			prepare: func(t *testing.T, s *Store) []byte {
				_, hash := protect(t, s, id, "1234")
				if err := s.Delete(id, testActor); err != nil {
					t.Fatal(err)
				}
				return hash
			},
			policy:  policy,
			wantErr: ErrNotFound,
		},
		{
			name: "no failures allowed",
			prepare: func(t *testing.T, s *Store) []byte {
				_, hash := protect(t, s, id, "1234")
				return hash
			},
			policy:  AttemptPolicy{MaxFailures: 0, Lockout: time.Hour},
			wantErr: errAny,
		},
		{
			name: "negative lockout",
			prepare: func(t *testing.T, s *Store) []byte {
				_, hash := protect(t, s, id, "1234")
				return hash
			},
			policy:  AttemptPolicy{MaxFailures: 3, Lockout: -time.Hour},
			wantErr: errAny,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := openTestStore(t)
			checked := tt.prepare(t, s)
			before, beforeErr := s.Get(id)
			records := auditCount(t, s)

			for _, ok := range []bool{true, false} {
				_, _, err := s.RecordAttempt(id, checked, ok, tt.policy, testActor)

				if err == nil || tt.wantErr != errAny && !errors.Is(err, tt.wantErr) {
					t.Fatalf("RecordAttempt(ok=%v) error = %v; want %v", ok, err, tt.wantErr)
				}
				assertNoSecret(t, err.Error(), checked, "1234")
			}
			after, afterErr := s.Get(id)
			if !sameNotFound(afterErr, beforeErr) || after.Blocked != before.Blocked ||
				after.FailedAttempts != before.FailedAttempts {
				t.Errorf("refused attempts changed %+v into %+v", before, after)
			}
			if got := auditCount(t, s); got != records {
				t.Errorf("audit records = %d; want %d", got, records)
			}
		})
	}
}

func TestAttemptResult_String(t *testing.T) {
	tests := []struct {
		r    AttemptResult
		want string
	}{
		{AttemptToggled, "toggled"},
		{AttemptWrong, "wrong"},
		{AttemptLockedOut, "locked_out"},
		{0, "AttemptResult(0)"},
	}
	for _, tt := range tests {
		if got := tt.r.String(); got != tt.want {
			t.Errorf("AttemptResult(%d).String() = %q; want %q", int(tt.r), got, tt.want)
		}
	}
}

// TestStore_RecordAttempt_duringLockout: once a lockout is in force, even
// the right password from a call that was already in its dialog changes
// nothing.
func TestStore_RecordAttempt_duringLockout(t *testing.T) {
	st, clock := openTestStore(t)
	_, hash := protect(t, st, "1001@example.com", "4711")
	p := AttemptPolicy{MaxFailures: 1, Lockout: time.Minute}
	phone := Actor{Name: "phone", Source: "phone"}
	if _, res, err := st.RecordAttempt("1001@example.com", hash, false, p, phone); err != nil || res != AttemptLockedOut {
		t.Fatalf("wrong password: %v, %v; want AttemptLockedOut", res, err)
	}

	ext, res, err := st.RecordAttempt("1001@example.com", hash, true, p, phone)
	if err != nil || res != AttemptLockedOut {
		t.Fatalf("right password during lockout: %v, %v; want AttemptLockedOut", res, err)
	}
	if ext.Blocked {
		t.Error("the right password during a lockout toggled the block")
	}

	clock.Advance(2 * time.Minute)
	ext, res, err = st.RecordAttempt("1001@example.com", hash, true, p, phone)
	if err != nil || res != AttemptToggled || !ext.Blocked {
		t.Fatalf("after the lockout: %v, %v, blocked %v; want toggled to blocked", res, err, ext.Blocked)
	}
}

// TestStore_RecordAttempt_TimedBlock checks that *11 toggles the block in
// effect, so that an ended timer counts as unblocked, and always clears
// the timer.
func TestStore_RecordAttempt_TimedBlock(t *testing.T) {
	s, clock := openTestStore(t)
	const id = "100@example.com"
	_, hash := protect(t, s, id, "1234")
	policy := AttemptPolicy{MaxFailures: 3, Lockout: time.Hour}

	tests := []struct {
		name        string
		wait        time.Duration
		wantBlocked bool
		wantAction  string
	}{
		{"timer running", 0, false, "star11_unblock"},
		{"timer ended", 2 * time.Hour, true, "star11_block"},
	}
	for _, tt := range tests {
		if _, err := s.BlockUntil(id, clock.Now().Add(time.Hour), testActor); err != nil {
			t.Fatal(err)
		}
		clock.Advance(tt.wait)

		got, result, err := s.RecordAttempt(id, hash, true, policy, testActor)
		if err != nil || result != AttemptToggled {
			t.Fatalf("%s: RecordAttempt() = %v, %v", tt.name, result, err)
		}
		if got.Blocked != tt.wantBlocked || !got.BlockedUntil.IsZero() {
			t.Errorf("%s: got %+v; want blocked %v without timer", tt.name, got, tt.wantBlocked)
		}
		if last, _ := s.Audit(id, 1); last[0].Action != tt.wantAction {
			t.Errorf("%s: audit action %q; want %q", tt.name, last[0].Action, tt.wantAction)
		}
		if _, err := s.SetBlocked(id, false, testActor); err != nil {
			t.Fatal(err)
		}
	}
}

func TestStore_ResetAttempts(t *testing.T) {
	s, clock := openTestStore(t)
	const id = "100@example.com"
	_, hash := protect(t, s, id, "1234")
	policy := AttemptPolicy{MaxFailures: 3, Lockout: time.Hour}

	setups := []struct {
		name  string
		setup func()
	}{
		{"two failures", func() {
			for range 2 {
				if _, _, err := s.RecordAttempt(id, hash, false, policy, testActor); err != nil {
					t.Fatal(err)
				}
			}
		}},
		{"lockout", func() { lockOut(t, s, id, hash) }},
	}
	for _, tt := range setups {
		tt.setup()
		if before, _ := s.Get(id); before.FailedAttempts == 0 && !before.LockedOut(clock.Now()) {
			t.Fatalf("%s: setup left %+v; want failures or a lockout", tt.name, before)
		}

		got, err := s.ResetAttempts("100@EXAMPLE.com", testActor)
		if err != nil || !got.LockedOutUntil.IsZero() || got.FailedAttempts != 0 {
			t.Fatalf("%s: ResetAttempts() = %+v, %v; want no lockout, no failures", tt.name, got, err)
		}
		if stored, _ := s.Get(id); stored.FailedAttempts != 0 || !stored.LockedOutUntil.IsZero() {
			t.Errorf("%s: stored %+v; want the reset kept", tt.name, stored)
		}
		if last, _ := s.Audit(id, 1); last[0].Action != "reset_attempts" || last[0].Result != "ok" {
			t.Errorf("%s: audit = %+v; want reset_attempts ok", tt.name, last[0])
		}
	}

	// The right password works at once.
	if _, result, err := s.RecordAttempt(id, hash, true, policy, testActor); result != AttemptToggled {
		t.Errorf("RecordAttempt() after reset = %v, %v; want toggled", result, err)
	}
	if _, err := s.ResetAttempts("200@example.com", testActor); !errors.Is(err, ErrNotFound) {
		t.Errorf("ResetAttempts(missing) error = %v; want ErrNotFound", err)
	}
}
