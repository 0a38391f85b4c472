package adminapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/phonelock/phonelock/internal/metrics"
	"github.com/phonelock/phonelock/store"
)

// testServer is the admin API over a fresh store, with an admin token.
type testServer struct {
	*httptest.Server
	svc   *Service
	m     *metrics.Metrics
	token string
}

// newServer serves the admin API over a fresh store.
func newServer(t *testing.T) testServer {
	t.Helper()
	st := openStore(t)
	svc := NewService(st, store.Actor{Name: "test", Source: "cli"})
	m := metrics.New(prometheus.NewRegistry(), "test")
	mux := http.NewServeMux()
	Register(mux, svc, slog.New(slog.NewTextHandler(io.Discard, nil)), m)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	_, secret, err := st.CreateToken("test", "admin", time.Time{}, store.Actor{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	return testServer{Server: srv, svc: svc, m: m, token: secret}
}

// do sends one API request with the token and returns the status and body.
func do(t *testing.T, token, method, url, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestHandler_requests walks every route with good and bad input and
// checks the status, the error code, and that bad input changed nothing.
func TestHandler_requests(t *testing.T) {
	srv := newServer(t)
	svc, m := srv.svc, srv.m
	ext := srv.URL + "/api/v1/extensions/1001@example.com"

	tests := []struct {
		name, method, url, body string
		wantStatus              int
		wantInBody              string
	}{
		{"show missing", "GET", ext, "", 404, `"not_found"`},
		{"protection without password", "PATCH", ext, `{"protection":true}`, 400, `"password_required"`},
		{"bad password", "PATCH", ext, `{"password":"12a"}`, 400, `"invalid_password"`},
		{"unknown field", "PATCH", ext, `{"protect":true}`, 400, `"invalid_body"`},
		{"not json", "PATCH", ext, `protection=on`, 400, `"invalid_body"`},
		{"two objects", "PATCH", ext, `{"voicemail":true}{"password":"4711"}`, 400, `"invalid_body"`},
		{"huge body", "PATCH", ext, `{"password":"` + strings.Repeat("1", 100<<10) + `"}`, 400, `"invalid_body"`},
		{"bad id", "GET", srv.URL + "/api/v1/extensions/no-at-sign", "", 400, `"invalid_extension"`},
		{"create", "PATCH", ext, `{"protection":true,"password":"4711","voicemail":true}`, 200, `"password_set": true`},
		{"block until year one", "POST", ext + "/block", `{"until":"0001-01-01T00:00:00Z"}`, 400, `"invalid_time"`},
		{"block for no time", "POST", ext + "/block", `{"for":"0s"}`, 400, `"invalid_time"`},
		{"block", "POST", ext + "/block", "", 200, `"Currently access to phone is blocked"`},
		{"show", "GET", ext, "", 200, `"blocked": true`},
		{"list", "GET", srv.URL + "/api/v1/extensions", "", 200, `"extension": "1001@example.com"`},
		{"unblock", "POST", ext + "/unblock", "", 200, `"Currently access to phone is unrestricted"`},
		{"wrong method", "PUT", ext, "", 405, ""},
		{"delete", "DELETE", ext, "", 200, `"deleted"`},
		{"delete again", "DELETE", ext, "", 404, `"not_found"`},
	}
	for _, tt := range tests {
		status, body := do(t, srv.token, tt.method, tt.url, tt.body)
		if status != tt.wantStatus || !strings.Contains(body, tt.wantInBody) {
			t.Errorf("%s: %d %s; want %d with %s", tt.name, status, body, tt.wantStatus, tt.wantInBody)
		}
		if strings.Contains(body, "4711") || strings.Contains(body, "$2a$") {
			t.Errorf("%s: answer reveals the password or its hash: %s", tt.name, body)
		}
	}

	if _, err := svc.Show(context.Background(), "1001@example.com"); !errors.Is(err, ErrNotFound) {
		t.Errorf("after delete: %v, want ErrNotFound", err)
	}
	if got := testutil.ToFloat64(m.AdminRequests.WithLabelValues("PATCH /api/v1/extensions/{id}", "400")); got != 6 {
		t.Errorf("PATCH 400 count = %v, want 6", got)
	}
}

// TestClient matches the client against the real handler: every Admin
// method, and error kinds surviving the round trip.
func TestClient(t *testing.T) {
	srv := newServer(t)
	c, err := NewClient(srv.URL, srv.token, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	on, pw := true, "4711"

	if _, err := c.Set(ctx, "1001@example.com", SetRequest{Protection: &on}); !errors.Is(err, ErrInvalid) {
		t.Errorf("protection without password: %v, want ErrInvalid", err)
	}
	v, err := c.Set(ctx, "1001@Example.COM", SetRequest{Protection: &on, Password: &pw})
	if err != nil || v.Extension != "1001@example.com" || !v.PasswordSet {
		t.Fatalf("Set = %+v, %v", v, err)
	}
	if v, err := c.Block(ctx, "1001@example.com", time.Time{}); err != nil || !v.Blocked || v.Status != StatusBlocked {
		t.Errorf("Block = %+v, %v", v, err)
	}
	if vs, err := c.List(ctx); err != nil || len(vs) != 1 {
		t.Errorf("List = %+v, %v", vs, err)
	}
	if v, err := c.Unblock(ctx, "1001@example.com"); err != nil || v.Blocked {
		t.Errorf("Unblock = %+v, %v", v, err)
	}
	if err := c.Delete(ctx, "1001@example.com"); err != nil {
		t.Errorf("Delete: %v", err)
	}
	if _, err := c.Show(ctx, "1001@example.com"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Show after delete: %v, want ErrNotFound", err)
	}

	stranger, _ := NewClient(srv.URL, "pl_0123456789abcdef_"+strings.Repeat("A", 43), time.Second)
	if _, err := stranger.List(ctx); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("unknown token: %v, want ErrUnauthorized", err)
	}
	down, _ := NewClient("http://127.0.0.1:1", srv.token, time.Second)
	if _, err := down.List(ctx); !errors.Is(err, ErrUnavailable) {
		t.Errorf("unreachable daemon: %v, want ErrUnavailable", err)
	}
	if _, err := NewClient("127.0.0.1:8085", srv.token, time.Second); !errors.Is(err, ErrInvalid) {
		t.Errorf("URL without scheme: %v, want ErrInvalid", err)
	}
}

// TestHandler_refusesBrowsers: what a web page could make a browser send is
// refused before it reaches the store.
func TestHandler_refusesBrowsers(t *testing.T) {
	srv := newServer(t)
	svc := srv.svc
	on, pw := true, "4711"
	if _, err := svc.Set(context.Background(), "1001@example.com", SetRequest{Protection: &on, Password: &pw}); err != nil {
		t.Fatal(err)
	}
	block := srv.URL + "/api/v1/extensions/1001@example.com/block"

	tests := []struct {
		name    string
		headers map[string]string
		host    string
	}{
		{"cross-site form post", map[string]string{"Content-Type": "text/plain", "Origin": "http://evil.example"}, ""},
		{"simple request without origin", map[string]string{"Content-Type": "text/plain"}, ""},
		{"dns rebinding", map[string]string{"Content-Type": "application/json"}, "evil.example:8085"},
		{"a type that only starts like JSON", map[string]string{"Content-Type": "application/jsonx"}, ""},
	}
	for _, tt := range tests {
		req, _ := http.NewRequest("POST", block, nil)
		req.Header.Set("Authorization", "Bearer "+srv.token)
		for k, v := range tt.headers {
			req.Header.Set(k, v)
		}
		if tt.host != "" {
			req.Host = tt.host
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", tt.name, resp.StatusCode)
		}
	}
	if v, _ := svc.Show(context.Background(), "1001@example.com"); v.Blocked {
		t.Error("a refused request blocked the extension")
	}

	// JSON with a charset is JSON; HEAD reads like GET.
	req, _ := http.NewRequest("POST", block, nil)
	req.Header.Set("Authorization", "Bearer "+srv.token)
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("block with a charset: %v %v; want 200", resp, err)
	} else {
		resp.Body.Close()
	}
	req, _ = http.NewRequest("HEAD", srv.URL+"/api/v1/extensions/1001@example.com", nil)
	req.Header.Set("Authorization", "Bearer "+srv.token)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("HEAD: %v %v; want 200", resp, err)
	} else {
		resp.Body.Close()
	}
	// but a backup is not copied only to be thrown away
	req, _ = http.NewRequest("HEAD", srv.URL+"/api/v1/db/backup", nil)
	req.Header.Set("Authorization", "Bearer "+srv.token)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != http.StatusMethodNotAllowed ||
		resp.Header.Get("Allow") != "GET" {
		t.Errorf("HEAD of a backup: %v %v; want 405, Allow: GET", resp, err)
	} else {
		resp.Body.Close()
	}
}

// TestHandler_tokensDoNotOutliveTheirMaker: a token made with an expiring
// token expires with it at the latest, so a short-lived token cannot make
// itself a lasting one.
func TestHandler_tokensDoNotOutliveTheirMaker(t *testing.T) {
	srv := newServer(t)
	st := srv.svc.store
	ends := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	_, short, err := st.CreateToken("short", "admin", ends, store.Actor{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	tokens := srv.URL + "/api/v1/tokens"
	at := func(d time.Duration) string { return ends.Add(d).Format(time.RFC3339) }

	status, body := do(t, short, "POST", tokens, `{"name":"inherits","role":"admin"}`)
	if status != 201 || !strings.Contains(body, `"expires_at": "`+at(0)+`"`) {
		t.Errorf("no expiry asked: %d %s; want 201 expiring at %s", status, body, at(0))
	}
	status, body = do(t, short, "POST", tokens, `{"name":"sooner","role":"admin","expires_at":"`+at(-time.Minute)+`"}`)
	if status != 201 || !strings.Contains(body, `"expires_at": "`+at(-time.Minute)+`"`) {
		t.Errorf("a sooner expiry: %d %s; want 201 expiring at %s", status, body, at(-time.Minute))
	}
	before, err := st.Tokens()
	if err != nil {
		t.Fatal(err)
	}
	status, body = do(t, srv.token, "POST", tokens, `{"name":"year one","role":"admin","expires_at":"0001-01-01T00:00:00Z"}`)
	if status != 400 || !strings.Contains(body, `"invalid_time"`) {
		t.Errorf("an expiry at Go's zero time: %d %s; want 400 invalid_time, not a token that never expires", status, body)
	}
	status, body = do(t, short, "POST", tokens, `{"name":"later","role":"admin","expires_at":"`+at(time.Minute)+`"}`)
	if status != 403 || !strings.Contains(body, `"forbidden"`) || !strings.Contains(body, "outlive") {
		t.Errorf("a later expiry: %d %s; want 403 forbidden", status, body)
	}
	if after, err := st.Tokens(); err != nil || len(after) != len(before) {
		t.Errorf("the refused request made a token: %d tokens before, %d after (%v)", len(before), len(after), err)
	}
	// A token that never expires may make one that never expires.
	status, body = do(t, srv.token, "POST", tokens, `{"name":"lasting","role":"admin"}`)
	if status != 201 || strings.Contains(body, "expires_at") {
		t.Errorf("from a lasting token: %d %s; want 201 without expiry", status, body)
	}
}

// TestDecodeImport: the import body is read row by row, refused at the
// first row too many without holding the rest, and otherwise as strict as
// every other body.
func TestDecodeImport(t *testing.T) {
	req := func(body string) *http.Request {
		return httptest.NewRequest("POST", "/api/v1/import", strings.NewReader(body))
	}
	rows, err := decodeImport(req(`{"rows":[{"line":2,"extension":"1@a.example","password":"4711"},{"line":3,"extension":"2@a.example"}]}` + "\n"))
	if err != nil || len(rows) != 2 || rows[0].Extension != "1@a.example" || *rows[0].Password != "4711" || rows[1].Password != nil {
		t.Fatalf("good body: %+v, %v", rows, err)
	}
	for _, body := range []string{
		``, `[]`, `{"rows":{}}`, `{"rows":[],"rows":[]}`, `{"rowz":[]}`, `{"rows":[{"extension":1}]}`,
		`{"rows":[{"extenzion":"1@a.example"}]}`, `{"rows":[]} {}`, `{"rows":[]`, `{"rows":[{}]}x`,
	} {
		if _, err := decodeImport(req(body)); !errors.Is(err, ErrInvalid) {
			t.Errorf("body %q: %v; want invalid", body, err)
		}
	}
	if rows, err := decodeImport(req(`{"rows":[]}`)); err != nil || len(rows) != 0 {
		t.Errorf("no rows: %v, %v", rows, err)
	}

	// A million empty rows: refused at the first too many, having held no
	// more than the most an import may have.
	huge := `{"rows":[{}` + strings.Repeat(`,{}`, 1_000_000) + `]}`
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err = decodeImport(req(huge))
	runtime.ReadMemStats(&after)
	var e *Error
	if !errors.As(err, &e) || e.Code != "too_many_rows" {
		t.Errorf("a million rows: %v; want too_many_rows", err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64<<20 {
		t.Errorf("reading a million rows allocated %d MiB; want them refused before they are held", alloc>>20)
	}
}

// TestHandler_importRefusedBeforeReading: a role that may not import is
// refused before its body is read at all.
func TestHandler_importRefusedBeforeReading(t *testing.T) {
	srv := newServer(t)
	st := srv.svc.store
	mustAdd(t, st)
	_, secret, err := st.CreateToken("u1", "user:u1@org1", time.Time{}, store.Actor{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	status, body := do(t, secret, "POST", srv.URL+"/api/v1/import", `not even JSON`)
	if status != 403 || !strings.Contains(body, `"forbidden"`) {
		t.Errorf("user token import: %d %s; want 403 forbidden before the body is read", status, body)
	}
}

// TestFailure_clientGone: a request whose client went away is answered
// "canceled" and is no error of the daemon's: nothing at error level in
// the log, unlike a real failure.
func TestFailure_clientGone(t *testing.T) {
	var logged strings.Builder
	h := &handler{log: slog.New(slog.NewTextHandler(&logged, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	r := httptest.NewRequest("PATCH", "/api/v1/extensions/1@a.example", nil)

	status, body := h.failure(httptest.NewRecorder(), r, fmt.Errorf("waiting for password work: %w", context.Canceled))
	if b, ok := body.(errorBody); status != http.StatusServiceUnavailable || !ok || b.Error.Code != "canceled" {
		t.Errorf("client gone: %d %+v; want 503 canceled", status, body)
	}
	if strings.Contains(logged.String(), "level=ERROR") {
		t.Errorf("a client going away was logged as an error: %s", logged.String())
	}

	status, body = h.failure(httptest.NewRecorder(), r, errors.New("read tx: input/output error"))
	if b, ok := body.(errorBody); status != http.StatusServiceUnavailable || !ok || b.Error.Code != "internal" ||
		!strings.Contains(logged.String(), "level=ERROR") {
		t.Errorf("a real failure: %d %+v, log %q; want 503 internal, logged as an error", status, body, logged.String())
	}
}

// TestHandler_importTurns: while an import runs, another is refused
// before its rows are read (the body here is not even JSON), with
// Retry-After; an import of a role with one under way is refused, and
// another role's is not held up by it.
func TestHandler_importTurns(t *testing.T) {
	srv := newServer(t)
	st := srv.svc.store
	mustAdd(t, st)
	_, org, err := st.CreateToken("org1", "org:org1", time.Time{}, store.Actor{Name: "test"})
	if err != nil {
		t.Fatal(err)
	}
	post := func(token, body string) (*http.Response, string) {
		req, _ := http.NewRequest("POST", srv.URL+"/api/v1/import", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	good := `{"rows":[{"line":2,"extension":"1@a.example","voicemail":true}]}`

	release, err := srv.svc.passwords.importTurn()
	if err != nil {
		t.Fatal(err)
	}
	resp, body := post(org, "not even JSON")
	if resp.StatusCode != 503 || !strings.Contains(body, `"import_running"`) || resp.Header.Get("Retry-After") != "60" {
		t.Errorf("import while another runs: %d %s, Retry-After %q; want 503 import_running, 60",
			resp.StatusCode, body, resp.Header.Get("Retry-After"))
	}
	release()

	sending, err := srv.svc.passwords.sendingImport("org:org1")
	if err != nil {
		t.Fatal(err)
	}
	if resp, body := post(org, good); resp.StatusCode != 503 || !strings.Contains(body, `"import_running"`) {
		t.Errorf("import while the role has one under way: %d %s; want 503 import_running", resp.StatusCode, body)
	}
	if resp, body := post(srv.token, good); resp.StatusCode != 200 {
		t.Errorf("the admin's import, held up by the org's: %d %s", resp.StatusCode, body)
	}
	sending()
	if resp, body := post(org, good); resp.StatusCode != 200 {
		t.Errorf("the org's import after its turn came back: %d %s", resp.StatusCode, body)
	}
}
