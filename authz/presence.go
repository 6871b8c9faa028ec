package authz

import "github.com/switchboard-pbx/switchboard/directory"

// Watch decides whether watcher may see target's status (busy lamp,
// presence, the dashboard) and, when it may, whether also who target talks
// to:
//   - the watcher's presence.observe must cover target (own: only
//     themself; department: the members of their groups; any);
//   - target's presence.share must cover the watcher (department: target
//     shows its status to the members of its groups; any: to everyone);
//   - the peer is shown only where target's calls.share covers the
//     watcher the same way.
//
// A watcher whose presence.observe is any (a supervisor's, an admin's)
// sees everyone, peers included, whatever they share: sharing is between
// colleagues. A user always sees themself, peers included. It returns nil or the
// refusal (a *DeniedError naming the permission that refused).
func Watch(watcher, target *Subject) (info bool, err error) {
	if watcher == nil || target == nil || watcher.userID == 0 || target.userID == 0 ||
		watcher.state == directory.UserDeleted || target.state == directory.UserDeleted {
		return false, deny(PresenceObserve, reasonNone)
	}
	if watcher.userID == target.userID {
		return true, nil
	}
	if err := Can(watcher, PresenceObserve, Resource{Kind: KindUser, UserIDs: []int64{target.userID}}); err != nil {
		return false, err
	}
	if watcher.scope(index(PresenceObserve)) == ScopeAny {
		return true, nil
	}
	w := Resource{Kind: KindUser, UserIDs: []int64{watcher.userID}}
	if !target.allows(index(PresenceShare), w) {
		return false, deny(PresenceShare, "the user does not share their status with you")
	}
	return target.allows(index(CallsShare), w), nil
}
