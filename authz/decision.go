package authz

// Source says where an effective scope comes from.
type Source uint8

// Sources of a decision, in the order they are consulted.
const (
	SourceNone     Source = iota // nothing grants the permission
	SourceOwner                  // the user is an owner: everything, without assignment (seeds 000, 003)
	SourceOverride               // the user's own override (seeds 002, 003)
	SourceRole                   // the highest scope among the user's roles
	SourceDeleted                // the account is deleted: nothing at all
)

var sourceNames = [...]string{"none", "owner", "override", "role", "deleted"}

// String returns the source's name: "none", "owner", "override", "role" or
// "deleted".
func (s Source) String() string {
	if int(s) < len(sourceNames) {
		return sourceNames[s]
	}
	return "unknown"
}

// MarshalText makes a Source appear by name in JSON.
func (s Source) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Decision is a user's effective scope for one permission and why they have
// it, so that the UI can show "department, from role Team lead".
type Decision struct {
	Permission Permission
	Scope      Scope
	Source     Source
	RoleID     int64  // the role that gives the scope (SourceRole, SourceOwner); 0 otherwise
	RoleName   string // its name
}

// String explains the decision in one phrase, e.g. "department, from role
// Team lead", "none, set for this user" or "any, as owner".
func (d Decision) String() string {
	switch d.Source {
	case SourceOwner:
		return d.Scope.String() + ", as owner"
	case SourceOverride:
		return d.Scope.String() + ", set for this user"
	case SourceRole:
		return d.Scope.String() + ", from role " + d.RoleName
	case SourceDeleted:
		return d.Scope.String() + ", account deleted"
	}
	return d.Scope.String() + ", no role grants it"
}
