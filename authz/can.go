package authz

import (
	"slices"

	"github.com/switchboard-pbx/switchboard/directory"
)

// Can decides whether s may use p on r. It returns nil or a *DeniedError
// (unwrapping to ErrDenied); it does not allocate when it allows.
//
// The scopes mean (seeds 000, 001, 003):
//   - own: calls and recordings where the user is caller or callee; the
//     user's own account; contacts assigned to them, created by them,
//     unassigned or public. For contacts.delete, own is only contacts
//     assigned to or created by them (only their own).
//   - department: own, plus the same for every user of s's department (the
//     members of each group s belongs to, subgroups included).
//   - any: everything.
//
// For ivr.control (office hours), department is the hours of the groups
// the user is in and of their subgroups; company-wide hours and inbound
// numbers' routing need any.
//
// Can allows exactly the rows that Visibility(s, p) lets a store list, so a
// list and the pages it links to agree. A permission that does not apply to
// r's kind (calls.history on a contact, say) is refused; calls.outbound is
// decided by Outbound.
func Can(s *Subject, p Permission, r Resource) error {
	i := index(p)
	if i < 0 {
		return deny(p, reasonUnknown)
	}
	if s.allows(i, r) {
		return nil
	}
	switch {
	case !catalog[i].kinds.has(r.Kind):
		return deny(p, "does not apply to this kind of resource ("+r.Kind.String()+")")
	case s.scope(i) == ScopeOwn:
		return &DeniedError{Permission: p, Reason: reasonOwn, OutOfScope: true}
	case s.scope(i) == ScopeDepartment:
		return &DeniedError{Permission: p, Reason: reasonDept, OutOfScope: true}
	}
	return deny(p, reasonNone)
}

// allows reports whether s may use permission i on r. It builds no
// refusal, so Outbound can try several contacts without allocating.
func (s *Subject) allows(i int, r Resource) bool {
	if !catalog[i].kinds.has(r.Kind) {
		return false
	}
	switch s.scope(i) {
	case ScopeAny:
		return true
	case ScopeOwn:
		return s.covers(catalog[i].p, r, false)
	case ScopeDepartment:
		return s.covers(catalog[i].p, r, true)
	}
	return false
}

// covers reports whether r lies within s's own scope for p, or within its
// department scope when dept is set.
func (s *Subject) covers(p Permission, r Resource, dept bool) bool {
	match := func(id int64) bool {
		if dept {
			return s.inDept(id)
		}
		return id != 0 && id == s.userID
	}
	if r.Kind == KindRecording && len(r.GroupIDs) > 0 {
		return s.coversMailbox(r.GroupIDs, dept) // mailbox.go: a group's voicemail
	}
	if r.Kind == KindSchedule || r.Kind == KindQueue {
		// Office hours of a group the user is in, or of a subgroup of
		// one: the path of the hours' department holds one of theirs.
		for _, g := range r.GroupIDs {
			if _, ok := slices.BinarySearch(s.groups, g); ok && dept {
				return true
			}
		}
		return false
	}
	if r.Kind == KindContact {
		if match(r.AssignedTo) || match(r.CreatedBy) {
			return true
		}
		// Seeds 000 and 003: unassigned and public contacts are everyone's
		// to see and work on, but only your own are yours to delete.
		return p != ContactsDelete && (r.AssignedTo == 0 || r.Public)
	}
	for _, id := range r.UserIDs {
		if match(id) {
			return true
		}
	}
	return false
}

// CanDo decides whether s holds p at all, at any scope above none. For the
// permissions that are either none or any (users.create, settings.telephony,
// roles.manage, …) that is the whole answer. For scoped ones it is the
// question a list page asks before it lists with Visibility(s, p); a single
// resource is decided with Can.
func CanDo(s *Subject, p Permission) error {
	i := index(p)
	if i < 0 {
		return deny(p, reasonUnknown)
	}
	if s.scope(i) == ScopeNone {
		return deny(p, reasonNone)
	}
	return nil
}

// Visibility returns the list filter for p that a store turns into a SQL
// WHERE clause: All for any; for own the user alone, for department the
// users of s's department; for contacts.view and contacts.manage also the
// unassigned and public contacts (contacts.delete: only assigned or
// created). None, and the outbound scopes other than any, show nothing.
//
// The UserIDs slice is shared by every call on s: read it, do not modify it.
func Visibility(s *Subject, p Permission) directory.Visibility {
	i := index(p)
	if i < 0 || s == nil {
		return directory.Visibility{}
	}
	var v directory.Visibility
	switch s.dec[i].Scope {
	case ScopeAny:
		return directory.Visibility{All: true}
	case ScopeOwn:
		v.UserIDs = s.self
	case ScopeDepartment:
		v.UserIDs = s.dept
	default:
		return v
	}
	if p == ContactsView || p == ContactsManage {
		v.Unassigned, v.Public = true, true
	}
	return v
}
