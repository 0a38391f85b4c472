package adminapi

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/phonelock/phonelock/store"
)

// The kinds of role a token can have.
const (
	KindAdmin = "admin"
	KindSP    = "sp"
	KindOrg   = "org"
	KindUser  = "user"
)

// Role is what a token stands for: the administrator, or one service
// provider, organization or user of the hierarchy.
type Role struct {
	Kind string // KindAdmin, KindSP, KindOrg or KindUser
	ID   string // the service provider, organization or user; "" for admin
}

// ParseRole reads a role written "admin", "sp:ID", "org:ID" or "user:NAME@ORG".
func ParseRole(s string) (Role, error) {
	if s == KindAdmin {
		return Role{Kind: KindAdmin}, nil
	}
	kind, id, _ := strings.Cut(s, ":")
	if parseNodeID(kind, id) == nil {
		return Role{Kind: kind, ID: id}, nil
	}
	return Role{}, newError(ErrInvalid, "invalid_role", fmt.Sprintf("invalid role %s: want admin, sp:ID, "+
		"org:ID or user:NAME@ORG (ID, NAME, ORG: 1 to 64 of a-z 0-9 . _ -)", store.QuoteInput(s)))
}

// parseNodeID validates the id of a service provider, organization or
// user, by the role kind.
func parseNodeID(kind, id string) error {
	var err error
	switch kind {
	case KindSP, KindOrg:
		_, err = store.ParseName(id)
	case KindUser:
		_, err = store.ParseUserID(id)
	default:
		err = fmt.Errorf("%w: no role kind %s", store.ErrInvalidID, store.QuoteInput(kind))
	}
	return err
}

// String writes the role as ParseRole reads it.
func (r Role) String() string {
	if r.Kind == KindAdmin {
		return KindAdmin
	}
	return r.Kind + ":" + r.ID
}

// AdminRole is the administrator's role, which may do everything. The admin
// command working on the database file directly has it: whoever may open
// the file may change it anyway.
var AdminRole = Role{Kind: KindAdmin}

// scope is the part of the hierarchy one role may see and manage, read at
// one moment. The administrator's scope is everything.
type scope struct {
	role    Role
	all     bool
	sps     map[string]bool // service providers in scope
	orgs    map[string]bool // organizations in scope
	domains map[string]bool // domains whose extensions are in scope
	users   map[string]bool // users in scope
	exts    map[string]bool // single extensions in scope (a user's own)
}

// newScope works out role's scope from the hierarchy h. A role naming a
// service provider, organization or user that no longer exists has an
// empty scope: its tokens were revoked with it, so only a request already
// under way can see it.
func newScope(role Role, h store.Hierarchy) scope {
	sc := scope{role: role, all: role.Kind == KindAdmin,
		sps: map[string]bool{}, orgs: map[string]bool{}, domains: map[string]bool{},
		users: map[string]bool{}, exts: map[string]bool{}}

	switch role.Kind {
	case KindSP:
		for _, sp := range h.ServiceProviders {
			if sp.ID == role.ID {
				sc.sps[sp.ID] = true
			}
		}
		for _, o := range h.Organizations {
			if o.ServiceProvider == role.ID {
				sc.addOrg(o)
			}
		}
	case KindOrg:
		for _, o := range h.Organizations {
			if o.ID == role.ID {
				sc.addOrg(o)
			}
		}
	case KindUser:
		for _, u := range h.Users {
			if u.ID == role.ID {
				sc.users[u.ID] = true
				for _, ext := range u.Extensions {
					sc.exts[ext] = true
				}
			}
		}
		return sc
	}
	for _, u := range h.Users {
		if sc.orgs[u.Organization] {
			sc.users[u.ID] = true
		}
	}
	return sc
}

func (sc scope) addOrg(o store.Organization) {
	sc.orgs[o.ID] = true
	for _, d := range o.Domains {
		sc.domains[d] = true
	}
}

// extension reports whether the normalised extension id is in scope. An
// extension in a domain no organization owns belongs to the
// administrator alone.
func (sc scope) extension(id string) bool {
	_, domain, _ := strings.Cut(id, "@")
	return sc.all || sc.domains[domain] || sc.exts[id]
}

func (sc scope) sp(id string) bool   { return sc.all || sc.sps[id] }
func (sc scope) org(id string) bool  { return sc.all || sc.orgs[id] }
func (sc scope) user(id string) bool { return sc.all || sc.users[id] }

// role reports whether a token of role r would be in scope: a role at or
// below this one in the hierarchy.
func (sc scope) covers(r Role) bool {
	switch r.Kind {
	case KindSP:
		return sc.sp(r.ID)
	case KindOrg:
		return sc.org(r.ID)
	case KindUser:
		return sc.user(r.ID)
	}
	return sc.all
}

// may refuses, with ErrForbidden, a request that the role's kind can never
// make, whatever it names; kinds lists the kinds that may.
func (sc scope) may(what string, kinds ...string) error {
	for _, k := range kinds {
		if sc.role.Kind == k {
			return nil
		}
	}
	return newError(ErrForbidden, "forbidden", fmt.Sprintf("a %s token may not %s", kindName(sc.role.Kind), what))
}

func kindName(kind string) string {
	switch kind {
	case KindSP:
		return "service provider"
	case KindOrg:
		return "organization"
	case KindUser:
		return "user"
	}
	return kind
}

// missing is the answer for something that does not exist, and equally for
// something outside the requester's scope, so that the two cannot be told
// apart.
func missing(kind, id string) *Error {
	return newError(ErrNotFound, "not_found", fmt.Sprintf("%s %s does not exist", kind, id))
}

// missingExtension is missing for an extension.
func missingExtension(id string) *Error { return missing("extension", id) }

// MarshalText writes the role as ParseRole reads it, in JSON too.
func (r Role) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText reads a role written as ParseRole reads it.
func (r *Role) UnmarshalText(text []byte) error {
	role, err := ParseRole(string(text))
	if err != nil {
		return err
	}
	*r = role
	return nil
}

// Principal is who sent an API request: the token it carried.
type Principal struct {
	TokenID   string    `json:"token_id"`
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// errUnauthorized is the answer for every request without a valid token,
// whatever is wrong with it.
var errUnauthorized = newError(ErrUnauthorized, "unauthorized",
	"missing, unknown, revoked or expired token: send Authorization: Bearer <token>")

// Authenticate returns who holds the token whose secret text is secret,
// or an error of kind ErrUnauthorized.
func (s *Service) Authenticate(secret string) (Principal, error) {
	start := s.now()
	tok, err := s.store.Authenticate(secret, start)
	s.observe("authenticate", start, err)
	if errors.Is(err, store.ErrUnauthorized) {
		return Principal{}, errUnauthorized
	}
	if err != nil {
		return Principal{}, storeError("", err)
	}
	role, err := ParseRole(tok.Role)
	if err != nil {
		return Principal{}, errUnauthorized
	}
	return Principal{TokenID: tok.ID, Name: tok.Name, Role: role, ExpiresAt: tok.ExpiresAt}, nil
}
