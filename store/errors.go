package store

import (
	"errors"
	"fmt"
	"strconv"
	"unicode/utf8"
)

// Sentinel errors returned by this package, wrapped with the step that
// failed. Compare them with errors.Is.
var (
	// ErrNotFound means the store holds no extension, service provider,
	// organization, user or token with the given id.
	ErrNotFound = errors.New("extension not found")

	// ErrLocked means another process holds the database file's lock.
	ErrLocked = errors.New("database file is in use, probably by a running phonelock daemon; " +
		"use --server to make changes through the daemon while it runs")

	// ErrNewerSchema means the file was written by a newer phonelock whose
	// schema version this one does not know.
	ErrNewerSchema = errors.New("database schema is newer than this phonelock supports")

	// ErrCorrupt means the file is not a phonelock database or is damaged.
	ErrCorrupt = errors.New("database file is damaged or is not a phonelock database")

	// ErrNoPassword means a change would leave protection on without a
	// password, which is refused.
	ErrNoPassword = errors.New("protection cannot be switched on without a password")

	// ErrProtectionOff means the extension's protection is off, so it cannot
	// be blocked.
	ErrProtectionOff = errors.New("protection is off, so the extension cannot be blocked")

	// ErrStalePassword means the extension's password changed after the
	// caller read it, so the caller's verdict on the entered password no
	// longer applies.
	ErrStalePassword = errors.New("password changed while it was being checked")

	// ErrInvalidID means an extension id is not NUMBER@DOMAIN, or that an
	// id, name, domain or role of the hierarchy or of a token is malformed.
	ErrInvalidID = errors.New("invalid extension id")

	// ErrExists means a service provider, organization or user with the
	// given id already exists, or that a domain already belongs to an
	// organization.
	ErrExists = errors.New("already exists")

	// ErrInUse means a service provider still has organizations, or an
	// organization still has users, so it cannot be deleted.
	ErrInUse = errors.New("still in use")

	// ErrUnauthorized means a token secret is unknown, revoked or expired;
	// the three are deliberately not told apart.
	ErrUnauthorized = errors.New("unknown, revoked or expired token")

	// ErrInvalidTime means a block or token expiry time is not in the
	// future.
	ErrInvalidTime = errors.New("time is not in the future")
)

// errBadPolicy is returned for an AttemptPolicy outside its documented
// range, a mistake of the caller rather than of its input.
var errBadPolicy = errors.New("attempt policy needs MaxFailures >= 1 and Lockout >= 0")

// errNotBcrypt is returned for a password hash that bcrypt cannot read.
var errNotBcrypt = errors.New("the password hash is not a bcrypt hash")

// ImportError is the error of Import for its first invalid row. It wraps
// the cause, such as ErrInvalidID or ErrNoPassword.
type ImportError struct {
	Line int   // the row's ImportRow.Line
	Err  error // why the row was refused
}

// Error returns the line number and the cause.
func (e *ImportError) Error() string {
	return fmt.Sprintf("import: line %d: %v", e.Line, e.Err)
}

// Unwrap returns the cause.
func (e *ImportError) Unwrap() error {
	return e.Err
}

// kindError is a sentinel error with its own message, for when the
// sentinel's text names the wrong thing: "organization acme not found"
// still matches ErrNotFound with errors.Is.
type kindError struct {
	sentinel error
	msg      string
}

func (e *kindError) Error() string {
	return e.msg
}

func (e *kindError) Is(target error) bool {
	return target == e.sentinel
}

// newKindError returns an error matching sentinel whose message is the
// formatted text.
func newKindError(sentinel error, format string, args ...any) error {
	return &kindError{sentinel: sentinel, msg: fmt.Sprintf(format, args...)}
}

// notFound returns an error matching ErrNotFound that names what is
// missing, such as "organization acme not found".
func notFound(kind, id string) error {
	return newKindError(ErrNotFound, "%s %s not found", kind, id)
}

// Refused reports whether err is the store declining a request because of
// what it asks or of the state it finds (a missing or existing record, a
// malformed id, a stale password, protection off, a bad time or token),
// rather than failing to read or write the database. Refusals are answers;
// only the other errors are failures worth an alert.
func Refused(err error) bool {
	for _, refusal := range []error{ErrNotFound, ErrNoPassword, ErrProtectionOff, ErrStalePassword,
		ErrInvalidID, ErrExists, ErrInUse, ErrUnauthorized, ErrInvalidTime} {
		if errors.Is(err, refusal) {
			return true
		}
	}
	return false
}

// maxQuotedInput is how many bytes of a refused input an error message
// quotes: enough to recognise it, too few for a huge input to make a huge
// message.
const maxQuotedInput = 80

// QuoteInput quotes s, input being refused, for an error message; a long
// s is cut to its first bytes and says how long it was.
func QuoteInput(s string) string {
	head, cut := Clip(s, maxQuotedInput)
	if !cut {
		return strconv.Quote(s)
	}
	return fmt.Sprintf("%s… (%d bytes)", strconv.Quote(head), len(s))
}

// Clip returns s cut to at most n bytes, at the start of a character, and
// whether it cut anything.
func Clip(s string, n int) (string, bool) {
	if len(s) <= n {
		return s, false
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n], true
}
