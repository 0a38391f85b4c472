package store

import "errors"

// Sentinel errors returned by this package, wrapped with the step that
// failed. Compare them with errors.Is.
var (
	// ErrNotFound means the store holds no extension with the given id.
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

	// ErrInvalidID means an extension id is not NUMBER@DOMAIN.
	ErrInvalidID = errors.New("invalid extension id")
)

// errBadPolicy is returned for an AttemptPolicy outside its documented
// range, a mistake of the caller rather than of its input.
var errBadPolicy = errors.New("attempt policy needs MaxFailures >= 1 and Lockout >= 0")
