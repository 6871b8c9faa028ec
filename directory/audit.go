package directory

import "time"

// AuditEntry records who did what: every change, and every listen to or
// download of a recording.
type AuditEntry struct {
	ID      int64
	At      time.Time
	ActorID int64  // user ID, 0 for the system or an operator command
	Actor   string // how the actor was known: email, "cli", "system"
	Action  string // "user.create", "recording.listen", ...
	Object  string // "user:12", "recording:7"
	Detail  string
}

// AuditFilter selects audit entries, newest first.
type AuditFilter struct {
	ActorID int64
	Action  string // prefix, e.g. "user." or "recording."
	Page    Page
}
