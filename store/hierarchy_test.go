package store

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// seedHierarchy adds the service provider telco with the organization acme
// (domains a.example and b.example) and its user alice, owning
// 100@a.example, and the service provider other with the organization
// beta (domain c.example) and its user bob, owning 100@c.example.
func seedHierarchy(t *testing.T, s *Store) {
	t.Helper()
	for _, sp := range []ServiceProvider{{ID: "telco", Name: "Telco Ltd"}, {ID: "other"}} {
		if _, err := s.AddServiceProvider(sp, testActor); err != nil {
			t.Fatal(err)
		}
	}
	orgs := []Organization{
		{ID: "acme", ServiceProvider: "telco", Domains: []string{"b.example", "A.example"}},
		{ID: "beta", ServiceProvider: "other", Domains: []string{"c.example"}},
	}
	for _, o := range orgs {
		if _, err := s.AddOrganization(o, testActor); err != nil {
			t.Fatal(err)
		}
	}
	users := []User{
		{ID: "alice@acme", Organization: "acme", Extensions: []string{"100@a.example"}},
		{ID: "bob@beta", Organization: "beta", Extensions: []string{"100@c.example"}},
	}
	for _, u := range users {
		if _, err := s.AddUser(u, testActor); err != nil {
			t.Fatal(err)
		}
	}
}

func TestParseName(t *testing.T) {
	tests := []struct {
		in    string
		valid bool
	}{
		{"acme", true},
		{"a.b_c-9", true},
		{strings.Repeat("x", 64), true},
		{"", false},
		{strings.Repeat("x", 65), false},
		{"Acme", false},
		{"ac me", false},
		{"acme:1", false},
		{"ä", false},
	}
	for _, tt := range tests {
		got, err := ParseName(tt.in)
		if tt.valid && (err != nil || got != tt.in) {
			t.Errorf("ParseName(%q) = %q, %v; want it back", tt.in, got, err)
		}
		if !tt.valid && !errors.Is(err, ErrInvalidID) {
			t.Errorf("ParseName(%q) error = %v; want ErrInvalidID", tt.in, err)
		}
	}
}

func TestStore_AddServiceProvider(t *testing.T) {
	s, clock := openTestStore(t)
	got, err := s.AddServiceProvider(ServiceProvider{ID: "telco", Name: "Telco Ltd"}, testActor)
	want := ServiceProvider{ID: "telco", Name: "Telco Ltd", CreatedAt: clock.Now()}
	if err != nil || got != want {
		t.Fatalf("AddServiceProvider() = %+v, %v; want %+v", got, err, want)
	}

	tests := []struct {
		sp      ServiceProvider
		wantErr error
	}{
		{ServiceProvider{ID: "telco"}, ErrExists},
		{ServiceProvider{ID: "Telco"}, ErrInvalidID},
		{ServiceProvider{ID: "x", Name: "tab\there"}, ErrInvalidID},
		{ServiceProvider{ID: "x", Name: strings.Repeat("n", 129)}, ErrInvalidID},
	}
	for _, tt := range tests {
		if _, err := s.AddServiceProvider(tt.sp, testActor); !errors.Is(err, tt.wantErr) {
			t.Errorf("AddServiceProvider(%+v) error = %v; want %v", tt.sp, err, tt.wantErr)
		}
	}

	list, err := s.ServiceProviders()
	if err != nil || len(list) != 1 || list[0] != want {
		t.Errorf("ServiceProviders() = %+v, %v; want only %+v", list, err, want)
	}
}

func TestStore_AddOrganization(t *testing.T) {
	s, _ := openTestStore(t)
	seedHierarchy(t, s)

	got, err := s.OrganizationByID("acme")
	if err != nil || fmt.Sprint(got.Domains) != "[a.example b.example]" ||
		got.ServiceProvider != "telco" {
		t.Errorf("OrganizationByID(acme) = %+v, %v; want domains sorted and lower-cased", got, err)
	}

	tests := []struct {
		name    string
		org     Organization
		wantErr error
		wantMsg string
	}{
		{"id taken", Organization{ID: "acme", ServiceProvider: "telco"}, ErrExists, "acme"},
		{"no such sp", Organization{ID: "x", ServiceProvider: "nope"}, ErrNotFound,
			"service provider nope not found"},
		{"domain taken", Organization{ID: "x", ServiceProvider: "telco",
			Domains: []string{"d.example", "B.EXAMPLE"}}, ErrExists,
			"domain b.example already belongs to organization acme"},
		{"bad domain", Organization{ID: "x", ServiceProvider: "telco",
			Domains: []string{"a_b.example"}}, ErrInvalidID, "a_b.example"},
		{"bad id", Organization{ID: "X", ServiceProvider: "telco"}, ErrInvalidID, "invalid id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.AddOrganization(tt.org, testActor)
			if !errors.Is(err, tt.wantErr) || !strings.Contains(fmt.Sprint(err), tt.wantMsg) {
				t.Errorf("AddOrganization() error = %v; want %v mentioning %q", err, tt.wantErr, tt.wantMsg)
			}
		})
	}

	// The refused "domain taken" claimed d.example before failing; the
	// rollback must have dropped that claim.
	if org, _, _, err := s.Owner("1@d.example"); err != nil || org != "" {
		t.Errorf("Owner(1@d.example) = %q, %v; want no organization", org, err)
	}
	if list, _ := s.Organizations(); len(list) != 2 || list[0].ID != "acme" || list[1].ID != "beta" {
		t.Errorf("Organizations() = %+v; want acme, beta", list)
	}
}

func TestStore_AddUser(t *testing.T) {
	s, _ := openTestStore(t)
	seedHierarchy(t, s)

	got, err := s.AddUser(User{ID: "carol@acme", Organization: "acme",
		Extensions: []string{"200@B.example", "100@a.example", "200@b.example"}}, testActor)
	if err != nil || fmt.Sprint(got.Extensions) != "[100@a.example 200@b.example]" {
		t.Errorf("AddUser(carol) = %+v, %v; want extensions normalised, sorted, once each", got, err)
	}

	tests := []struct {
		name    string
		user    User
		wantErr error
	}{
		{"id taken", User{ID: "alice@acme", Organization: "acme"}, ErrExists},
		{"no such org", User{ID: "x@nope"}, ErrNotFound},
		{"extension of another org", User{ID: "x@acme", Organization: "acme",
			Extensions: []string{"100@c.example"}}, ErrInvalidID},
		{"extension of no org", User{ID: "x@acme", Organization: "acme",
			Extensions: []string{"100@z.example"}}, ErrInvalidID},
		{"malformed extension", User{ID: "x@acme", Organization: "acme",
			Extensions: []string{"100"}}, ErrInvalidID},
		{"no organization in the id", User{ID: "x", Organization: "acme"}, ErrInvalidID},
		{"id of another organization", User{ID: "x@beta", Organization: "acme"}, ErrInvalidID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.AddUser(tt.user, testActor); !errors.Is(err, tt.wantErr) {
				t.Errorf("AddUser() error = %v; want %v", err, tt.wantErr)
			}
		})
	}

	if _, err := s.UserByID("x@acme"); !errors.Is(err, ErrNotFound) {
		t.Errorf("UserByID(x) error = %v; want ErrNotFound", err)
	}
	// Each organization names its users in a space of its own.
	dave, err := s.AddUser(User{ID: "alice@beta"}, testActor)
	if err != nil || dave.Organization != "beta" {
		t.Errorf("AddUser(alice@beta) = %+v, %v; want it added to beta, named by its id", dave, err)
	}
	if list, _ := s.Users(); len(list) != 4 {
		t.Errorf("Users() = %+v; want alice@acme, alice@beta, bob, carol", list)
	}
}

func TestStore_Owner(t *testing.T) {
	s, _ := openTestStore(t)
	seedHierarchy(t, s)
	if _, err := s.AddUser(User{ID: "aaron@acme", Organization: "acme",
		Extensions: []string{"100@a.example", "1000@a.example"}}, testActor); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		ext       string
		wantOrg   string
		wantSP    string
		wantUsers string
	}{
		{"100@A.example", "acme", "telco", "[aaron@acme alice@acme]"},
		{"1000@a.example", "acme", "telco", "[aaron@acme]"},
		{"10@a.example", "acme", "telco", "[]"},
		{"100@b.example", "acme", "telco", "[]"},
		{"100@c.example", "beta", "other", "[bob@beta]"},
		{"100@nobody.example", "", "", "[]"},
	}
	for _, tt := range tests {
		org, sp, users, err := s.Owner(tt.ext)
		if err != nil || org != tt.wantOrg || sp != tt.wantSP || fmt.Sprint(users) != tt.wantUsers {
			t.Errorf("Owner(%q) = %q, %q, %v, %v; want %q, %q, %s",
				tt.ext, org, sp, users, err, tt.wantOrg, tt.wantSP, tt.wantUsers)
		}
	}

	if _, _, _, err := s.Owner("acme"); !errors.Is(err, ErrInvalidID) {
		t.Errorf("Owner(malformed) error = %v; want ErrInvalidID", err)
	}
}

func TestStore_DeleteHierarchy(t *testing.T) {
	s, _ := openTestStore(t)
	seedHierarchy(t, s)
	_, _, err := s.CreateToken("alice's phone", "user:alice@acme", time.Time{}, testActor)
	if err != nil {
		t.Fatal(err)
	}

	// Each step runs on the state the steps before it left.
	steps := []struct {
		name    string
		del     func() error
		wantErr error
	}{
		{"sp with orgs", func() error { return s.DeleteServiceProvider("telco", testActor) }, ErrInUse},
		{"org with users", func() error { return s.DeleteOrganization("acme", testActor) }, ErrInUse},
		{"missing user", func() error { return s.DeleteUser("nope@acme", testActor) }, ErrNotFound},
		{"malformed user", func() error { return s.DeleteUser("No pe", testActor) }, ErrInvalidID},
		{"user", func() error { return s.DeleteUser("alice@acme", testActor) }, nil},
		{"user again", func() error { return s.DeleteUser("alice@acme", testActor) }, ErrNotFound},
		{"sp still with org", func() error {
			return s.DeleteServiceProvider("telco", testActor)
		}, ErrInUse},
		{"org", func() error { return s.DeleteOrganization("acme", testActor) }, nil},
		{"missing org", func() error { return s.DeleteOrganization("acme", testActor) }, ErrNotFound},
		{"sp", func() error { return s.DeleteServiceProvider("telco", testActor) }, nil},
		{"missing sp", func() error { return s.DeleteServiceProvider("telco", testActor) }, ErrNotFound},
	}
	for _, step := range steps {
		if err := step.del(); !errors.Is(err, step.wantErr) || (step.wantErr == nil) != (err == nil) {
			t.Fatalf("%s: error = %v; want %v", step.name, err, step.wantErr)
		}
	}

	// The deleted organization's domains and the deleted user's
	// extensions are free again; the other organization is untouched.
	org, sp, users, err := s.Owner("100@a.example")
	if org != "" || sp != "" || len(users) != 0 || err != nil {
		t.Errorf("Owner(100@a.example) = %q, %q, %v, %v; want nobody", org, sp, users, err)
	}
	if org, _, users, _ := s.Owner("100@c.example"); org != "beta" || fmt.Sprint(users) != "[bob@beta]" {
		t.Errorf("Owner(100@c.example) = %q, %v; want beta, [bob]", org, users)
	}
	if _, err := s.AddServiceProvider(ServiceProvider{ID: "telco"}, testActor); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AddOrganization(Organization{ID: "new", ServiceProvider: "telco",
		Domains: []string{"a.example"}}, testActor); err != nil {
		t.Errorf("AddOrganization(freed domain) error = %v", err)
	}

	// alice's token died with her and stays dead under a new alice.
	tokens, err := s.Tokens()
	if err != nil || len(tokens) != 1 || !tokens[0].Revoked {
		t.Errorf("Tokens() = %+v, %v; want alice's token revoked", tokens, err)
	}
}

func TestStore_HierarchyAudit(t *testing.T) {
	s, _ := openTestStore(t)
	seedHierarchy(t, s)
	if err := s.DeleteUser("bob@beta", testActor); err != nil {
		t.Fatal(err)
	}

	records, err := s.Audit("", 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range slices.Backward(records) {
		if r.Extension != "" || r.Result != "ok" || r.Actor != testActor.Name {
			t.Errorf("record %+v; want no extension, result ok, actor %s", r, testActor.Name)
		}
		got = append(got, r.Action+" "+r.Detail)
	}
	want := []string{
		`sp_add sp=telco name="Telco Ltd"`,
		`sp_add sp=other name=""`,
		`org_add org=acme sp=telco domains=a.example,b.example name=""`,
		`org_add org=beta sp=other domains=c.example name=""`,
		`user_add user=alice@acme org=acme extensions=100@a.example name=""`,
		`user_add user=bob@beta org=beta extensions=100@c.example name=""`,
		`user_delete user=bob@beta`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("audit =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
