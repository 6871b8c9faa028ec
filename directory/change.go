package directory

import (
	"context"
	"time"
)

// ChangeKind says what kind of object a Change is about.
type ChangeKind string

// Kinds of change announced to the nodes sharing a store.
const (
	ChangeUser    ChangeKind = "user"    // ID: user (created, edited, state, secrets, roles, overrides, groups)
	ChangeRole    ChangeKind = "role"    // ID: role
	ChangeGroup   ChangeKind = "group"   // ID: group (tree, number, members)
	ChangeBinding ChangeKind = "binding" // Key: extension
	ChangeSetting ChangeKind = "setting" // Key: setting key
	ChangeBan     ChangeKind = "ban"     // Key: source IP; Node: the node that banned
	ChangeUnban   ChangeKind = "unban"   // Key: source IP whose bans were lifted
)

// Change is one entry of the change log that nodes follow to refresh what
// they cache (credentials, bindings, permissions). Every store method that
// changes one of these kinds appends an entry in the same transaction.
type Change struct {
	Seq  int64 // increasing
	Kind ChangeKind
	ID   int64
	Key  string
	Node string // node that made a binding change ("" otherwise)
	At   time.Time
}

// ChangeStore is the change log. With SQLite only one node runs and polling
// it is cheap; the PostgreSQL backend also wakes followers with NOTIFY.
type ChangeStore interface {
	// Changes returns up to limit entries with Seq > after, oldest first.
	Changes(ctx context.Context, after int64, limit int) ([]Change, error)
	// LastChange returns the Seq of the newest entry (0 when none).
	LastChange(ctx context.Context) (int64, error)
	// PruneChanges deletes entries older than before.
	PruneChanges(ctx context.Context, before time.Time) error
}
