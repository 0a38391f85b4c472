package store

import (
	"errors"
	"testing"
	"time"
)

func TestStore_ChangePassword(t *testing.T) {
	s, clock := openTestStore(t)
	const id = "100@example.com"
	_, oldHash := protect(t, s, id, "1234")
	newHash := testHash(t, "98765")
	policy := AttemptPolicy{MaxFailures: 2, Lockout: 10 * time.Minute}

	// A wrong current password counts, and the second one locks out.
	got, res, err := s.ChangePassword(id, oldHash, false, newHash, policy, testActor)
	if err != nil || res != AttemptWrong || got.FailedAttempts != 1 {
		t.Fatalf("wrong current password: %v, %d failures, %v; want wrong, 1", res, got.FailedAttempts, err)
	}
	got, res, err = s.ChangePassword(id, oldHash, false, newHash, policy, testActor)
	if err != nil || res != AttemptLockedOut || !got.LockedOut(clock.Now()) {
		t.Fatalf("second wrong password: %v, %+v, %v; want a lockout", res, got, err)
	}
	// During the lockout even the right one changes nothing.
	_, res, err = s.ChangePassword(id, oldHash, true, newHash, policy, testActor)
	if err != nil || res != AttemptLockedOut {
		t.Fatalf("right password during lockout: %v, %v; want locked_out", res, err)
	}
	if ext, _ := s.Get(id); !CheckPassword(ext.PasswordHash, "1234") {
		t.Fatal("the password changed during a lockout")
	}

	clock.Advance(11 * time.Minute)
	got, res, err = s.ChangePassword(id, oldHash, true, newHash, policy, testActor)
	if err != nil || res != AttemptToggled {
		t.Fatalf("right password: %v, %v", res, err)
	}
	if !CheckPassword(got.PasswordHash, "98765") || CheckPassword(got.PasswordHash, "1234") ||
		got.FailedAttempts != 0 || !got.LockedOutUntil.IsZero() || got.IsBlocked() {
		t.Errorf("after the change: %+v; want the new password only, counters reset, block unchanged", got)
	}

	actions := []string{}
	recs, err := s.Audit(id, 4)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		actions = append(actions, r.Action)
		assertNoSecret(t, r.Detail, newHash, "98765")
	}
	want := []string{"password_change", "password_change_denied_locked_out", "password_change_locked_out", "password_change_wrong_password"}
	if len(actions) != len(want) {
		t.Fatalf("audit actions = %v; want %v", actions, want)
	}
	for i := range want {
		if actions[i] != want[i] {
			t.Errorf("audit actions = %v; want %v", actions, want)
			break
		}
	}
}

func TestStore_ChangePassword_refused(t *testing.T) {
	s, _ := openTestStore(t)
	const id = "100@example.com"
	_, hash := protect(t, s, id, "1234")
	newHash := testHash(t, "5678")
	policy := AttemptPolicy{MaxFailures: 3, Lockout: time.Minute}
	before := auditCount(t, s)

	cases := []struct {
		name    string
		id      string
		checked []byte
		newHash []byte
		want    error
	}{
		{"stale hash", id, testHash(t, "1234"), newHash, ErrStalePassword},
		{"no such extension", "200@example.com", hash, newHash, ErrNotFound},
		{"malformed id", "x", hash, newHash, ErrInvalidID},
		{"not a bcrypt hash", id, hash, []byte("5678"), errNotBcrypt},
	}
	for _, tc := range cases {
		_, _, err := s.ChangePassword(tc.id, tc.checked, true, tc.newHash, policy, testActor)
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: error = %v; want %v", tc.name, err, tc.want)
		}
	}
	if ext, _ := s.Get(id); !CheckPassword(ext.PasswordHash, "1234") {
		t.Error("a refused change changed the password")
	}
	if n := auditCount(t, s); n != before {
		t.Errorf("audit records %d -> %d; refused changes must write nothing", before, n)
	}
}

func TestStore_AuditQuery_Match(t *testing.T) {
	s, _ := openTestStore(t)
	for _, id := range []string{"1@a.example", "2@b.example", "3@a.example"} {
		mustSet(t, s, id, Settings{Voicemail: ptr(true)})
	}
	recs, err := s.AuditQuery(AuditQuery{Limit: 1, Match: func(r AuditRecord) bool {
		return domainOf(r.Extension) == "a.example"
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 || recs[0].Extension != "3@a.example" {
		t.Errorf("Match for a.example, limit 1 = %+v; want the record of 3@a.example", recs)
	}
}

func TestStore_Hierarchy(t *testing.T) {
	s, _ := openTestStore(t)
	if _, err := s.AddServiceProvider(ServiceProvider{ID: "sp1"}, testActor); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddOrganization(Organization{ID: "org1", ServiceProvider: "sp1", Domains: []string{"A.example"}}, testActor); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddUser(User{ID: "u1@org1", Organization: "org1", Extensions: []string{"1@a.example"}}, testActor); err != nil {
		t.Fatal(err)
	}
	h, err := s.Hierarchy()
	if err != nil {
		t.Fatal(err)
	}
	if len(h.ServiceProviders) != 1 || len(h.Organizations) != 1 || len(h.Users) != 1 ||
		h.Organizations[0].Domains[0] != "a.example" || h.Users[0].Extensions[0] != "1@a.example" {
		t.Errorf("Hierarchy() = %+v", h)
	}
}
