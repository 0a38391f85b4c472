package adminapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/phonelock/phonelock/policy"
	"github.com/phonelock/phonelock/store"
)

// Service carries out admin operations on an open store. It validates
// every input before touching the store, so a refused request changes
// nothing.
//
// A Service acts for one role (AdminRole unless WithRole says otherwise)
// and refuses what the role may not do: with ErrForbidden for a request
// the role can never make, and with the very answer of a missing record
// for one that names something outside the role's scope.
type Service struct {
	store *store.Store
	actor store.Actor
	role  Role
	// expires is when the requesting token stops working, zero for never:
	// no token it creates may outlive it.
	expires time.Time
	lockout func() store.AttemptPolicy
	// passwords is shared by every copy: it rations bcrypt work, and a
	// request waits at most passwordWait for its turn.
	passwords    *passwordWork
	passwordWait time.Duration
	now          func() time.Time
	observe      func(operation string, start time.Time, err error)
}

// DefaultLockout is the policy for wrong current passwords given to a
// password change until WithLockout sets the daemon's.
var DefaultLockout = store.AttemptPolicy{MaxFailures: 5, Lockout: 15 * time.Minute}

// NewService returns a Service over st, acting as the administrator, that
// records actor in the audit trail for every change.
func NewService(st *store.Store, actor store.Actor) *Service {
	return &Service{store: st, actor: actor, role: AdminRole, now: time.Now,
		lockout:   func() store.AttemptPolicy { return DefaultLockout },
		passwords: newPasswordWork(), passwordWait: DefaultPasswordWait,
		observe: func(string, time.Time, error) {}}
}

// WithRole returns a copy of s that acts for role.
func (s *Service) WithRole(role Role) *Service {
	c := *s
	c.role = role
	return &c
}

// WithPrincipal returns a copy of s that acts for the token one API
// request carries: with its role, and creating no token that outlives it.
func (s *Service) WithPrincipal(p Principal) *Service {
	c := s.WithRole(p.Role)
	c.expires = p.ExpiresAt
	return c
}

// WithLockout returns a copy of s that counts wrong current passwords in a
// password change by the policy lockout returns, the same as *11's.
func (s *Service) WithLockout(lockout func() store.AttemptPolicy) *Service {
	c := *s
	c.lockout = lockout
	return &c
}

// scope reads the hierarchy and returns the part of it s's role may see.
// The administrator's needs no read.
func (s *Service) scope() (scope, error) {
	if s.role.Kind == KindAdmin {
		return scope{role: s.role, all: true}, nil
	}
	h, err := timed(s, "hierarchy", s.store.Hierarchy)
	if err != nil {
		return scope{}, storeError("", err)
	}
	return newScope(s.role, h), nil
}

// extension validates id and checks that s's role may do what to it:
// ErrForbidden when none of kinds is the role's kind, the answer for a
// missing extension when it is outside the role's scope. It returns the
// normalised id.
func (s *Service) extension(id, what string, kinds ...string) (string, error) {
	id, err := parseID(id)
	if err != nil {
		return "", err
	}
	sc, err := s.scope()
	if err != nil {
		return "", err
	}
	if err := sc.may(what, kinds...); err != nil {
		return "", err
	}
	if !sc.extension(id) {
		return "", missingExtension(id)
	}
	return id, nil
}

// Who may do what to an extension.
var (
	everyKind = []string{KindAdmin, KindSP, KindOrg, KindUser}
	managers  = []string{KindAdmin, KindSP, KindOrg}
)

// WithObserver returns a copy of s that reports every store operation's
// name, start and error to observe, for example to metrics.
func (s *Service) WithObserver(observe func(operation string, start time.Time, err error)) *Service {
	c := *s
	c.observe = observe
	return &c
}

// timed runs one store operation and reports it to the observer.
func timed[T any](s *Service, operation string, fn func() (T, error)) (T, error) {
	start := s.now()
	v, err := fn()
	s.observe(operation, start, err)
	return v, err
}

// WithActor returns a copy of s that records actor instead, for example the
// remote address of one API request.
func (s *Service) WithActor(actor store.Actor) *Service {
	c := *s
	c.actor = actor
	return &c
}

// Set implements Admin.
func (s *Service) Set(ctx context.Context, id string, req SetRequest) (View, error) {
	id, err := s.extension(id, "change extensions", everyKind...)
	if err != nil {
		return View{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, s.passwordWait)
	defer cancel()
	if req.CurrentPassword != nil || s.role.Kind == KindUser {
		return s.changePassword(ctx, id, req)
	}
	change := store.Settings{Protection: req.Protection, Voicemail: req.Voicemail}
	if req.Password != nil {
		if err := policy.ValidatePassword(*req.Password); err != nil {
			return View{}, newError(ErrInvalid, "invalid_password", err.Error())
		}
		if change.PasswordHash, err = s.passwords.hash(ctx, *req.Password); err != nil {
			return View{}, err
		}
	}

	ext, err := timed(s, "set", func() (store.Extension, error) { return s.store.Set(id, change, s.actor) })
	if err != nil {
		return View{}, storeError(id, err)
	}
	return viewOf(ext, s.now()), nil
}

// Block implements Admin.
func (s *Service) Block(_ context.Context, id string, until time.Time) (View, error) {
	if until.IsZero() {
		return s.setBlocked(id, true)
	}
	id, err := s.extension(id, "block extensions", everyKind...)
	if err != nil {
		return View{}, err
	}
	ext, err := timed(s, "block_until", func() (store.Extension, error) { return s.store.BlockUntil(id, until, s.actor) })
	if err != nil {
		return View{}, storeError(id, err)
	}
	return viewOf(ext, s.now()), nil
}

// ResetAttempts implements Admin.
func (s *Service) ResetAttempts(_ context.Context, id string) (View, error) {
	id, err := s.extension(id, "reset failed attempts", managers...)
	if err != nil {
		return View{}, err
	}
	ext, err := timed(s, "reset_attempts", func() (store.Extension, error) { return s.store.ResetAttempts(id, s.actor) })
	if err != nil {
		return View{}, storeError(id, err)
	}
	return viewOf(ext, s.now()), nil
}

// Audit implements Admin.
func (s *Service) Audit(_ context.Context, q AuditRequest) ([]store.AuditRecord, error) {
	sc, err := s.scope()
	if err != nil {
		return nil, err
	}
	if err := sc.may("read the audit trail", managers...); err != nil {
		return nil, err
	}
	query := store.AuditQuery{Since: q.Since, Limit: q.Limit}
	if !sc.all {
		// Changes to the hierarchy and tokens are the administrator's.
		query.HideHierarchy = true
		query.Match = func(r store.AuditRecord) bool { return sc.extension(r.Extension) }
	}
	if q.Extension != "" {
		id, err := parseID(q.Extension)
		if err != nil {
			return nil, err
		}
		query.Extensions = []string{id}
	}
	recs, err := timed(s, "audit", func() ([]store.AuditRecord, error) { return s.store.AuditQuery(query) })
	if err != nil {
		return nil, storeError("", err)
	}
	return recs, nil
}

// DBStats implements Admin.
func (s *Service) DBStats(_ context.Context) (StatsView, error) {
	if err := s.adminOnly("read database statistics"); err != nil {
		return StatsView{}, err
	}
	st, err := timed(s, "stats", func() (store.Stats, error) { return s.store.Stats(s.now()) })
	if err != nil {
		return StatsView{}, storeError("", err)
	}
	return statsView(st), nil
}

// DBCheck implements Admin.
func (s *Service) DBCheck(_ context.Context) error {
	if err := s.adminOnly("check the database"); err != nil {
		return err
	}
	if _, err := timed(s, "check", func() (struct{}, error) { return struct{}{}, s.store.Check() }); err != nil {
		return newError(ErrUnavailable, "check_failed", err.Error())
	}
	return nil
}

// DBBackup implements Admin.
func (s *Service) DBBackup(_ context.Context, w io.Writer) (int64, error) {
	if err := s.adminOnly("back up the database"); err != nil {
		return 0, err
	}
	n, err := timed(s, "backup", func() (int64, error) { return s.store.Backup(w) })
	if err != nil {
		return n, storeError("", err)
	}
	return n, nil
}

// Unblock implements Admin.
func (s *Service) Unblock(_ context.Context, id string) (View, error) {
	return s.setBlocked(id, false)
}

func (s *Service) setBlocked(id string, blocked bool) (View, error) {
	id, err := s.extension(id, "block or unblock extensions", everyKind...)
	if err != nil {
		return View{}, err
	}
	ext, err := timed(s, "set_blocked", func() (store.Extension, error) { return s.store.SetBlocked(id, blocked, s.actor) })
	if err != nil {
		return View{}, storeError(id, err)
	}
	return viewOf(ext, s.now()), nil
}

// Show implements Admin.
func (s *Service) Show(_ context.Context, id string) (View, error) {
	id, err := s.extension(id, "see extensions", everyKind...)
	if err != nil {
		return View{}, err
	}
	ext, err := timed(s, "get", func() (store.Extension, error) { return s.store.Get(id) })
	if err != nil {
		return View{}, storeError(id, err)
	}
	return viewOf(ext, s.now()), nil
}

// List implements Admin.
func (s *Service) List(_ context.Context) ([]View, error) {
	sc, err := s.scope()
	if err != nil {
		return nil, err
	}
	exts, err := timed(s, "list", s.store.List)
	if err != nil {
		return nil, storeError("", err)
	}
	now := s.now()
	views := make([]View, 0, len(exts))
	for _, e := range exts {
		if sc.extension(e.ID) {
			views = append(views, viewOf(e, now))
		}
	}
	return views, nil
}

// Delete implements Admin.
func (s *Service) Delete(_ context.Context, id string) error {
	id, err := s.extension(id, "delete extensions", managers...)
	if err != nil {
		return err
	}
	_, err = timed(s, "delete", func() (struct{}, error) { return struct{}{}, s.store.Delete(id, s.actor) })
	if err != nil {
		return storeError(id, err)
	}
	return nil
}

// adminOnly refuses, with ErrForbidden, any role but the administrator's.
func (s *Service) adminOnly(what string) error {
	return scope{role: s.role}.may(what, KindAdmin)
}

// changePassword is the password change that gives the current password,
// the only change a user may make. Wrong current passwords count towards
// the *11 lockout. One extension's current password is checked by one
// request at a time, and a right one takes as long as a wrong one, so
// concurrent guesses learn nothing the lockout does not allow.
func (s *Service) changePassword(ctx context.Context, id string, req SetRequest) (View, error) {
	switch {
	case req.Protection != nil || req.Voicemail != nil:
		if s.role.Kind == KindUser {
			return View{}, newError(ErrForbidden, "forbidden",
				"a user token may only change the password, giving the current one")
		}
		return View{}, newError(ErrInvalid, "invalid_body",
			"current_password goes with password alone; change the other settings separately")
	case req.CurrentPassword == nil:
		return View{}, newError(ErrInvalid, "current_password_required",
			"give the current password (current_password) with the new one")
	case req.Password == nil:
		return View{}, newError(ErrInvalid, "password_required", "give the new password (password)")
	}
	if err := policy.ValidatePassword(*req.Password); err != nil {
		return View{}, newError(ErrInvalid, "invalid_password", err.Error())
	}

	release, err := s.passwords.extension(ctx, id)
	if err != nil {
		return View{}, err
	}
	defer release()

	// Read after taking the turn: the guesses queued before this one may
	// have started a lockout.
	ext, err := timed(s, "get", func() (store.Extension, error) { return s.store.Get(id) })
	if err != nil {
		return View{}, storeError(id, err)
	}
	if !ext.PasswordSet() {
		return View{}, newError(ErrInvalid, "password_not_set",
			fmt.Sprintf("extension %s has no password to change", id))
	}
	if ext.LockedOut(s.now()) {
		return View{}, lockedOut(ext)
	}
	// The new password is hashed whatever the answer, so that a right
	// current password does not take longer than a wrong one.
	newHash, err := s.passwords.hash(ctx, *req.Password)
	if err != nil {
		return View{}, err
	}
	ok, err := s.passwords.check(ctx, ext.PasswordHash, *req.CurrentPassword)
	if err != nil {
		return View{}, err
	}
	if !ok {
		newHash = nil
	}

	// The result is in the new state: a lockout this or another attempt
	// started, or the new password.
	ext, err = timed(s, "change_password", func() (store.Extension, error) {
		e, _, err := s.store.ChangePassword(id, ext.PasswordHash, ok, newHash, s.lockout(), s.actor)
		return e, err
	})
	switch {
	case errors.Is(err, store.ErrStalePassword):
		return View{}, newError(ErrConflict, "password_changed",
			"the password changed while it was being checked; try again")
	case err != nil:
		return View{}, storeError(id, err)
	case ext.LockedOut(s.now()):
		return View{}, lockedOut(ext)
	case !ok:
		return View{}, newError(ErrForbidden, "wrong_password", "the current password is wrong")
	}
	return viewOf(ext, s.now()), nil
}

func lockedOut(ext store.Extension) *Error {
	return newError(ErrForbidden, "locked_out", fmt.Sprintf(
		"too many wrong passwords: extension %s is locked until %s", ext.ID,
		ext.LockedOutUntil.UTC().Format(time.RFC3339)))
}

func parseID(id string) (string, error) {
	norm, err := store.ParseID(id)
	if err != nil {
		return "", newError(ErrInvalid, "invalid_extension", err.Error())
	}
	return norm, nil
}

// storeError turns a store error into an admin error with a message that
// says what to do.
func storeError(id string, err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return missingExtension(id)
	case errors.Is(err, store.ErrNoPassword):
		return newError(ErrInvalid, "password_required",
			fmt.Sprintf("extension %s has no password: set one with --password-stdin before switching protection on", id))
	case errors.Is(err, store.ErrProtectionOff):
		return newError(ErrInvalid, "protection_off",
			fmt.Sprintf("extension %s has protection off: switch protection on before blocking it", id))
	case errors.Is(err, store.ErrInvalidID):
		return newError(ErrInvalid, "invalid_extension", err.Error())
	case errors.Is(err, store.ErrInvalidTime):
		return newError(ErrInvalid, "invalid_time", err.Error())
	default:
		return newError(ErrUnavailable, "store_error", "store: "+err.Error())
	}
}
