package directory

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Built-in roles. Their names are fixed; the permissions of Admin
// and Agent may be edited, Owner always has everything.
const (
	BuiltinOwner = "owner"
	BuiltinAdmin = "admin"
	BuiltinAgent = "agent"
)

// Role is a named set of permission scopes. Perms maps a permission name
// ("calls.history") to a scope name ("department"); authz gives them meaning.
type Role struct {
	ID        int64
	Name      string
	Builtin   string // BuiltinOwner, BuiltinAdmin, BuiltinAgent, or "" for a custom role
	Perms     map[string]string
	CreatedAt time.Time
}

// Validate checks the name; the permissions are checked by authz.
func (r *Role) Validate() error {
	r.Name = strings.TrimSpace(r.Name)
	switch {
	case r.Name == "":
		return invalid("name", "is required")
	case utf8.RuneCountInString(r.Name) > 100:
		return invalid("name", "must be at most 100 characters")
	}
	return nil
}

// Access is everything authz needs to know about one user to decide for
// them: the user, the roles they hold, their overrides, and the users of
// their department (members of every group they belong to, subgroups
// included, the user themself too).
type Access struct {
	User       User
	Roles      []Role
	Overrides  map[string]string
	Department []int64 // sorted user IDs
}
