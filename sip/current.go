package sip

import (
	"context"
	"errors"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
)

// current makes sure an authenticated extension is still what the cache
// says, and answers the request itself when it is not. The cache follows
// the directory's change log in the background within a second or so; in
// that second an account just deleted must not register or call, and a
// phone with a password just replaced must not go on with the old one:
//   - the account is gone or off SIP: 403, its cache entry and phones
//     dropped at once;
//   - its extension password changed: the cache takes the new one and the
//     phone gets a fresh challenge.
//
// It does so by catching up with the change log (catchUp) before it looks
// at the cache again: every change committed before the request arrived is
// applied by then, and one read of the log serves every request that came
// in meanwhile, where asking the directory for each extension cost a query
// per request. Until the log has been loaded once, it asks the directory
// for the one extension. With the directory away the cache answers (true),
// as for everything else.
func (s *Server) current(req *sip.Request, tx sip.ServerTransaction, cred *credential, dh digestHeaders) bool {
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.StoreTimeout)
	defer cancel()
	switch s.catchUp(ctx) {
	case caughtUp:
	case storeAway:
		return true
	default:
		return s.currentByQuery(ctx, req, tx, cred, dh)
	}
	now, ok := s.creds.Lookup(cred.Ext)
	if ok && now.UserID == cred.UserID && now.Realm == cred.Realm &&
		now.HA1MD5 == cred.HA1MD5 && now.HA1SHA256 == cred.HA1SHA256 {
		return true
	}
	if ok && now.UserID == cred.UserID {
		s.log.Info("extension password changed since it was cached; challenging again", "ext", cred.Ext)
		s.challengeWith(req, tx, dh, false, "")
		return false
	}
	// Gone, off SIP, or the extension now belongs to someone else: the
	// change log has dropped its phones already.
	s.log.Info("request of an extension no longer on sip refused", "ext", cred.Ext)
	s.respond(tx, req, 403, "Forbidden")
	return false
}

// catchUpResult is what catchUp could do.
type catchUpResult uint8

const (
	caughtUp  catchUpResult = iota // every change committed before the call is applied
	storeAway                      // reading the log failed: the cache answers
	notLoaded                      // the log was never loaded, or must be reloaded in full
)

// catchUp applies the change log up to at least the moment it was called.
// Calls arriving together share one read: a caller waits for a round of
// reading that started after it arrived (its own, or one that another
// caller or the background follower started), so no change committed
// before it is missed, and at a high request rate one query serves many
// requests. A round that failed after the caller arrived answers it too
// (storeAway): the directory is away, and asking again per request would
// only queue the requests behind its timeouts.
func (s *Server) catchUp(ctx context.Context) catchUpResult {
	f := &s.follow
	want := f.started.Load() + 1
	finished := f.finished.Load()
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case f.started.Load() >= want: // a whole round ran since we came
		return f.last
	case f.finished.Load() > finished && f.last == storeAway:
		return storeAway
	case !f.loaded || f.down:
		return notLoaded
	}
	f.started.Add(1)
	f.last = caughtUp
	if err := s.followChanges(ctx); err != nil {
		s.log.Debug("catching up with the change log failed", "err", err)
		f.last = storeAway
	}
	f.finished.Add(1)
	return f.last
}

// currentByQuery is current before the change log is loaded: it asks the
// directory for the one extension.
func (s *Server) currentByQuery(ctx context.Context, req *sip.Request, tx sip.ServerTransaction, cred *credential, dh digestHeaders) bool {
	a, err := s.store.SIPAccount(ctx, cred.Ext)
	switch {
	case errors.Is(err, directory.ErrNotFound):
	case err != nil:
		return true
	case a.UserID == cred.UserID && a.State.CanUseSIP() && a.SIP.Realm == cred.Realm &&
		a.SIP.HA1MD5 == cred.HA1MD5 && a.SIP.HA1SHA256 == cred.HA1SHA256:
		return true
	}
	// Something changed: the whole user, as the change log would give it.
	u, err := s.store.UserByExtension(ctx, cred.Ext)
	switch {
	case errors.Is(err, directory.ErrNotFound):
		u = &directory.User{ID: cred.UserID, State: directory.UserDeleted}
	case err != nil:
		return true
	}
	if u.ID != cred.UserID { // the extension now belongs to someone else
		u = &directory.User{ID: cred.UserID, State: directory.UserDeleted}
	}
	if ext := s.creds.Update(u); ext != "" {
		s.loc.Drop(ctx, ext)
	}
	if u.State.CanUseSIP() {
		s.log.Info("extension password changed since it was cached; challenging again", "ext", cred.Ext)
		s.challengeWith(req, tx, dh, false, "")
		return false
	}
	s.log.Info("request of an extension no longer on sip refused", "ext", cred.Ext, "state", string(u.State))
	s.respond(tx, req, 403, "Forbidden")
	return false
}
