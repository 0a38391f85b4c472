// Package adminapi is the operator's view of phonelock's state: the
// operations "phonelock admin" offers, carried out on the store directly
// (Service) or through the running daemon's HTTP API (Handler on the
// daemon's side, Client on the admin command's side). Both paths share the
// same validation, the same answers and the same error kinds.
package adminapi

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/phonelock/phonelock/store"
)

// Status texts, as the product shows them.
const (
	StatusBlocked      = "Currently access to phone is blocked"
	StatusUnrestricted = "Currently access to phone is unrestricted"
)

// View is an extension as operators see it. It never holds the password
// or its hash.
type View struct {
	Extension      string     `json:"extension"`
	Protection     bool       `json:"protection"`
	Blocked        bool       `json:"blocked"`
	Voicemail      bool       `json:"voicemail"`
	PasswordSet    bool       `json:"password_set"`
	Status         string     `json:"status"`
	FailedAttempts int        `json:"failed_attempts"`
	LockedOutUntil *time.Time `json:"locked_out_until"`
	BlockedUntil   *time.Time `json:"blocked_until"`
}

// SetRequest changes an extension's settings; nil fields stay as they are.
// Password is the plain password (3 to 12 digits); it is hashed before it is
// stored and never returned.
//
// CurrentPassword, given with Password alone, makes the change an owner's
// password change: it must match the stored password, and wrong ones count
// towards the *11 lockout. A user token must give it; other roles may.
type SetRequest struct {
	Protection      *bool   `json:"protection,omitempty"`
	Voicemail       *bool   `json:"voicemail,omitempty"`
	Password        *string `json:"password,omitempty"`
	CurrentPassword *string `json:"current_password,omitempty"`
}

// Admin is what the admin command can do, locally or remotely.
type Admin interface {
	// Set creates the extension if needed and applies req.
	Set(ctx context.Context, id string, req SetRequest) (View, error)
	// Block blocks the extension's terminal, until the given time or, when
	// until is zero, until it is unblocked; protection must be on.
	Block(ctx context.Context, id string, until time.Time) (View, error)
	// Import creates or updates many extensions, all or nothing.
	Import(ctx context.Context, rows []ImportRow) (int, error)
	// ResetAttempts clears failed *11 attempts and any lockout.
	ResetAttempts(ctx context.Context, id string) (View, error)
	// Audit lists audit records, newest first.
	Audit(ctx context.Context, q AuditRequest) ([]store.AuditRecord, error)
	// DBStats describes the database.
	DBStats(ctx context.Context) (StatsView, error)
	// DBCheck runs bbolt's consistency check over the database.
	DBCheck(ctx context.Context) error
	// DBBackup writes a consistent copy of the database to w.
	DBBackup(ctx context.Context, w io.Writer) (int64, error)
	// Unblock makes the extension's terminal unrestricted.
	Unblock(ctx context.Context, id string) (View, error)
	// Show returns one extension.
	Show(ctx context.Context, id string) (View, error)
	// List returns every extension, sorted by id.
	List(ctx context.Context) ([]View, error)
	// Delete removes an extension.
	Delete(ctx context.Context, id string) error

	ServiceProviders(ctx context.Context) ([]store.ServiceProvider, error)
	ServiceProvider(ctx context.Context, id string) (store.ServiceProvider, error)
	AddServiceProvider(ctx context.Context, sp store.ServiceProvider) (store.ServiceProvider, error)
	DeleteServiceProvider(ctx context.Context, id string) error
	Organizations(ctx context.Context) ([]store.Organization, error)
	Organization(ctx context.Context, id string) (store.Organization, error)
	AddOrganization(ctx context.Context, o store.Organization) (store.Organization, error)
	DeleteOrganization(ctx context.Context, id string) error
	Users(ctx context.Context) ([]store.User, error)
	User(ctx context.Context, id string) (store.User, error)
	AddUser(ctx context.Context, u store.User) (store.User, error)
	DeleteUser(ctx context.Context, id string) error
	Tokens(ctx context.Context) ([]store.Token, error)
	CreateToken(ctx context.Context, req TokenRequest) (NewToken, error)
	RevokeToken(ctx context.Context, id string) error
}

// AuditRequest selects audit records.
type AuditRequest struct {
	Extension string    // "" for all
	Since     time.Time // zero for no bound
	Limit     int       // 0 for 100
}

// Error kinds, compared with errors.Is. Each maps to an HTTP status, an API
// error code and an exit code of the admin command.
var (
	// ErrInvalid is bad input: a malformed extension or password, or a
	// change the rules refuse. Nothing was changed.
	ErrInvalid = errors.New("invalid request")
	// ErrNotFound is an extension that does not exist.
	ErrNotFound = errors.New("no such extension")
	// ErrUnavailable is a failure to reach or use the store or the daemon.
	ErrUnavailable = errors.New("unavailable")
	// ErrForbidden is a request the API refuses to serve as sent, or one
	// the requester's role may never make.
	ErrForbidden = errors.New("forbidden")
	// ErrUnauthorized is an API request without a valid token.
	ErrUnauthorized = errors.New("unauthorized")
	// ErrConflict is a change that clashes with the state: an id already
	// taken, a record still in use, a password changed meanwhile.
	ErrConflict = errors.New("conflict")
)

// Error is an error with its kind and a message fit for an operator.
type Error struct {
	Kind    error  // one of the Err kinds above
	Code    string // stable machine-readable code, such as "invalid_password"
	Message string
}

func (e *Error) Error() string { return e.Message }

// Unwrap lets errors.Is match the kind.
func (e *Error) Unwrap() error { return e.Kind }

func newError(kind error, code, message string) *Error {
	// Some causes quote the input they refuse, and input can be huge.
	if head, cut := store.Clip(message, maxMessage); cut {
		message = head + "…"
	}
	return &Error{Kind: kind, Code: code, Message: message}
}

// maxMessage bounds an error's message, a sentence or two for people.
const maxMessage = 512

// viewOf turns a stored extension into what operators see.
func viewOf(e store.Extension, now time.Time) View {
	v := View{
		Extension:      e.ID,
		Protection:     e.Protection,
		Blocked:        e.IsBlockedAt(now),
		Voicemail:      e.Voicemail,
		PasswordSet:    e.PasswordSet(),
		Status:         StatusUnrestricted,
		FailedAttempts: e.FailedAttempts,
	}
	if v.Blocked {
		v.Status = StatusBlocked
	}
	if v.Blocked && !e.BlockedUntil.IsZero() {
		until := e.BlockedUntil.UTC()
		v.BlockedUntil = &until
		v.Status = StatusBlocked + " until " + until.Format(time.RFC3339)
	}
	if e.LockedOut(now) {
		until := e.LockedOutUntil.UTC()
		v.LockedOutUntil = &until
	}
	return v
}

// StatsView is the database's description as operators see it.
type StatsView struct {
	Blocked      int   `json:"blocked"`
	Unrestricted int   `json:"unrestricted"`
	Unprotected  int   `json:"unprotected"`
	LockedOut    int   `json:"locked_out"`
	AuditRecords int   `json:"audit_records"`
	FileBytes    int64 `json:"file_bytes"`
}

func statsView(st store.Stats) StatsView {
	return StatsView{Blocked: st.Blocked, Unrestricted: st.Unrestricted, Unprotected: st.Unprotected,
		LockedOut: st.LockedOut, AuditRecords: st.AuditRecords, FileBytes: st.FileBytes}
}
