package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// The role fixture: two service providers with an organization each, a
// domain no organization owns, an extension in each domain, and users.
const (
	extA = "100@a.example" // org1's, owned by user u1
	extB = "200@b.example" // org2's, owned by user u2
	extC = "300@c.example" // in a domain no organization owns: the administrator's alone
)

// fixtureExts are the extensions of the role fixture and their passwords.
var fixtureExts = map[string]string{extA: "1111", extB: "2222", extC: "3333"}

// roleFixture is a running daemon set up with the hierarchy, and a token
// secret for each role.
type roleFixture struct {
	d      *daemon
	tokens map[string]string // role -> secret
}

func newRoleFixture(t *testing.T) *roleFixture {
	t.Helper()
	d := startDaemon(t, newDB(t))
	f := &roleFixture{d: d, tokens: map[string]string{"admin": d.adminToken()}}
	for _, args := range [][]string{
		{"sp", "add", "sp1", "--name", "First Provider"},
		{"sp", "add", "sp2"},
		{"sp", "add", "spx"},
		{"org", "add", "org1", "--sp", "sp1", "--domain", "a.example"},
		{"org", "add", "org2", "--sp", "sp2", "--domain", "b.example"},
		{"org", "add", "orgx", "--sp", "sp1", "--domain", "x.example"},
		{"user", "add", "u1@org1", "--ext", extA},
		{"user", "add", "v1@org1", "--ext", "101@a.example"},
		{"user", "add", "u2@org2", "--ext", extB},
		{"user", "add", "v2@org2"},
	} {
		d.mustAdmin("", args...)
	}
	for ext := range fixtureExts {
		f.restoreExt(t, ext)
	}
	for _, role := range []string{"sp:sp1", "org:org1", "user:u1@org1"} {
		f.tokens[role] = f.createToken(t, role, role+" token")
	}
	return f
}

// createToken makes a token with the admin command and returns its secret.
func (f *roleFixture) createToken(t *testing.T, role, name string, extra ...string) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "token")
	f.d.mustAdmin("", append([]string{"token", "create", "--role", role, "--name", name, "--out", out}, extra...)...)
	info, err := os.Stat(out)
	if err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("token file: %v, mode %v; want 0600", err, info)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

// restoreExt puts a fixture extension back as it starts: protected with
// its password, voicemail on, unblocked, no failed attempts.
func (f *roleFixture) restoreExt(t *testing.T, ext string) {
	t.Helper()
	f.admin(t, "PATCH", "/api/v1/extensions/"+ext,
		fmt.Sprintf(`{"protection":true,"voicemail":true,"password":%q}`, fixtureExts[ext]))
	f.admin(t, "POST", "/api/v1/extensions/"+ext+"/unblock", "")
	f.admin(t, "POST", "/api/v1/extensions/"+ext+"/reset-attempts", "")
}

// api sends one request to the admin API as FreeSWITCH's operator would,
// with the token secret (none when ""), and returns the status and body.
func (f *roleFixture) api(t *testing.T, token, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+f.d.httpAddr+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(data)
}

// admin sends a request with the admin token that must succeed.
func (f *roleFixture) admin(t *testing.T, method, path, body string) string {
	t.Helper()
	status, out := f.api(t, f.tokens["admin"], method, path, body)
	if status/100 != 2 {
		t.Fatalf("admin %s %s: %d %s", method, path, status, out)
	}
	return out
}

// snapshot is the whole state a request could change, as the admin sees
// it: every extension, the hierarchy without creation times, and the
// tokens in force. The audit trail is left out: refusals are not audited,
// but every change is.
func (f *roleFixture) snapshot(t *testing.T) string {
	t.Helper()
	var parts []string
	for _, path := range []string{"/api/v1/extensions", "/api/v1/service-providers",
		"/api/v1/organizations", "/api/v1/users", "/api/v1/tokens"} {
		var records []map[string]any
		if err := json.Unmarshal([]byte(f.admin(t, "GET", path, "")), &records); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		for _, r := range records {
			if r["revoked"] == true {
				continue
			}
			delete(r, "created_at")
			b, _ := json.Marshal(r)
			parts = append(parts, path+" "+string(b))
		}
	}
	return strings.Join(parts, "\n")
}

// matrixCase is one request by one role, and what must come of it.
type matrixCase struct {
	role   string // a key of roleFixture.tokens
	method string
	path   string
	body   string
	status int
	code   string // the API error code, for refusals

	// setup, when set, prepares the state the request needs and may
	// return a path suffix (a token id) naming what it made.
	setup func(t *testing.T, f *roleFixture) string
	// undo, for an allowed change, puts the state back; answer is the
	// request's answer.
	undo func(t *testing.T, f *roleFixture, answer string)
	// teardown, when set, undoes setup, whatever the answer was.
	teardown func(t *testing.T, f *roleFixture, suffix string)
	// check, when set, checks an allowed request's answer.
	check func(t *testing.T, f *roleFixture, answer string)
	// reads marks an allowed request that changes nothing.
	reads bool
	// hidden marks an allowed change the snapshot cannot show (a new
	// password): check must prove it instead.
	hidden bool
}

// TestRoles_matrix walks every admin API route for every role, inside and
// outside its scope, through the built daemon. Every refusal must give
// its status and code and change nothing; every allowed change must
// change something and is undone; out of scope must answer exactly like
// a missing record.
func TestRoles_matrix(t *testing.T) {
	f := newRoleFixture(t)
	base := f.snapshot(t)

	var cases []matrixCase
	for _, role := range []string{"admin", "sp:sp1", "org:org1", "user:u1@org1"} {
		cases = append(cases, extensionCases(role)...)
		cases = append(cases, hierarchyCases(role)...)
		cases = append(cases, tokenCases(role)...)
		cases = append(cases, recordCases(role)...)
	}

	for _, c := range cases {
		name := fmt.Sprintf("%s %s %s", c.role, c.method, c.path)
		t.Run(name, func(t *testing.T) {
			path, suffix := c.path, ""
			if c.setup != nil {
				suffix = c.setup(t, f)
				path += suffix
			}
			before := f.snapshot(t)
			status, answer := f.api(t, f.tokens[c.role], c.method, path, c.body)
			if status != c.status {
				t.Fatalf("status %d (%s); want %d", status, answer, c.status)
			}
			if c.code != "" && !strings.Contains(answer, `"code": "`+c.code+`"`) {
				t.Errorf("answer %s; want code %q", answer, c.code)
			}
			if status == http.StatusNotFound || status == http.StatusForbidden {
				// The same request about things that do not exist must get
				// the very same answer, but for the names.
				tStatus, tAnswer := f.api(t, f.tokens[c.role], c.method, toMissing.Replace(path), toMissing.Replace(c.body))
				if tStatus != status || fromMissing.Replace(tAnswer) != answer {
					t.Errorf("answer %d %s; about things that do not exist: %d %s", status, answer, tStatus, tAnswer)
				}
			}
			after := f.snapshot(t)
			switch {
			case status/100 != 2 || c.reads || c.hidden:
				if after != before {
					t.Errorf("the state changed:\nbefore:\n%s\nafter:\n%s", before, after)
				}
			case after == before:
				t.Errorf("allowed, but nothing changed: %s", answer)
			}
			if status/100 == 2 && c.check != nil {
				c.check(t, f, answer)
			}
			if status/100 == 2 && c.undo != nil {
				c.undo(t, f, answer)
			}
			if c.teardown != nil {
				c.teardown(t, f, suffix)
			}
			if now := f.snapshot(t); now != base {
				t.Fatalf("the fixture was not restored:\nwant:\n%s\ngot:\n%s", base, now)
			}
		})
	}
}

// toMissing renames everything outside the scope of the roles but the
// admin's to things that do not exist; fromMissing names them back.
var (
	toMissing = strings.NewReplacer("u2@org2", "u9@org9", "v2@org2", "v9@org9", "org2", "org9", "sp2", "sp9",
		extB, "299@b.example", extC, "399@c.example")
	fromMissing = strings.NewReplacer("u9@org9", "u2@org2", "v9@org9", "v2@org2", "org9", "org2", "sp9", "sp2",
		"299@b.example", extB, "399@c.example", extC)
)

// by returns the status the role gets: admin, sp and org get manager,
// the user gets user.
func by(role string, manager, user int) int {
	if role == "user:u1@org1" {
		return user
	}
	return manager
}

func restore(ext string) func(*testing.T, *roleFixture, string) {
	return func(t *testing.T, f *roleFixture, _ string) { f.restoreExt(t, ext) }
}

// extensionCases are the extension routes: on extA, in every role's scope,
// and on extB and extC, outside every role's but the admin's.
func extensionCases(role string) []matrixCase {
	user := role == "user:u1@org1"
	var cases []matrixCase
	for _, ext := range []string{extA, extB, extC} {
		p := "/api/v1/extensions/" + ext
		in := ext == extA || role == "admin"
		// scoped is the answer of a route the role may use: allowed in
		// its scope, not found outside it.
		scoped := func(allowed int) (int, string) {
			if in {
				return allowed, ""
			}
			return http.StatusNotFound, "not_found"
		}
		// managerOnly is scoped, but a user gets 403 in and out of scope
		// alike, so that the answer says nothing about what exists.
		managerOnly := func(allowed int) (int, string) {
			if user {
				return http.StatusForbidden, "forbidden"
			}
			return scoped(allowed)
		}
		restoreExt := restore(ext)
		teardown := func(t *testing.T, f *roleFixture, _ string) { f.restoreExt(t, ext) }
		add := func(c matrixCase, status int, code string) {
			c.role, c.status, c.code = role, status, code
			cases = append(cases, c)
		}

		status, code := scoped(200)
		add(matrixCase{method: "GET", path: p, reads: true,
			check: func(t *testing.T, _ *roleFixture, answer string) {
				if !strings.Contains(answer, `"extension": "`+ext+`"`) || strings.Contains(answer, fixtureExts[ext]) {
					t.Errorf("show %s: %s", ext, answer)
				}
			}}, status, code)
		add(matrixCase{method: "POST", path: p + "/block", body: `{"for":"1h"}`, undo: restoreExt}, status, code)
		add(matrixCase{method: "POST", path: p + "/unblock", undo: restoreExt, teardown: teardown,
			setup: func(t *testing.T, f *roleFixture) string {
				f.admin(t, "POST", p+"/block", "")
				return ""
			}}, status, code)

		// A user may change its password only, giving the current one.
		if user && in {
			status, code = http.StatusForbidden, "forbidden"
		}
		add(matrixCase{method: "PATCH", path: p, body: `{"voicemail":false}`, undo: restoreExt}, status, code)
		if user && in {
			status, code = http.StatusBadRequest, "current_password_required"
		}
		add(matrixCase{method: "PATCH", path: p, body: `{"password":"98765"}`, undo: restoreExt, hidden: true,
			check: func(t *testing.T, f *roleFixture, _ string) {
				// The new password is the current one now.
				status, answer := f.api(t, f.tokens["admin"], "PATCH", p, `{"current_password":"98765","password":"98765"}`)
				if status != http.StatusOK {
					t.Errorf("the new password is not in force: %d %s", status, answer)
				}
			}}, status, code)

		status, code = managerOnly(200)
		add(matrixCase{method: "POST", path: p + "/reset-attempts", undo: restoreExt, teardown: teardown,
			setup: func(t *testing.T, f *roleFixture) string {
				// A wrong current password counts as a failed attempt.
				status, answer := f.api(t, f.tokens["admin"], "PATCH", p, `{"current_password":"000000","password":"4444"}`)
				if status != http.StatusForbidden || !strings.Contains(answer, "wrong_password") {
					t.Fatalf("wrong current password: %d %s", status, answer)
				}
				return ""
			}}, status, code)
		add(matrixCase{method: "DELETE", path: p, undo: restoreExt}, status, code)

		// An import outside the scope is bad input for that token: import
		// creates, so there is no missing record to answer with.
		if !user && !in {
			status, code = http.StatusBadRequest, "invalid_row"
		}
		add(matrixCase{method: "POST", path: "/api/v1/import", undo: restoreExt,
			body: fmt.Sprintf(`{"rows":[{"line":2,"extension":%q,"voicemail":false}]}`, ext)}, status, code)
	}

	want := []string{extA}
	if role == "admin" {
		want = []string{extA, extB, extC}
	}
	cases = append(cases, matrixCase{role: role, method: "GET", path: "/api/v1/extensions", status: 200, reads: true,
		check: func(t *testing.T, _ *roleFixture, answer string) {
			if got := fieldValues(t, answer, "extension"); !slices.Equal(got, want) {
				t.Errorf("listed %v; want %v", got, want)
			}
		}})
	return cases
}

// hierarchyCases are the service provider, organization and user routes.
func hierarchyCases(role string) []matrixCase {
	admin := role == "admin"
	only := func(allowed int, kinds ...string) int {
		if slices.Contains(kinds, role) || admin {
			return allowed
		}
		return http.StatusForbidden
	}
	// inOrOut is the status of a route the role may use, on a record in
	// its scope (allowed) or outside it (404).
	inOrOut := func(in bool, allowed int, kinds ...string) int {
		s := only(allowed, kinds...)
		if s == allowed && !in && !admin {
			return http.StatusNotFound
		}
		return s
	}
	spReaders := []string{"sp:sp1"}
	orgReaders := []string{"sp:sp1", "org:org1"}
	managers := []string{"sp:sp1", "org:org1"}

	lists := map[string][]string{ // path -> what each role sees
		"/api/v1/service-providers": map[string][]string{"admin": {"sp1", "sp2", "spx"}, "sp:sp1": {"sp1"}}[role],
		"/api/v1/organizations": map[string][]string{"admin": {"org1", "org2", "orgx"},
			"sp:sp1": {"org1", "orgx"}, "org:org1": {"org1"}}[role],
		"/api/v1/users": map[string][]string{"admin": {"u1@org1", "u2@org2", "v1@org1", "v2@org2"},
			"sp:sp1": {"u1@org1", "v1@org1"}, "org:org1": {"u1@org1", "v1@org1"}}[role],
	}
	readers := map[string][]string{"/api/v1/service-providers": spReaders,
		"/api/v1/organizations": orgReaders, "/api/v1/users": managers}

	var cases []matrixCase
	for path, want := range lists {
		cases = append(cases, matrixCase{role: role, method: "GET", path: path,
			status: only(200, readers[path]...), reads: true,
			check: func(t *testing.T, _ *roleFixture, answer string) {
				if got := fieldValues(t, answer, "id"); !slices.Equal(got, want) {
					t.Errorf("listed %v; want %v", got, want)
				}
			}})
	}

	del := func(path string) func(*testing.T, *roleFixture, string) {
		return func(t *testing.T, f *roleFixture, _ string) { f.admin(t, "DELETE", path, "") }
	}
	add := func(path, body string) func(*testing.T, *roleFixture, string) {
		return func(t *testing.T, f *roleFixture, _ string) { f.admin(t, "POST", path, body) }
	}
	cases = append(cases,
		// Service providers: the admin's to add and delete.
		matrixCase{role: role, method: "GET", path: "/api/v1/service-providers/sp1", status: only(200, spReaders...), reads: true},
		matrixCase{role: role, method: "GET", path: "/api/v1/service-providers/sp2", status: inOrOut(false, 200, spReaders...), reads: true},
		matrixCase{role: role, method: "POST", path: "/api/v1/service-providers", body: `{"id":"spnew"}`,
			status: only(201), undo: del("/api/v1/service-providers/spnew")},
		matrixCase{role: role, method: "DELETE", path: "/api/v1/service-providers/spx",
			status: only(200), undo: add("/api/v1/service-providers", `{"id":"spx"}`)},

		// Organizations: the admin's to add and delete, since they claim
		// domains.
		matrixCase{role: role, method: "GET", path: "/api/v1/organizations/org1", status: only(200, orgReaders...), reads: true},
		matrixCase{role: role, method: "GET", path: "/api/v1/organizations/org2", status: inOrOut(false, 200, orgReaders...), reads: true},
		matrixCase{role: role, method: "POST", path: "/api/v1/organizations",
			body:   `{"id":"orgnew","service_provider":"sp1","domains":["c.example"]}`,
			status: only(201), undo: del("/api/v1/organizations/orgnew")},
		matrixCase{role: role, method: "DELETE", path: "/api/v1/organizations/orgx", status: only(200),
			undo: add("/api/v1/organizations", `{"id":"orgx","service_provider":"sp1","domains":["x.example"]}`)},

		// Users: managed within an organization in scope.
		matrixCase{role: role, method: "GET", path: "/api/v1/users/u1@org1", status: only(200, managers...), reads: true},
		matrixCase{role: role, method: "GET", path: "/api/v1/users/u2@org2", status: inOrOut(false, 200, managers...), reads: true},
		matrixCase{role: role, method: "POST", path: "/api/v1/users",
			body:   `{"id":"unew@org1","extensions":["102@a.example"]}`,
			status: only(201, managers...), undo: del("/api/v1/users/unew@org1")},
		matrixCase{role: role, method: "POST", path: "/api/v1/users",
			body:   `{"id":"unew@org2","organization":"org2","extensions":["202@b.example"]}`,
			status: inOrOut(false, 201, managers...), undo: del("/api/v1/users/unew@org2")},
		// A name taken in another organization is free in this one, and
		// an id naming another organization is refused as malformed, so
		// adding a user tells nothing about other organizations.
		matrixCase{role: role, method: "POST", path: "/api/v1/users", body: `{"id":"u2@org1"}`,
			status: only(201, managers...), undo: del("/api/v1/users/u2@org1")},
		matrixCase{role: role, method: "POST", path: "/api/v1/users", body: `{"id":"u2@org2","organization":"org1"}`,
			status: only(400, managers...), code: map[bool]string{true: "invalid_id"}[role != "user:u1@org1"]},
		matrixCase{role: role, method: "DELETE", path: "/api/v1/users/v1@org1", status: only(200, managers...),
			undo: add("/api/v1/users", `{"id":"v1@org1","extensions":["101@a.example"]}`)},
		matrixCase{role: role, method: "DELETE", path: "/api/v1/users/v2@org2", status: inOrOut(false, 200, managers...),
			undo: add("/api/v1/users", `{"id":"v2@org2"}`)},
	)
	for i := range cases {
		switch cases[i].status {
		case http.StatusNotFound:
			cases[i].code = "not_found"
		case http.StatusForbidden:
			cases[i].code = "forbidden"
		}
	}
	return cases
}

// tokenCases are the token routes and whoami.
func tokenCases(role string) []matrixCase {
	managers := []string{"admin", "sp:sp1", "org:org1"}
	manager := slices.Contains(managers, role)
	status := func(allowed int, inScope bool) (int, string) {
		switch {
		case !manager:
			return http.StatusForbidden, "forbidden"
		case !inScope && role != "admin":
			return http.StatusNotFound, "not_found"
		}
		return allowed, ""
	}
	victim := func(victimRole string) func(*testing.T, *roleFixture) string {
		return func(t *testing.T, f *roleFixture) string {
			var made struct {
				Token struct{ ID string } `json:"token"`
			}
			body := fmt.Sprintf(`{"name":"victim","role":%q}`, victimRole)
			if err := json.Unmarshal([]byte(f.admin(t, "POST", "/api/v1/tokens", body)), &made); err != nil {
				t.Fatal(err)
			}
			return made.Token.ID
		}
	}
	// Revoking a revoked token succeeds, so this is safe either way.
	revokeVictim := func(t *testing.T, f *roleFixture, id string) { f.admin(t, "DELETE", "/api/v1/tokens/"+id, "") }
	revokeMade := func(t *testing.T, f *roleFixture, answer string) {
		var made struct {
			Token struct{ ID string } `json:"token"`
		}
		if err := json.Unmarshal([]byte(answer), &made); err != nil {
			t.Fatal(err)
		}
		f.admin(t, "DELETE", "/api/v1/tokens/"+made.Token.ID, "")
	}

	var cases []matrixCase
	s, code := status(200, true)
	cases = append(cases, matrixCase{role: role, method: "GET", path: "/api/v1/tokens", status: s, code: code, reads: true,
		check: func(t *testing.T, _ *roleFixture, answer string) {
			want := map[string][]string{
				"admin":    {"admin", "org:org1", "sp:sp1", "user:u1@org1"},
				"sp:sp1":   {"org:org1", "sp:sp1", "user:u1@org1"},
				"org:org1": {"org:org1", "user:u1@org1"},
			}[role]
			var tokens []struct {
				Role    string
				Revoked bool
			}
			if err := json.Unmarshal([]byte(answer), &tokens); err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, tok := range tokens {
				if !tok.Revoked {
					got = append(got, tok.Role)
				}
			}
			slices.Sort(got)
			if got = slices.Compact(got); !slices.Equal(got, want) {
				t.Errorf("roles of the tokens in force %v; want %v", got, want)
			}
			if strings.Contains(answer, "pl_") || strings.Contains(answer, "hash") {
				t.Errorf("token list shows a secret or a hash: %s", answer)
			}
		}})
	for _, tc := range []struct {
		target  string
		inScope bool
	}{{"org:org1", true}, {"user:u1@org1", true}, {"org:org2", false}, {"user:u2@org2", false}, {"sp:sp2", false}} {
		s, code := status(201, tc.inScope)
		revokeStatus, revokeCode := status(200, tc.inScope)
		cases = append(cases,
			matrixCase{role: role, method: "POST", path: "/api/v1/tokens",
				body:   fmt.Sprintf(`{"name":"made","role":%q}`, tc.target),
				status: s, code: code, undo: revokeMade,
				check: func(t *testing.T, _ *roleFixture, answer string) {
					if !strings.Contains(answer, `"secret": "pl_`) {
						t.Errorf("a new token's answer must hold its secret: %s", answer)
					}
				}},
			matrixCase{role: role, method: "DELETE", path: "/api/v1/tokens/",
				status: revokeStatus, code: revokeCode, setup: victim(tc.target), teardown: revokeVictim},
		)
	}
	adminStatus, adminCode := http.StatusForbidden, "forbidden"
	if role == "admin" {
		adminStatus, adminCode = 201, ""
	}
	cases = append(cases,
		matrixCase{role: role, method: "POST", path: "/api/v1/tokens", body: `{"name":"made","role":"admin"}`,
			status: adminStatus, code: adminCode, undo: revokeMade},
		matrixCase{role: role, method: "GET", path: "/api/v1/whoami", status: 200, reads: true,
			check: func(t *testing.T, _ *roleFixture, answer string) {
				if !strings.Contains(answer, `"role": "`+role+`"`) {
					t.Errorf("whoami: %s; want role %s", answer, role)
				}
			}},
	)
	return cases
}

// recordCases are the audit and database routes.
func recordCases(role string) []matrixCase {
	adminOnly := func() (int, string) {
		if role == "admin" {
			return 200, ""
		}
		return http.StatusForbidden, "forbidden"
	}
	auditStatus, auditCode := 200, ""
	if role == "user:u1@org1" {
		auditStatus, auditCode = http.StatusForbidden, "forbidden"
	}
	s, code := adminOnly()
	return []matrixCase{
		{role: role, method: "GET", path: "/api/v1/audit?limit=10000", status: auditStatus, code: auditCode, reads: true,
			check: func(t *testing.T, _ *roleFixture, answer string) {
				exts := fieldValues(t, answer, "extension")
				if role == "admin" {
					if !slices.Contains(exts, extB) || !slices.Contains(exts, "") {
						t.Errorf("the admin's audit lacks %s or the hierarchy's records: %v", extB, exts)
					}
					return
				}
				for _, e := range exts {
					if !strings.HasSuffix(e, "@a.example") {
						t.Errorf("%s sees an audit record of %q", role, e)
					}
				}
				if !slices.Contains(exts, extA) {
					t.Errorf("%s does not see the audit of %s", role, extA)
				}
			}},
		{role: role, method: "GET", path: "/api/v1/audit?extension=" + extB, status: auditStatus, code: auditCode, reads: true,
			check: func(t *testing.T, _ *roleFixture, answer string) {
				if n := len(fieldValues(t, answer, "extension")); (n == 0) == (role == "admin") {
					t.Errorf("%s sees %d audit records of %s", role, n, extB)
				}
			}},
		{role: role, method: "GET", path: "/api/v1/db/stats", status: s, code: code, reads: true},
		{role: role, method: "POST", path: "/api/v1/db/check", status: s, code: code, reads: true},
		{role: role, method: "GET", path: "/api/v1/db/backup", status: s, code: code, reads: true},
	}
}

// fieldValues returns the string field name of every object in a JSON
// array, in order.
func fieldValues(t *testing.T, answer, name string) []string {
	t.Helper()
	var records []map[string]any
	if err := json.Unmarshal([]byte(answer), &records); err != nil {
		t.Fatalf("answer is not a JSON array: %v: %s", err, answer)
	}
	values := []string{}
	for _, r := range records {
		v, _ := r[name].(string)
		values = append(values, v)
	}
	return values
}

// TestRoles_unauthorized: without a valid token, every route answers 401
// with the same body, whatever is wrong with the token.
func TestRoles_unauthorized(t *testing.T) {
	f := newRoleFixture(t)
	revoked := f.createToken(t, "org:org1", "soon revoked")
	var list []struct{ ID, Name string }
	if err := json.Unmarshal([]byte(f.admin(t, "GET", "/api/v1/tokens", "")), &list); err != nil {
		t.Fatal(err)
	}
	for _, tok := range list {
		if tok.Name == "soon revoked" {
			f.admin(t, "DELETE", "/api/v1/tokens/"+tok.ID, "")
		}
	}
	expired := f.createToken(t, "admin", "short", "--for", "2s")
	time.Sleep(2100 * time.Millisecond)
	good := f.tokens["admin"]
	i := len(good) - 10 // a character of the secret, not of the id
	forged := good[:i] + map[bool]string{true: "B", false: "A"}[good[i] == 'A'] + good[i+1:]
	base := f.snapshot(t)

	tokens := map[string]string{
		"none":      "",
		"malformed": "letmein",
		"forged":    forged,
		"revoked":   revoked,
		"expired":   expired,
	}
	routes := [][2]string{
		{"GET", "/api/v1/whoami"}, {"GET", "/api/v1/extensions"}, {"GET", "/api/v1/extensions/" + extA},
		{"PATCH", "/api/v1/extensions/" + extA}, {"POST", "/api/v1/extensions/" + extA + "/block"},
		{"POST", "/api/v1/extensions/" + extA + "/unblock"}, {"DELETE", "/api/v1/extensions/" + extA},
		{"POST", "/api/v1/extensions/" + extA + "/reset-attempts"}, {"POST", "/api/v1/import"},
		{"GET", "/api/v1/audit"}, {"GET", "/api/v1/db/stats"}, {"POST", "/api/v1/db/check"},
		{"GET", "/api/v1/db/backup"},
		{"GET", "/api/v1/service-providers"}, {"POST", "/api/v1/service-providers"},
		{"GET", "/api/v1/service-providers/sp1"}, {"DELETE", "/api/v1/service-providers/spx"},
		{"GET", "/api/v1/organizations"}, {"POST", "/api/v1/organizations"},
		{"GET", "/api/v1/organizations/org1"}, {"DELETE", "/api/v1/organizations/orgx"},
		{"GET", "/api/v1/users"}, {"POST", "/api/v1/users"},
		{"GET", "/api/v1/users/u1@org1"}, {"DELETE", "/api/v1/users/v1@org1"},
		{"GET", "/api/v1/tokens"}, {"POST", "/api/v1/tokens"}, {"DELETE", "/api/v1/tokens/0123456789abcdef"},
	}
	var first string
	for what, token := range tokens {
		for _, r := range routes {
			status, answer := f.api(t, token, r[0], r[1], `{"voicemail":false}`)
			if status != http.StatusUnauthorized {
				t.Errorf("%s token, %s %s: %d %s; want 401", what, r[0], r[1], status, answer)
			}
			if first == "" {
				first = answer
			}
			if answer != first {
				t.Errorf("%s token, %s %s: answer %s differs from %s", what, r[0], r[1], answer, first)
			}
		}
	}
	if !strings.Contains(first, `"code": "unauthorized"`) {
		t.Errorf("401 answer %s; want code unauthorized", first)
	}
	if now := f.snapshot(t); now != base {
		t.Errorf("requests without a valid token changed the state:\n%s\n%s", base, now)
	}
}
