package authz

import (
	"fmt"

	"github.com/switchboard-pbx/switchboard/directory"
)

// No one grants more than they hold. The three checks below share one rule:
// every scope an editor changes, in a role, a user's roles or a user's
// overrides, must be within the editor's own effective scope for that
// permission, both the value it had and the value it gets. Owners hold
// everything, so they may change anything; only an owner grants or takes
// the Owner role (the owner alone creates accounts and roles).

// CanEditRole decides whether editor may give the role old the permissions
// newPerms; old is nil when a role is being created. The editor needs
// roles.manage; the built-in Owner role cannot be edited; every
// permission whose scope changes must be within the editor's own scope.
// Invalid permissions give a *directory.InvalidError, refusals a
// *DeniedError.
func CanEditRole(editor *Subject, old *directory.Role, newPerms map[string]string) error {
	if err := CanDo(editor, RolesManage); err != nil {
		return err
	}
	if old != nil && old.Builtin == directory.BuiltinOwner {
		return deny(RolesManage, "the Owner role cannot be edited")
	}
	if err := ValidatePerms(newPerms); err != nil {
		return err
	}
	var before [numPerms]Scope
	if old != nil {
		before = scopesOf(old.Perms)
	}
	after := scopesOf(newPerms)
	for i := range catalog {
		if before[i] != after[i] {
			if err := editor.within(i, before[i], after[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// CanAssignRoles decides whether editor may give the user target the roles
// roles in place of target.Roles. Only the roles added or taken away are
// checked: each must be within the editor's own scopes, and the Owner role
// only an owner may grant or take. The editor needs users.manage covering
// the target, or users.create when the target is a new account (User.ID 0).
// No one but an owner changes their own roles, and only an owner changes
// another owner's. The last owner is protected by the store
// (directory.ErrLastOwner), not here.
func CanAssignRoles(editor *Subject, target *directory.Access, roles []directory.Role) error {
	if err := editor.manages(target); err != nil {
		return err
	}
	for i := range roles {
		if !holds(target.Roles, roles[i].ID) {
			if err := editor.grantable(&roles[i]); err != nil {
				return err
			}
		}
	}
	for i := range target.Roles {
		if !holds(roles, target.Roles[i].ID) {
			if err := editor.grantable(&target.Roles[i]); err != nil {
				return err
			}
		}
	}
	return nil
}

// CanSetOverrides decides whether editor may replace target's overrides
// with perms (seeds 002, 003); an empty perms is "reset to role". The editor
// needs users.manage covering the target, and for every permission whose
// override is set, changed or removed, the target's effective scope before
// and after must be within the editor's own. No one but an owner changes
// their own overrides, and only an owner changes another owner's.
func CanSetOverrides(editor *Subject, target *directory.Access, perms map[string]string) error {
	if err := editor.manages(target); err != nil {
		return err
	}
	if err := ValidatePerms(perms); err != nil {
		return err
	}
	ts := NewSubject(target)
	for i, d := range catalog {
		old, had := target.Overrides[string(d.p)]
		v, has := perms[string(d.p)]
		if had == has && old == v {
			continue
		}
		before := ts.scope(i)
		after := ts.roleScope(i)
		if has {
			after, _ = scopeIn(i, v)
		}
		if ts.owner {
			after = before // overrides do not touch an owner
		}
		if err := editor.within(i, before, after); err != nil {
			return err
		}
	}
	return nil
}

// manages checks that editor may change target's permissions at all.
func (s *Subject) manages(target *directory.Access) error {
	if target == nil {
		return deny(UsersManage, "no such user")
	}
	if target.User.ID == 0 {
		return CanDo(s, UsersCreate)
	}
	if target.User.ID == s.UserID() && !s.Owner() {
		if err := Can(s, UsersManage, UserResource(&target.User)); err != nil {
			return err
		}
		return deny(UsersManage, "you cannot change your own permissions")
	}
	return CanManageUser(s, UsersManage, target)
}

// grantable checks that s may grant or take the role r.
func (s *Subject) grantable(r *directory.Role) error {
	if r.Builtin == directory.BuiltinOwner {
		if s.Owner() {
			return nil
		}
		return deny(UsersManage, "only an owner can grant or take the Owner role")
	}
	for i, d := range catalog {
		if sc, mine := storedScope(r.Perms, i), s.scope(i); sc > mine {
			return deny(d.p, fmt.Sprintf("role %s grants %s, above your own %s", r.Name, sc, mine))
		}
	}
	return nil
}

// within checks that s may move permission i from one scope to another.
func (s *Subject) within(i int, from, to Scope) error {
	mine := s.scope(i)
	switch {
	case to > mine:
		return deny(catalog[i].p, fmt.Sprintf("cannot grant %s, above your own %s", to, mine))
	case from > mine:
		return deny(catalog[i].p, fmt.Sprintf("cannot change it from %s, above your own %s", from, mine))
	}
	return nil
}

// roleScope returns the highest scope of permission i among s's roles,
// ignoring overrides: what "reset to role" leads to.
func (s *Subject) roleScope(i int) Scope {
	var sc Scope
	for j := range s.roles {
		sc = max(sc, s.roles[j].scopes[i])
	}
	return sc
}

func scopesOf(perms map[string]string) [numPerms]Scope {
	var out [numPerms]Scope
	for i := range catalog {
		out[i] = storedScope(perms, i)
	}
	return out
}

func holds(roles []directory.Role, id int64) bool {
	for i := range roles {
		if roles[i].ID == id {
			return true
		}
	}
	return false
}
