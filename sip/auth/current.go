package auth

import (
	"context"
	"errors"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/creds"
)

// Current asks the directory whether an authenticated extension is still
// what the cache says, and answers the request itself (as h) when it is
// not. The cache follows the directory's change log within a second or so;
// in that second an account just deleted must not register or call, and a
// phone with a password just replaced must not go on with the old one:
//   - the account is gone or off SIP: 403, its cache entry and phones
//     dropped at once;
//   - its extension password changed: the cache takes the new one and the
//     phone gets a fresh challenge.
//
// With the directory away the cache answers (true), as for everything
// else. While no user changed, the answer found last stands (see
// accountVersion).
func (c *Checker) Current(req *sip.Request, tx sip.ServerTransaction, cred *creds.Credential, h Headers) bool {
	v := c.accountVersion() // before the lookup: see accountVersion
	if cred.CheckedAt(v) {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.StoreTimeout)
	defer cancel()
	a, err := c.store.SIPAccount(ctx, cred.Ext)
	switch {
	case errors.Is(err, directory.ErrNotFound):
	case err != nil:
		return true
	case a.UserID == cred.UserID && a.State.CanUseSIP() && a.SIP.Realm == cred.Realm &&
		a.SIP.HA1MD5 == cred.HA1MD5 && a.SIP.HA1SHA256 == cred.HA1SHA256:
		cred.MarkChecked(v)
		return true
	}
	// Something changed: the whole user, as the change log would give it.
	u, err := c.store.UserByExtension(ctx, cred.Ext)
	switch {
	case errors.Is(err, directory.ErrNotFound):
		u = &directory.User{ID: cred.UserID, State: directory.UserDeleted}
	case err != nil:
		return true
	}
	if u.ID != cred.UserID { // the extension now belongs to someone else
		u = &directory.User{ID: cred.UserID, State: directory.UserDeleted}
	}
	if ext := c.creds.Update(u); ext != "" {
		c.loc.Drop(ctx, ext)
	}
	if u.State.CanUseSIP() {
		c.log.Info("extension password changed since it was cached; challenging again", "ext", cred.Ext)
		c.challengeWith(req, tx, h, false, "")
		return false
	}
	c.log.Info("request of an extension no longer on sip refused", "ext", cred.Ext, "state", string(u.State))
	c.respond(tx, req, 403, "Forbidden")
	return false
}

// Current asks the directory, for every authenticated request, whether
// the extension is still what the cache says. With a store that counts its
// user changes (directory.UserVersioner) that read is skipped while
// nothing changed: a credential found current is marked with the store's
// user version read before the lookup, and while the version stays the
// same no user was changed through this store since, so the answer stands.
// Any user change (a deletion, a block, a new extension password, of
// whoever) makes every extension look again once. Changes made through
// another store (another node, another process on the same SQLite file)
// reach the cache through the change log, as they always did: at once with
// PostgreSQL's notifications, within the follower's interval else.

// accountVersion returns the store's user version plus one, or 0 when the
// store does not count its user changes (every request then asks).
func (c *Checker) accountVersion() uint64 { return AccountVersion(c.store) }

// AccountVersion is the version a credential read from st now is
// confirmed at (Credential.MarkChecked): st's user version plus one, or 0
// when st does not count its user changes. Read it before the read it
// confirms.
func AccountVersion(st directory.Store) uint64 {
	uv, ok := st.(directory.UserVersioner)
	if !ok {
		return 0
	}
	return uv.UserVersion() + 1
}
