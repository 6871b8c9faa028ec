package authz

import (
	"fmt"

	"github.com/switchboard-pbx/switchboard/directory"
)

// CanManageUser decides whether actor may use p (users.manage, or
// users.create for block, unblock and delete) on the account target: its
// credentials, e-mail, roles, overrides, forwarding or state.
//
// Nobody manages someone who outranks them. Beyond p covering the target,
// the target's effective permissions must all be within the actor's own
// (a subset, permission by permission), and an owner is changed only by an
// owner. Without this rule an Admin could reset the Owner's web password,
// sign in as the Owner and hold everything; a team lead could take over a
// member who was given more than the lead holds.
//
// One's own account is not outranked by oneself: what a user may change
// about themselves (their own roles and overrides not at all, unless an
// owner) is decided by CanAssignRoles and CanSetOverrides.
func CanManageUser(actor *Subject, p Permission, target *directory.Access) error {
	if target == nil {
		return deny(p, "no such user")
	}
	if index(p) < 0 {
		return deny(p, reasonUnknown)
	}
	if catalog[index(p)].kinds.has(KindUser) {
		if err := Can(actor, p, UserResource(&target.User)); err != nil {
			return err
		}
	} else if err := CanDo(actor, p); err != nil {
		return err
	}
	if target.User.ID != 0 && target.User.ID == actor.UserID() {
		return nil
	}
	// The target's rank is what they hold while active: blocking or deleting
	// an owner does not make them anyone's to unblock.
	ta := *target
	ta.User.State = directory.UserActive
	ts := NewSubject(&ta)
	if ts.owner && !actor.Owner() {
		return deny(p, "only an owner can change an owner's account")
	}
	for i, d := range catalog {
		if theirs, mine := ts.scope(i), actor.scope(i); theirs > mine {
			return deny(p, fmt.Sprintf("they hold %s %s, above your own %s: you may manage only users whose permissions are within yours",
				d.p, theirs, mine))
		}
	}
	return nil
}
