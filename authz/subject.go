package authz

import (
	"slices"

	"github.com/switchboard-pbx/switchboard/directory"
)

// Subject is a user as authz sees them, with every permission resolved in
// advance so that a decision is an array lookup. Build it with NewSubject
// from the user's directory.Access; it is read-only afterwards and safe for
// concurrent use. Rebuild it when the user, their roles, overrides or groups
// change.
type Subject struct {
	userID int64
	state  directory.UserState
	owner  bool
	dec    [numPerms]Decision
	roles  []heldRole
	self   []int64 // {userID}, capacity-clipped; shared by Visibility
	dept   []int64 // sorted, deduplicated, self included; shared by Visibility
	groups []int64 // the user's own groups, sorted: department scope of office hours
}

// heldRole is what KeepMembers needs of a role the subject holds.
type heldRole struct {
	id     int64
	scopes [numPerms]Scope
}

// NewSubject resolves the effective scope of every permission for the user
// described by a:
//
//   - an owner (a holder of the built-in Owner role) has the highest scope
//     of every permission, without assignment (seeds 000, 003);
//   - otherwise the user's own override wins where one is set (seeds 002,
//     003); an override with a value the permission does not allow counts
//     as none, so that a bad row grants nothing;
//   - otherwise the highest scope among the user's roles; the
//     first role in a.Roles names the source when several tie;
//   - a deleted user has nothing. A blocked user keeps their
//     permissions: CanLogin keeps them out of the web UI, while their phone
//     still calls.
//
// a.Department lists the users whose resources the department scope
// covers; the user is added to it if missing. A nil a gives a subject that
// may do nothing.
func NewSubject(a *directory.Access) *Subject {
	s := &Subject{}
	for i := range s.dec {
		s.dec[i] = Decision{Permission: catalog[i].p}
	}
	if a == nil {
		return s
	}
	s.userID = a.User.ID
	s.state = a.User.State
	if s.userID != 0 {
		s.self = []int64{s.userID}
	}
	dept := make([]int64, 0, len(a.Department)+1)
	for _, id := range a.Department {
		if id != 0 {
			dept = append(dept, id)
		}
	}
	if s.userID != 0 {
		dept = append(dept, s.userID)
	}
	slices.Sort(dept)
	s.dept = slices.Clip(slices.Compact(dept))
	s.groups = slices.Clone(a.User.GroupIDs)
	slices.Sort(s.groups)

	var ownerRole *directory.Role
	s.roles = make([]heldRole, len(a.Roles))
	for j := range a.Roles {
		r := &a.Roles[j]
		s.roles[j].id = r.ID
		for i := range catalog {
			s.roles[j].scopes[i] = storedScope(r.Perms, i)
		}
		if r.Builtin == directory.BuiltinOwner && ownerRole == nil {
			ownerRole = r
		}
	}
	s.owner = ownerRole != nil

	for i, d := range catalog {
		dec := &s.dec[i]
		switch {
		case s.state == directory.UserDeleted:
			dec.Source = SourceDeleted
		case s.owner:
			*dec = Decision{Permission: d.p, Scope: d.scopes[len(d.scopes)-1], Source: SourceOwner,
				RoleID: ownerRole.ID, RoleName: ownerRole.Name}
		default:
			if v, ok := a.Overrides[string(d.p)]; ok {
				sc, _ := scopeIn(i, v)
				*dec = Decision{Permission: d.p, Scope: sc, Source: SourceOverride}
				continue
			}
			for j := range a.Roles {
				if sc := s.roles[j].scopes[i]; sc > dec.Scope {
					*dec = Decision{Permission: d.p, Scope: sc, Source: SourceRole,
						RoleID: a.Roles[j].ID, RoleName: a.Roles[j].Name}
				}
			}
		}
	}
	return s
}

// UserID returns the ID of the subject's user, 0 for a nil subject.
func (s *Subject) UserID() int64 {
	if s == nil {
		return 0
	}
	return s.userID
}

// Owner reports whether the subject holds the built-in Owner role.
func (s *Subject) Owner() bool { return s != nil && s.owner && s.state != directory.UserDeleted }

// Effective returns the subject's scope for p and where it comes from. An
// unknown permission and a nil subject give none.
func (s *Subject) Effective(p Permission) Decision {
	i := index(p)
	if s == nil || i < 0 {
		return Decision{Permission: p}
	}
	return s.dec[i]
}

// Decisions returns the subject's decision for every permission, in catalog
// order: the "effective permissions" panel of a user's page.
func (s *Subject) Decisions() []Decision {
	out := make([]Decision, numPerms)
	for i := range out {
		out[i] = s.Effective(catalog[i].p)
	}
	return out
}

// scope returns the effective scope of permission i.
func (s *Subject) scope(i int) Scope {
	if s == nil {
		return ScopeNone
	}
	return s.dec[i].Scope
}

// inDept reports whether id is one of the users the department scope covers.
func (s *Subject) inDept(id int64) bool {
	if id == 0 {
		return false
	}
	_, ok := slices.BinarySearch(s.dept, id)
	return ok
}
