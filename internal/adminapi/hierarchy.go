package adminapi

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/phonelock/phonelock/store"
)

// TokenRequest asks for a new token.
type TokenRequest struct {
	Name      string     `json:"name"`
	Role      string     `json:"role"`                 // admin, sp:ID, org:ID or user:NAME@ORG
	ExpiresAt *time.Time `json:"expires_at,omitempty"` // nil for never
}

// NewToken is a token just made, with its secret: the only time the
// secret is shown.
type NewToken struct {
	Token  store.Token `json:"token"`
	Secret string      `json:"secret"`
}

// Who may manage what in the hierarchy. Only the administrator adds and
// deletes service providers and organizations: an organization claims
// domains, and with them every extension in them, so letting anyone else
// add one would let them take extensions that are not theirs.
var (
	spReaders    = []string{KindAdmin, KindSP}
	orgReaders   = []string{KindAdmin, KindSP, KindOrg}
	userManagers = managers
)

// ServiceProviders returns the service providers in the role's scope.
func (s *Service) ServiceProviders(context.Context) ([]store.ServiceProvider, error) {
	return listNodes(s, "list service providers", spReaders, s.store.ServiceProviders,
		func(sc scope, sp store.ServiceProvider) bool { return sc.sp(sp.ID) })
}

// ServiceProvider returns one service provider in the role's scope.
func (s *Service) ServiceProvider(_ context.Context, id string) (store.ServiceProvider, error) {
	return showNode(s, "see service providers", spReaders, KindSP, id,
		s.store.ServiceProviderByID, scope.sp)
}

// AddServiceProvider adds a service provider; only the administrator may.
func (s *Service) AddServiceProvider(_ context.Context, sp store.ServiceProvider) (store.ServiceProvider, error) {
	if err := s.adminOnly("add service providers"); err != nil {
		return store.ServiceProvider{}, err
	}
	out, err := timed(s, "sp_add", func() (store.ServiceProvider, error) { return s.store.AddServiceProvider(sp, s.actor) })
	return out, nodeError(err, "", "")
}

// DeleteServiceProvider deletes a service provider without organizations,
// revoking its tokens; only the administrator may.
func (s *Service) DeleteServiceProvider(_ context.Context, id string) error {
	if err := s.adminOnly("delete service providers"); err != nil {
		return err
	}
	_, err := timed(s, "sp_delete", func() (struct{}, error) { return struct{}{}, s.store.DeleteServiceProvider(id, s.actor) })
	return nodeError(err, "service provider", id)
}

// Organizations returns the organizations in the role's scope.
func (s *Service) Organizations(context.Context) ([]store.Organization, error) {
	return listNodes(s, "list organizations", orgReaders, s.store.Organizations,
		func(sc scope, o store.Organization) bool { return sc.org(o.ID) })
}

// Organization returns one organization in the role's scope.
func (s *Service) Organization(_ context.Context, id string) (store.Organization, error) {
	return showNode(s, "see organizations", orgReaders, KindOrg, id,
		s.store.OrganizationByID, scope.org)
}

// AddOrganization adds an organization and its claim on its domains; only
// the administrator may.
func (s *Service) AddOrganization(_ context.Context, o store.Organization) (store.Organization, error) {
	if err := s.adminOnly("add organizations"); err != nil {
		return store.Organization{}, err
	}
	out, err := timed(s, "org_add", func() (store.Organization, error) { return s.store.AddOrganization(o, s.actor) })
	return out, nodeError(err, "service provider", o.ServiceProvider)
}

// DeleteOrganization deletes an organization without users, revoking its
// tokens; only the administrator may.
func (s *Service) DeleteOrganization(_ context.Context, id string) error {
	if err := s.adminOnly("delete organizations"); err != nil {
		return err
	}
	_, err := timed(s, "org_delete", func() (struct{}, error) { return struct{}{}, s.store.DeleteOrganization(id, s.actor) })
	return nodeError(err, "organization", id)
}

// Users returns the users in the role's scope.
func (s *Service) Users(context.Context) ([]store.User, error) {
	return listNodes(s, "list users", userManagers, s.store.Users,
		func(sc scope, u store.User) bool { return sc.user(u.ID) })
}

// User returns one user in the role's scope.
func (s *Service) User(_ context.Context, id string) (store.User, error) {
	return showNode(s, "see users", userManagers, KindUser, id, s.store.UserByID, scope.user)
}

// AddUser adds a user to an organization in the role's scope. The user's
// id, NAME@ORG, names the organization; Organization may be left empty.
func (s *Service) AddUser(_ context.Context, u store.User) (store.User, error) {
	sc, err := s.scope()
	if err != nil {
		return store.User{}, err
	}
	if err := sc.may("add users", userManagers...); err != nil {
		return store.User{}, err
	}
	org, err := store.ParseUserID(u.ID)
	if err != nil {
		return store.User{}, newError(ErrInvalid, "invalid_id", err.Error())
	}
	if u.Organization == "" {
		u.Organization = org // the store refuses one that differs
	}
	if !sc.org(u.Organization) {
		return store.User{}, missing("organization", u.Organization)
	}
	out, err := timed(s, "user_add", func() (store.User, error) { return s.store.AddUser(u, s.actor) })
	return out, nodeError(err, "organization", u.Organization)
}

// DeleteUser deletes a user in the role's scope, revoking its tokens. Its
// extensions stay.
func (s *Service) DeleteUser(_ context.Context, id string) error {
	sc, err := s.scope()
	if err != nil {
		return err
	}
	if err := sc.may("delete users", userManagers...); err != nil {
		return err
	}
	if !sc.user(id) {
		return missing("user", id)
	}
	_, err = timed(s, "user_delete", func() (struct{}, error) { return struct{}{}, s.store.DeleteUser(id, s.actor) })
	return nodeError(err, "user", id)
}

// Tokens returns the tokens whose roles are in the role's scope, revoked
// and expired ones included.
func (s *Service) Tokens(context.Context) ([]store.Token, error) {
	return listNodes(s, "list tokens", managers, s.store.Tokens, func(sc scope, t store.Token) bool {
		r, err := ParseRole(t.Role)
		return err == nil && sc.covers(r)
	})
}

// CreateToken makes a token for a role in the requester's scope: at or
// below its own place in the hierarchy. A token made by one that expires
// expires no later: without an expiry of its own it gets its maker's, and
// a later one is refused, so that a short-lived token cannot make itself
// a lasting one.
func (s *Service) CreateToken(_ context.Context, req TokenRequest) (NewToken, error) {
	sc, err := s.scope()
	if err != nil {
		return NewToken{}, err
	}
	if err := sc.may("create tokens", managers...); err != nil {
		return NewToken{}, err
	}
	role, err := ParseRole(req.Role)
	if err != nil {
		return NewToken{}, err
	}
	if role.Kind == KindAdmin && !sc.all {
		return NewToken{}, newError(ErrForbidden, "forbidden", "only an admin token may create admin tokens")
	}
	kind := kindName(role.Kind)
	if !sc.covers(role) {
		return NewToken{}, missing(kind, role.ID)
	}
	var expires time.Time
	if req.ExpiresAt != nil {
		if req.ExpiresAt.IsZero() { // it would mean never
			return NewToken{}, newError(ErrInvalid, "invalid_time", "expires_at is not in the future")
		}
		expires = *req.ExpiresAt
	}
	if !s.expires.IsZero() {
		switch {
		case expires.IsZero():
			expires = s.expires
		case expires.After(s.expires):
			return NewToken{}, newError(ErrForbidden, "forbidden", fmt.Sprintf(
				"a token may not outlive the token that creates it, which expires at %s",
				s.expires.UTC().Format(time.RFC3339)))
		}
	}

	out, err := timed(s, "token_create", func() (NewToken, error) {
		tok, secret, err := s.store.CreateToken(req.Name, role.String(), expires, s.actor)
		return NewToken{Token: tok, Secret: secret}, err
	})
	if err != nil {
		return NewToken{}, nodeError(err, kind, role.ID)
	}
	return out, nil
}

// RevokeToken ends a token whose role is in the requester's scope.
func (s *Service) RevokeToken(ctx context.Context, id string) error {
	tokens, err := s.Tokens(ctx)
	if err != nil {
		return err
	}
	for _, t := range tokens {
		if t.ID == id {
			_, err := timed(s, "token_revoke", func() (struct{}, error) { return struct{}{}, s.store.RevokeToken(id, s.actor) })
			return nodeError(err, "token", id)
		}
	}
	return missing("token", id)
}

// listNodes lists records with list and keeps those keep says are in the
// role's scope, after checking that the role may read them at all.
func listNodes[T any](s *Service, what string, kinds []string, list func() ([]T, error),
	keep func(scope, T) bool) ([]T, error) {
	sc, err := s.scope()
	if err != nil {
		return nil, err
	}
	if err := sc.may(what, kinds...); err != nil {
		return nil, err
	}
	all, err := timed(s, "list", list)
	if err != nil {
		return nil, storeError("", err)
	}
	kept := make([]T, 0, len(all))
	for _, rec := range all {
		if keep(sc, rec) {
			kept = append(kept, rec)
		}
	}
	return kept, nil
}

// showNode reads one record of a role kind with get if it is in the
// role's scope.
func showNode[T any](s *Service, what string, kinds []string, roleKind, id string,
	get func(string) (T, error), inScope func(scope, string) bool) (T, error) {
	var zero T
	kind := kindName(roleKind)
	sc, err := s.scope()
	if err != nil {
		return zero, err
	}
	if err := sc.may(what, kinds...); err != nil {
		return zero, err
	}
	if err := parseNodeID(roleKind, id); err != nil {
		return zero, newError(ErrInvalid, "invalid_id", err.Error())
	}
	if !inScope(sc, id) {
		return zero, missing(kind, id)
	}
	rec, err := timed(s, "get", func() (T, error) { return get(id) })
	return rec, nodeError(err, kind, id)
}

// nodeError turns a store error about the hierarchy or tokens into an
// admin error; a missing record is reported as missing(kind, id), the
// record the request named.
func nodeError(err error, kind, id string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return missing(kind, id)
	case errors.Is(err, store.ErrExists):
		return newError(ErrConflict, "exists", err.Error())
	case errors.Is(err, store.ErrInUse):
		return newError(ErrConflict, "in_use", err.Error())
	case errors.Is(err, store.ErrInvalidID):
		return newError(ErrInvalid, "invalid_id", err.Error())
	}
	return storeError("", err)
}
