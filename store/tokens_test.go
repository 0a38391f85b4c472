package store

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// mustCreateToken creates a token and fails the test on error.
func mustCreateToken(t *testing.T, s *Store, name, role string, expiresAt time.Time) (
	Token, string) {
	t.Helper()
	tok, secret, err := s.CreateToken(name, role, expiresAt, testActor)
	if err != nil {
		t.Fatalf("CreateToken(%q, %q) error = %v", name, role, err)
	}
	return tok, secret
}

func TestStore_CreateToken(t *testing.T) {
	s, clock := openTestStore(t)
	seedHierarchy(t, s)
	now := clock.Now()
	secretShape := regexp.MustCompile(`^pl_([0-9a-f]{16})_[A-Za-z0-9_-]{43}$`)

	tests := []struct {
		name      string
		role      string
		expiresAt time.Time
		wantErr   error
	}{
		{"root", "admin", time.Time{}, nil},
		{"telco ops", "sp:telco", now.Add(time.Hour), nil},
		{"acme it", "org:acme", time.Time{}, nil},
		{"alice", "user:alice@acme", time.Time{}, nil},
		{"ghost", "sp:nope", time.Time{}, ErrNotFound},
		{"ghost", "org:telco", time.Time{}, ErrNotFound},
		{"boss", "boss", time.Time{}, ErrInvalidID},
		{"boss", "Admin", time.Time{}, ErrInvalidID},
		{"empty id", "sp:", time.Time{}, ErrInvalidID},
		{"upper id", "user:Alice@acme", time.Time{}, ErrInvalidID},
		{"", "admin", time.Time{}, ErrInvalidID},
		{strings.Repeat("n", 65), "admin", time.Time{}, ErrInvalidID},
		{"line\nbreak", "admin", time.Time{}, ErrInvalidID},
		{"expired", "admin", now.Add(-time.Second), ErrInvalidTime},
		{"expiring now", "admin", now, ErrInvalidTime},
	}
	for _, tt := range tests {
		tok, secret, err := s.CreateToken(tt.name, tt.role, tt.expiresAt, testActor)
		if tt.wantErr != nil {
			if !errors.Is(err, tt.wantErr) || secret != "" {
				t.Errorf("CreateToken(%q, %q) = %q, %v; want %v", tt.name, tt.role, secret, err, tt.wantErr)
			}
			continue
		}

		want := Token{ID: tok.ID, Name: tt.name, Role: tt.role, CreatedAt: now, ExpiresAt: tt.expiresAt}
		if err != nil || tok != want {
			t.Errorf("CreateToken(%q, %q) = %+v, %v; want %+v", tt.name, tt.role, tok, err, want)
		}
		if m := secretShape.FindStringSubmatch(secret); m == nil || m[1] != tok.ID {
			t.Errorf("secret %q; want pl_%s_ and 43 base64url characters", secret, tok.ID)
		}
	}

	if n, err := s.TokenCount(); n != 4 || err != nil {
		t.Errorf("TokenCount() = %d, %v; want 4", n, err)
	}
}

func TestStore_Authenticate(t *testing.T) {
	s, clock := openTestStore(t)
	now := clock.Now()
	expiring, expiringSecret := mustCreateToken(t, s, "temp", "admin", now.Add(time.Hour))
	revoked, revokedSecret := mustCreateToken(t, s, "gone", "admin", time.Time{})
	if err := s.RevokeToken(revoked.ID, testActor); err != nil {
		t.Fatal(err)
	}
	_, otherSecret := mustCreateToken(t, s, "other", "admin", time.Time{})

	// The secret with one character changed, in the middle and at the
	// end, where base64 has spare bits.
	tampered := replaceByte(expiringSecret, 30)
	tamperedEnd := replaceByte(expiringSecret, len(expiringSecret)-1)
	// The other token's secret under this token's id.
	swapped := expiringSecret[:20] + otherSecret[20:]

	tests := []struct {
		name   string
		secret string
		at     time.Time
		wantID string
	}{
		{"valid", expiringSecret, now, expiring.ID},
		{"valid until the end", expiringSecret, now.Add(time.Hour - time.Nanosecond), expiring.ID},
		{"expired", expiringSecret, now.Add(time.Hour), ""},
		{"revoked", revokedSecret, now, ""},
		{"tampered", tampered, now, ""},
		{"tampered end", tamperedEnd, now, ""},
		{"swapped", swapped, now, ""},
		{"empty", "", now, ""},
		{"no prefix", strings.TrimPrefix(expiringSecret, "pl_"), now, ""},
		{"upper-case id", "pl_" + strings.ToUpper(expiringSecret[3:19]) + expiringSecret[19:], now, ""},
		{"short", expiringSecret[:30], now, ""},
		{"long", expiringSecret + "A", now, ""},
	}
	var refusal string
	for _, tt := range tests {
		tok, err := s.Authenticate(tt.secret, tt.at)
		if tt.wantID != "" {
			if err != nil || tok.ID != tt.wantID {
				t.Errorf("%s: Authenticate() = %+v, %v; want token %s", tt.name, tok, err, tt.wantID)
			}
			continue
		}

		if !errors.Is(err, ErrUnauthorized) || tok != (Token{}) {
			t.Errorf("%s: Authenticate() = %+v, %v; want ErrUnauthorized", tt.name, tok, err)
			continue
		}
		// Every refusal reads the same, so it tells nothing about why.
		if refusal == "" {
			refusal = err.Error()
		}
		if err.Error() != refusal {
			t.Errorf("%s: error %q differs from %q", tt.name, err, refusal)
		}
	}
}

func TestStore_Tokens(t *testing.T) {
	s, clock := openTestStore(t)
	b, _ := mustCreateToken(t, s, "b", "admin", time.Time{})
	a, _ := mustCreateToken(t, s, "a", "admin", time.Time{})
	clock.Advance(time.Second)
	c, _ := mustCreateToken(t, s, "c", "admin", time.Time{})
	if err := s.RevokeToken(b.ID, testActor); err != nil {
		t.Fatal(err)
	}
	if err := s.RevokeToken(b.ID, testActor); err != nil {
		t.Errorf("RevokeToken(revoked) error = %v; want nil", err)
	}
	if err := s.RevokeToken("0123456789abcdef", testActor); !errors.Is(err, ErrNotFound) {
		t.Errorf("RevokeToken(missing) error = %v; want ErrNotFound", err)
	}

	// Same CreatedAt sorts by ID.
	first, second := a, b
	if b.ID < a.ID {
		first, second = b, a
	}
	wantIDs := []string{first.ID, second.ID, c.ID}
	got, err := s.Tokens()
	if err != nil || len(got) != 3 {
		t.Fatalf("Tokens() = %+v, %v; want 3", got, err)
	}
	for i, tok := range got {
		if tok.ID != wantIDs[i] || tok.Revoked != (tok.ID == b.ID) {
			t.Errorf("Tokens()[%d] = %+v; want id %s, revoked only for %s", i, tok, wantIDs[i], b.ID)
		}
	}
	if n, err := s.TokenCount(); n != 2 || err != nil {
		t.Errorf("TokenCount() = %d, %v; want 2", n, err)
	}
}

// TestStore_TokenSecretNotStored looks for the secret, in every form, in
// the raw bytes of the file, the token list and the audit trail.
func TestStore_TokenSecretNotStored(t *testing.T) {
	path := filepath.Join(t.TempDir(), "phonelock.db")
	s := openTestPath(t, path, newFakeClock())
	tok, secret := mustCreateToken(t, s, "ops", "admin", time.Time{})
	if err := s.RevokeToken(tok.ID, testActor); err != nil {
		t.Fatal(err)
	}
	listed, _ := s.Tokens()
	audit, _ := s.Audit("", 0)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	raw, err := base64.RawURLEncoding.DecodeString(secret[20:])
	if err != nil {
		t.Fatal(err)
	}
	file, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	forms := map[string][]byte{
		"secret text":    []byte(secret),
		"base64 secret":  []byte(secret[20:]),
		"raw secret":     raw,
		"standard b64":   []byte(base64.StdEncoding.EncodeToString(raw)),
		"raw secret hex": []byte(hex.EncodeToString(raw)),
	}
	for name, form := range forms {
		if bytes.Contains(file, form) {
			t.Errorf("the database file contains the %s", name)
		}
	}
	if !bytes.Contains(file, []byte(tok.ID)) {
		t.Error("the database file does not hold the token id; is the search blind?")
	}

	for _, v := range []any{listed, audit} {
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(data, []byte(secret[20:])) || bytes.Contains(data, []byte("hash")) {
			t.Errorf("%s holds the secret or a hash", data)
		}
	}
	wantDetail := `id=` + tok.ID + ` name="ops" role=admin`
	if len(audit) != 2 || audit[1].Action != "token_create" || audit[1].Detail != wantDetail ||
		audit[0].Action != "token_revoke" {
		t.Errorf("audit = %+v; want token_create %q, then token_revoke", audit, wantDetail)
	}
}

// replaceByte returns s with the byte at i replaced by another base64url
// character.
func replaceByte(s string, i int) string {
	c := byte('A')
	if s[i] == 'A' {
		c = 'B'
	}
	return s[:i] + string(c) + s[i+1:]
}
