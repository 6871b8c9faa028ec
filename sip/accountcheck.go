package sip

import "github.com/switchboard-pbx/switchboard/directory"

// current (registrar.go) asks the directory, for every authenticated
// request, whether the extension is still what the cache says. With a
// store that counts its user changes (directory.UserVersioner) that read
// is skipped while nothing changed: a credential found current is marked
// with the store's user version read before the lookup, and while the
// version stays the same no user was changed through this store since, so
// the answer stands. Any user change (a deletion, a block, a new extension
// password, of whoever) makes every extension look again once. Changes
// made through another store (another node, another process on the same
// SQLite file) reach the cache through the change log, as they always did:
// at once with PostgreSQL's notifications, within FollowInterval else.

// accountVersion returns the store's user version plus one, or 0 when the
// store does not count its user changes (every request then asks).
func (r *registrar) accountVersion() uint64 {
	uv, ok := r.store.(directory.UserVersioner)
	if !ok {
		return 0
	}
	return uv.UserVersion() + 1
}
