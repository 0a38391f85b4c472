package store

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The roles of a token, written "admin" or PREFIX:ID.
const (
	roleAdmin = "admin"
	roleSP    = "sp"
	roleOrg   = "org"
	roleUser  = "user"
)

// Shapes of a token and of its secret text, pl_ID_SECRET.
const (
	tokenPrefix      = "pl_"
	tokenIDBytes     = 8  // 16 hex characters
	tokenSecretBytes = 32 // 43 base64url characters
	maxTokenNameLen  = 64
)

// Token is an admin API credential. Its secret is shown once, by
// CreateToken; the store keeps only the secret's SHA-256 hash, which a
// Token never carries.
type Token struct {
	// ID identifies the token: 16 random hex characters, also part of the
	// secret text.
	ID string `json:"id"`

	// Name is the operator's label: 1 to 64 printable characters.
	Name string `json:"name"`

	// Role is "admin", "sp:ID", "org:ID" or "user:NAME@ORG".
	Role string `json:"role"`

	// CreatedAt is when the token was made, by the Store's clock.
	CreatedAt time.Time `json:"created_at"`

	// ExpiresAt is when the token stops working; zero means never.
	ExpiresAt time.Time `json:"expires_at,omitzero"`

	// Revoked says whether RevokeToken, or deleting the role's service
	// provider, organization or user, ended the token.
	Revoked bool `json:"revoked"`
}

// tokenRecord is a Token as stored, with the hash of its secret.
type tokenRecord struct {
	Token
	Hash []byte `json:"hash"`
}

func (r tokenRecord) key() string { return r.ID }

// CreateToken makes a token with the given name, role and expiry (zero for
// none), with an audit record "token_create", in one committed
// transaction. It returns the token and its secret text,
// "pl_<ID>_<base64url secret>", which is shown this once: only its hash is
// stored.
//
// A malformed name or role returns an error wrapping ErrInvalidID, a role
// naming a missing service provider, organization or user one wrapping
// ErrNotFound, and an expiry not after the Store's clock one wrapping
// ErrInvalidTime.
func (s *Store) CreateToken(name, role string, expiresAt time.Time, actor Actor) (
	Token, string, error) {
	if err := checkLabel("token name", name, 1, maxTokenNameLen); err != nil {
		return Token{}, "", fmt.Errorf("create token: %w", err)
	}
	kind, principal, err := parseRole(role)
	if err != nil {
		return Token{}, "", fmt.Errorf("create token: %w", err)
	}
	secret := make([]byte, tokenSecretBytes)
	if _, err := rand.Read(secret); err != nil {
		return Token{}, "", fmt.Errorf("create token: %w", err)
	}

	var tok Token
	err = s.update(func(tx *bolt.Tx) error {
		now := s.nowUTC()
		if !expiresAt.IsZero() && !expiresAt.After(now) {
			return fmt.Errorf("expiry %s: %w", expiresAt.Format(time.RFC3339), ErrInvalidTime)
		}
		if kind != nil && !hasRecord(tx, *kind, principal) {
			return notFound(kind.kind, principal)
		}
		id, err := newTokenID(tx)
		if err != nil {
			return err
		}

		tok = Token{ID: id, Name: name, Role: role, CreatedAt: now, ExpiresAt: expiresAt.UTC()}
		hash := sha256.Sum256(secret)
		if err := putRecord(tx, tokenTable, tokenRecord{Token: tok, Hash: hash[:]}); err != nil {
			return err
		}
		return appendAudit(tx, now, "", "token_create", actor, "ok", tokenDetail(tok))
	})
	if err != nil {
		return Token{}, "", fmt.Errorf("create token: %w", err)
	}
	return tok, tokenPrefix + tok.ID + "_" + base64.RawURLEncoding.EncodeToString(secret), nil
}

// parseRole validates role and returns the table its id refers to (nil
// for "admin") and the id.
func parseRole(role string) (*table, string, error) {
	if role == roleAdmin {
		return nil, "", nil
	}

	prefix, id, _ := strings.Cut(role, ":")
	var t *table
	switch prefix {
	case roleSP:
		t = &spTable
	case roleOrg:
		t = &orgTable
	case roleUser:
		t = &userTable
	default:
		return nil, "", newKindError(ErrInvalidID,
			"invalid role %s: want admin, sp:ID, org:ID or user:NAME@ORG", QuoteInput(role))
	}
	if err := t.parseID(id); err != nil {
		return nil, "", fmt.Errorf("role %s: %w", QuoteInput(role), err)
	}
	return t, id, nil
}

// newTokenID returns a random token id not yet used in tx.
func newTokenID(tx *bolt.Tx) (string, error) {
	raw := make([]byte, tokenIDBytes)
	for {
		if _, err := rand.Read(raw); err != nil {
			return "", fmt.Errorf("make token id: %w", err)
		}
		if id := hex.EncodeToString(raw); !hasRecord(tx, tokenTable, id) {
			return id, nil
		}
	}
}

// tokenDetail describes tok for the audit trail, without its secret.
func tokenDetail(tok Token) string {
	detail := fmt.Sprintf("id=%s name=%q role=%s", tok.ID, tok.Name, tok.Role)
	if !tok.ExpiresAt.IsZero() {
		detail += " expires=" + tok.ExpiresAt.Format(time.RFC3339)
	}
	return detail
}

// Authenticate returns the token whose secret text is secret, if that
// token exists, is not revoked and has not expired at now. Otherwise it
// returns an error wrapping ErrUnauthorized, the same for all three and
// for malformed text, so that a caller learns nothing about which tokens
// exist. The hashes are compared in constant time. Only a damaged store
// gives another error.
func (s *Store) Authenticate(secret string, now time.Time) (Token, error) {
	id, raw, wellFormed := parseSecret(secret)
	hash := sha256.Sum256(raw)

	var rec tokenRecord
	var found bool
	if wellFormed {
		err := s.view(func(tx *bolt.Tx) error {
			var err error
			rec, found, err = getRecord[tokenRecord](tx, tokenTable, id)
			return err
		})
		if err != nil {
			return Token{}, fmt.Errorf("authenticate: %w", err)
		}
	}

	match := subtle.ConstantTimeCompare(hash[:], rec.Hash) == 1
	expired := !rec.ExpiresAt.IsZero() && !now.Before(rec.ExpiresAt)
	if !wellFormed || !found || !match || rec.Revoked || expired {
		return Token{}, fmt.Errorf("authenticate: %w", ErrUnauthorized)
	}
	return rec.Token, nil
}

// parseSecret splits secret text into the token id and the raw secret,
// reporting whether it has the shape CreateToken gives it.
func parseSecret(text string) (id string, secret []byte, ok bool) {
	rest, found := strings.CutPrefix(text, tokenPrefix)
	if !found || len(rest) < 2*tokenIDBytes+1 || rest[2*tokenIDBytes] != '_' {
		return "", nil, false
	}

	id, encoded := rest[:2*tokenIDBytes], rest[2*tokenIDBytes+1:]
	if _, err := hex.DecodeString(id); err != nil || strings.ToLower(id) != id {
		return "", nil, false
	}
	// Strict refuses spare bits in the last character, so that one secret
	// has one text.
	secret, err := base64.RawURLEncoding.Strict().DecodeString(encoded)
	if err != nil || len(secret) != tokenSecretBytes {
		return "", nil, false
	}
	return id, secret, true
}

// Tokens returns all tokens, revoked and expired ones included, sorted by
// CreatedAt and then ID. They carry no hash.
func (s *Store) Tokens() ([]Token, error) {
	records, err := listTable[tokenRecord](s, tokenTable)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}

	tokens := make([]Token, 0, len(records))
	for _, rec := range records {
		tokens = append(tokens, rec.Token)
	}
	slices.SortFunc(tokens, func(a, b Token) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return tokens, nil
}

// RevokeToken ends the token with the given id, with an audit record
// "token_revoke", in one committed transaction. It returns an error
// wrapping ErrNotFound if there is no such token. Revoking a revoked token
// succeeds and is audited too.
func (s *Store) RevokeToken(id string, actor Actor) error {
	err := s.update(func(tx *bolt.Tx) error {
		rec, found, err := getRecord[tokenRecord](tx, tokenTable, id)
		if err != nil {
			return err
		}
		if !found {
			return notFound(tokenTable.kind, id)
		}
		return revokeToken(tx, rec, s.nowUTC(), actor)
	})
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	return nil
}

// revokeRoleTokens revokes, in tx, the tokens with the given role that are
// not revoked yet.
func revokeRoleTokens(tx *bolt.Tx, role string, now time.Time, actor Actor) error {
	records, err := listRecords[tokenRecord](tx, tokenTable)
	if err != nil {
		return err
	}
	for _, rec := range records {
		if rec.Role != role || rec.Revoked {
			continue
		}
		if err := revokeToken(tx, rec, now, actor); err != nil {
			return err
		}
	}
	return nil
}

// revokeToken marks rec revoked in tx, with its audit record.
func revokeToken(tx *bolt.Tx, rec tokenRecord, now time.Time, actor Actor) error {
	rec.Revoked = true
	if err := putRecord(tx, tokenTable, rec); err != nil {
		return err
	}
	return appendAudit(tx, now, "", "token_revoke", actor, "ok", tokenDetail(rec.Token))
}

// TokenCount returns how many tokens are not revoked, expired ones
// included; none means the daemon should make a first admin token.
func (s *Store) TokenCount() (int, error) {
	records, err := listTable[tokenRecord](s, tokenTable)
	if err != nil {
		return 0, fmt.Errorf("count tokens: %w", err)
	}

	var n int
	for _, rec := range records {
		if !rec.Revoked {
			n++
		}
	}
	return n, nil
}
