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
type Service struct {
	store   *store.Store
	actor   store.Actor
	now     func() time.Time
	observe func(operation string, start time.Time, err error)
}

// NewService returns a Service over st that records actor in the audit
// trail for every change.
func NewService(st *store.Store, actor store.Actor) *Service {
	return &Service{store: st, actor: actor, now: time.Now, observe: func(string, time.Time, error) {}}
}

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
func (s *Service) Set(_ context.Context, id string, req SetRequest) (View, error) {
	id, err := parseID(id)
	if err != nil {
		return View{}, err
	}
	change := store.Settings{Protection: req.Protection, Voicemail: req.Voicemail}
	if req.Password != nil {
		if err := policy.ValidatePassword(*req.Password); err != nil {
			return View{}, newError(ErrInvalid, "invalid_password", err.Error())
		}
		hash, err := store.HashPassword(*req.Password)
		if err != nil {
			return View{}, newError(ErrUnavailable, "internal", "hash password: "+err.Error())
		}
		change.PasswordHash = hash
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
	id, err := parseID(id)
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
	id, err := parseID(id)
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
	query := store.AuditQuery{Since: q.Since, Limit: q.Limit}
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
	st, err := timed(s, "stats", func() (store.Stats, error) { return s.store.Stats(s.now()) })
	if err != nil {
		return StatsView{}, storeError("", err)
	}
	return statsView(st), nil
}

// DBCheck implements Admin.
func (s *Service) DBCheck(_ context.Context) error {
	if _, err := timed(s, "check", func() (struct{}, error) { return struct{}{}, s.store.Check() }); err != nil {
		return newError(ErrUnavailable, "check_failed", err.Error())
	}
	return nil
}

// DBBackup implements Admin.
func (s *Service) DBBackup(_ context.Context, w io.Writer) (int64, error) {
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
	id, err := parseID(id)
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
	id, err := parseID(id)
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
	exts, err := timed(s, "list", s.store.List)
	if err != nil {
		return nil, storeError("", err)
	}
	now := s.now()
	views := make([]View, len(exts))
	for i, e := range exts {
		views[i] = viewOf(e, now)
	}
	return views, nil
}

// Delete implements Admin.
func (s *Service) Delete(_ context.Context, id string) error {
	id, err := parseID(id)
	if err != nil {
		return err
	}
	_, err = timed(s, "delete", func() (struct{}, error) { return struct{}{}, s.store.Delete(id, s.actor) })
	if err != nil {
		return storeError(id, err)
	}
	return nil
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
		return newError(ErrNotFound, "not_found", fmt.Sprintf("extension %s does not exist", id))
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
