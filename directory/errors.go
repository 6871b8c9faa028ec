package directory

import "errors"

// The error vocabulary every backend and caller speaks. Backends map driver
// errors onto these by code, never by matching text.
var (
	ErrNotFound = errors.New("not found")
	ErrConflict = errors.New("conflict") // unique extension or email, last owner, non-empty group
	ErrInvalid  = errors.New("invalid")
	// ErrUnavailable means the store could not answer (connection lost,
	// database down); it is not a "no" and callers must not cache it as one.
	ErrUnavailable = errors.New("store unavailable")
)

// InvalidError names the field and the rule it broke; the pair is also the
// message key the UI translates ("invalid.extension").
type InvalidError struct{ Field, Rule string }

func (e *InvalidError) Error() string { return e.Field + ": " + e.Rule }

// Unwrap makes errors.Is(err, ErrInvalid) true.
func (e *InvalidError) Unwrap() error { return ErrInvalid }

// ConflictError says which unique rule or invariant a change ran into.
type ConflictError struct{ Field, Rule string }

func (e *ConflictError) Error() string { return e.Field + ": " + e.Rule }

// Unwrap makes errors.Is(err, ErrConflict) true.
func (e *ConflictError) Unwrap() error { return ErrConflict }

func invalid(field, rule string) error { return &InvalidError{Field: field, Rule: rule} }

// Conflict returns a *ConflictError; backends use it so that every conflict
// names the field it is about.
func Conflict(field, rule string) error { return &ConflictError{Field: field, Rule: rule} }

// Common conflicts, shared by both backends so that they say the same thing.
var (
	ErrExtensionTaken = Conflict("extension", "already in use by a user or group")
	ErrEmailTaken     = Conflict("email", "already in use")
	ErrLastOwner      = Conflict("owner", "the last owner cannot be blocked, deleted or demoted")
	ErrGroupNotEmpty  = Conflict("group", "has members or subgroups")
	ErrDefaultGroup   = Conflict("group", "the default group cannot be renamed or deleted")
	ErrRoleInUse      = Conflict("role", "is held by users")
	ErrBuiltinRole    = Conflict("role", "built-in roles cannot be renamed or deleted")
	ErrDefaultRole    = Conflict("role", "is the default role for new users")
)
