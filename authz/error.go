package authz

import "errors"

// ErrDenied is what every refusal unwraps to: errors.Is(err, ErrDenied)
// decides the status (403 on the web, 403 Forbidden in SIP), errors.As with
// a *DeniedError recovers the reason.
var ErrDenied = errors.New("permission denied")

// DeniedError is a refusal: the permission it is about (empty for account
// states) and a short lower-case phrase saying why, fit to show to the user
// and to use as a SIP reason phrase.
type DeniedError struct {
	Permission Permission
	Reason     string
	// OutOfScope is set when the subject holds the permission but the
	// resource lies outside their scope. For view permissions the web answers
	// such a refusal with 404, so that guessed IDs reveal nothing.
	OutOfScope bool
}

func (e *DeniedError) Error() string {
	if e.Permission == "" {
		return "permission denied: " + e.Reason
	}
	return "permission denied: " + string(e.Permission) + ": " + e.Reason
}

// Unwrap makes errors.Is(err, ErrDenied) true.
func (e *DeniedError) Unwrap() error { return ErrDenied }

func deny(p Permission, reason string) error { return &DeniedError{Permission: p, Reason: reason} }

// Reasons shared by several decisions.
const (
	reasonNone    = "not allowed for you"
	reasonOwn     = "allowed only for your own"
	reasonDept    = "allowed only within your department"
	reasonUnknown = "not a known permission"
)

// DeniedReason returns what err refuses, fit for a SIP reason phrase:
// "permission: why" for a *DeniedError, "not allowed" for anything else.
func DeniedReason(err error) string {
	var de *DeniedError
	if errors.As(err, &de) {
		return string(de.Permission) + ": " + de.Reason
	}
	return "not allowed"
}
