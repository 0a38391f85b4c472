package adminapi

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/phonelock/phonelock/store"
)

func TestParseRole(t *testing.T) {
	good := map[string]Role{
		"admin":            {Kind: KindAdmin},
		"sp:acme-sp":       {Kind: KindSP, ID: "acme-sp"},
		"org:acme":         {Kind: KindOrg, ID: "acme"},
		"user:a.b_c@org-1": {Kind: KindUser, ID: "a.b_c@org-1"},
	}
	for text, want := range good {
		got, err := ParseRole(text)
		if err != nil || got != want || got.String() != text {
			t.Errorf("ParseRole(%q) = %+v, %v; want %+v", text, got, err, want)
		}
	}
	for _, text := range []string{"", "Admin", "admin:x", "sp", "sp:", "sp:ACME", "root:x", "user:a b", "user:alice", "user:alice@", "user:@acme", "user:alice@Acme", "org:" + strings.Repeat("a", 65)} {
		if _, err := ParseRole(text); !errors.Is(err, ErrInvalid) {
			t.Errorf("ParseRole(%q) error = %v; want ErrInvalid", text, err)
		}
	}

	b, err := json.Marshal(Principal{Name: "n", Role: Role{Kind: KindOrg, ID: "acme"}})
	if err != nil || string(b) != `{"token_id":"","name":"n","role":"org:acme"}` {
		t.Errorf("Principal JSON = %s, %v", b, err)
	}
}

func TestScope(t *testing.T) {
	h := store.Hierarchy{
		ServiceProviders: []store.ServiceProvider{{ID: "sp1"}, {ID: "sp2"}},
		Organizations: []store.Organization{
			{ID: "org1", ServiceProvider: "sp1", Domains: []string{"a.example", "a2.example"}},
			{ID: "org2", ServiceProvider: "sp2", Domains: []string{"b.example"}},
		},
		Users: []store.User{
			{ID: "u1@org1", Organization: "org1", Extensions: []string{"1@a.example"}},
			{ID: "u2@org2", Organization: "org2", Extensions: []string{"2@b.example"}},
		},
	}
	exts := []string{"1@a.example", "9@a2.example", "2@b.example", "3@c.example"}
	tests := []struct {
		role     Role
		wantExts []bool
		covers   map[string]bool
	}{
		{AdminRole, []bool{true, true, true, true},
			map[string]bool{"admin": true, "sp:sp2": true, "org:org2": true, "user:u2@org2": true}},
		{Role{KindSP, "sp1"}, []bool{true, true, false, false},
			map[string]bool{"admin": false, "sp:sp1": true, "sp:sp2": false, "org:org1": true, "org:org2": false, "user:u1@org1": true, "user:u2@org2": false}},
		{Role{KindOrg, "org1"}, []bool{true, true, false, false},
			map[string]bool{"sp:sp1": false, "org:org1": true, "org:org2": false, "user:u1@org1": true, "user:u2@org2": false}},
		{Role{KindUser, "u1@org1"}, []bool{true, false, false, false},
			map[string]bool{"org:org1": false, "user:u1@org1": true, "user:u2@org2": false}},
		{Role{KindOrg, "gone"}, []bool{false, false, false, false},
			map[string]bool{"org:gone": false, "user:u1@org1": false}},
	}
	for _, tt := range tests {
		sc := newScope(tt.role, h)
		if tt.role == AdminRole {
			sc = scope{role: AdminRole, all: true} // as Service.scope makes it
		}
		for i, ext := range exts {
			if got := sc.extension(ext); got != tt.wantExts[i] {
				t.Errorf("%s: extension(%s) = %v; want %v", tt.role, ext, got, tt.wantExts[i])
			}
		}
		for text, want := range tt.covers {
			r, _ := ParseRole(text)
			if got := sc.covers(r); got != want {
				t.Errorf("%s: covers(%s) = %v; want %v", tt.role, text, got, want)
			}
		}
	}
}

// TestService_changePassword: a user's password change needs the current
// password; wrong ones count towards the lockout, and during it even the
// right one is refused.
func TestService_changePassword(t *testing.T) {
	st, admin, user := newOwnerFixture(t)
	ctx := context.Background()
	pw := "4711"

	change := func(current, next string) error {
		_, err := user.Set(ctx, "1@a.example", SetRequest{CurrentPassword: &current, Password: &next})
		return err
	}
	codeOf := func(err error) string {
		var e *Error
		if errors.As(err, &e) {
			return e.Code
		}
		return ""
	}
	if err := change("0000", "5555"); codeOf(err) != "wrong_password" || !errors.Is(err, ErrForbidden) {
		t.Fatalf("first wrong password: %v", err)
	}
	if err := change("0000", "5555"); codeOf(err) != "locked_out" {
		t.Fatalf("second wrong password: %v; want locked_out", err)
	}
	if err := change("4711", "5555"); codeOf(err) != "locked_out" {
		t.Fatalf("right password during the lockout: %v; want locked_out", err)
	}
	if _, err := admin.ResetAttempts(ctx, "1@a.example"); err != nil {
		t.Fatal(err)
	}
	if err := change("4711", "12"); codeOf(err) != "invalid_password" {
		t.Errorf("too short a new password: %v", err)
	}
	if err := change("4711", "5555"); err != nil {
		t.Fatalf("right password: %v", err)
	}
	ext, err := st.Get("1@a.example")
	if err != nil || !store.CheckPassword(ext.PasswordHash, "5555") {
		t.Errorf("the new password is not in force: %v", err)
	}
	if _, err := user.Set(ctx, "1@a.example", SetRequest{Password: &pw}); codeOf(err) != "current_password_required" {
		t.Errorf("no current password: %v", err)
	}
}

// openStore opens a fresh store, closed when the test ends.
func openStore(t *testing.T) *store.Store {
	t.Helper()
	st, err := store.Open(filepath.Join(t.TempDir(), "phonelock.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// newOwnerFixture opens a fresh store holding 1@a.example, protected with
// the password 4711 and owned by u1@org1, and returns it with a Service
// acting as the administrator and one acting for u1@org1, whose lockout
// comes after 2 wrong passwords and lasts an hour.
func newOwnerFixture(t *testing.T) (st *store.Store, admin, user *Service) {
	t.Helper()
	st = openStore(t)
	admin = NewService(st, store.Actor{Name: "test", Source: "cli"})
	on, pw := true, "4711"
	if _, err := admin.Set(context.Background(), "1@a.example", SetRequest{Protection: &on, Password: &pw}); err != nil {
		t.Fatal(err)
	}
	mustAdd(t, st)
	user = admin.WithRole(Role{KindUser, "u1@org1"}).WithLockout(func() store.AttemptPolicy {
		return store.AttemptPolicy{MaxFailures: 2, Lockout: time.Hour}
	})
	return st, admin, user
}

// mustAdd adds sp1 > org1 (a.example) > u1 owning 1@a.example.
func mustAdd(t *testing.T, st *store.Store) {
	t.Helper()
	actor := store.Actor{Name: "test"}
	if _, err := st.AddServiceProvider(store.ServiceProvider{ID: "sp1"}, actor); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddOrganization(store.Organization{ID: "org1", ServiceProvider: "sp1", Domains: []string{"a.example"}}, actor); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AddUser(store.User{ID: "u1@org1", Organization: "org1", Extensions: []string{"1@a.example"}}, actor); err != nil {
		t.Fatal(err)
	}
}
