package sip

import (
	"context"
	"errors"
	"net/netip"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/creds"
	"github.com/switchboard-pbx/switchboard/sip/digest"
	"github.com/switchboard-pbx/switchboard/sip/guard"
	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// Digest authentication of requests (RFC 3261 §22, RFC 8760): the
// registrar's 401 and the proxy's 407 share it. See checkDigest.

// credential is an authenticated extension's entry in the credentials
// cache (sip/creds): what the request handlers are given of the caller.
type credential = creds.Credential

// authenticate checks the digest credentials of a REGISTER (401,
// WWW-Authenticate). See checkDigest.
func (r *registrar) authenticate(req *sip.Request, tx sip.ServerTransaction, ip netip.Addr) (*credential, bool) {
	return r.checkDigest(req, tx, ip, false)
}

// digestHeaders names the headers of a digest exchange: a registrar's
// (401) or a proxy's (407), which INVITE and other requests that cost money
// get (RFC 3261 §22.3).
type digestHeaders struct {
	code                 int
	reason, auth, answer string
	answerLower          string // answer in lower case
}

var (
	registrarDigest = digestHeaders{401, "Unauthorized", "WWW-Authenticate", "Authorization", "authorization"}
	proxyDigest     = digestHeaders{407, "Proxy Authentication Required", "Proxy-Authenticate", "Proxy-Authorization",
		"proxy-authorization"}
)

func digestFor(proxy bool) digestHeaders {
	if proxy {
		return proxyDigest
	}
	return registrarDigest
}

// checkDigest checks the digest credentials of req, as a registrar (401)
// or, with proxy, as a proxy (407). It answers the request itself and
// returns false unless they are good:
//   - none: a challenge; a nonce of ours that is old or replayed with an
//     otherwise correct digest: a fresh challenge with stale=true;
//   - unknown extension, wrong password, a network the extension may not
//     use, a uri other than the Request-URI, a nonce that is not ours, an
//     extension whose failure budget is spent: the same challenge,
//     counted by the guard;
//   - the old password of a deleted extension: 403;
//   - the directory cannot answer for an uncached extension: 503.
func (r *registrar) checkDigest(req *sip.Request, tx sip.ServerTransaction, ip netip.Addr, proxy bool) (*credential, bool) {
	dh := digestFor(proxy)
	realm := r.realm()
	var ac digest.Credentials
	found := false
	for h := range wire.Headers(req, dh.answerLower) {
		if !digestScheme(h.Value()) {
			// RFC 4475 §3.1.2.? (regaut01): credentials in a scheme we do
			// not know are no credentials: the phone gets our challenge.
			continue
		}
		c, err := digest.ParseAuthorization(h.Value())
		if err != nil {
			r.respond(tx, req, 400, "Malformed "+dh.answer)
			return nil, false
		}
		if !found || c.Realm == realm {
			ac, found = c, true
		}
	}
	if !found {
		r.challengeWith(req, tx, dh, false, "")
		return nil, false
	}
	alg, nc, err := ac.Check()
	if err != nil {
		r.respond(tx, req, 400, "Malformed "+dh.answer)
		return nil, false
	}
	user := ac.Username
	if r.guard.Locked(ip, user) {
		r.respond(tx, req, 403, "Forbidden")
		return nil, false
	}
	// RFC 3261 §22.4: the digest is of this request: a uri naming another
	// resource is a failure, whatever the response says.
	if !sameResource(ac.URI, req.Recipient) {
		r.fail(req, tx, dh, ip, user, ac.Nonce)
		return nil, false
	}
	// The extension's budget is spent: its credentials are not checked
	// from here (the answer is a wrong password's).
	if r.guard.Spent(ip, user) {
		r.counters.drop("extension budget spent")
		r.fail(req, tx, dh, ip, user, ac.Nonce)
		return nil, false
	}
	cred, err := r.credential(user)
	if err != nil {
		r.send(tx, r.response(req, 503, "Service Unavailable").Add("Retry-After", storeRetryAfter))
		return nil, false
	}
	if cred == nil {
		if dead, ok := r.creds.Deleted(user); ok && ac.Realm == dead.Realm && ac.Verify(alg, dead.HA1(alg), string(req.Method)) {
			r.respond(tx, req, 403, "Forbidden")
			return nil, false
		}
		// Same work and the same answer as a wrong password.
		ac.Verify(alg, digest.DummyHA1(alg), string(req.Method))
		r.fail(req, tx, dh, ip, user, ac.Nonce)
		return nil, false
	}
	if !cred.Allows(ip) {
		r.log.Warn("request from a network the extension may not use", "ext", user, "src", ip.String())
		r.fail(req, tx, dh, ip, user, ac.Nonce)
		return nil, false
	}
	if ac.Realm != realm || cred.Realm != realm {
		if cred.Realm != realm && cred.WarnRealm() {
			r.log.Warn("extension password was set for another sip domain; set it again",
				"ext", user, "domain", realm)
		}
		r.fail(req, tx, dh, ip, user, ac.Nonce)
		return nil, false
	}
	if !ac.Verify(alg, cred.HA1(alg), string(req.Method)) {
		r.fail(req, tx, dh, ip, user, ac.Nonce)
		return nil, false
	}
	// The digest is right; only now does the nonce's age matter. A nonce
	// that is not ours (its MAC fails) is a forgery, not an old nonce: a
	// failure like a wrong password. Nonces are made under the key the
	// nodes share, so one of another node or of a previous run is ours.
	state := r.nonces.Check(ac.Nonce)
	if state == digest.Fresh {
		state = r.nonces.Use(ac.Nonce, nc)
	}
	switch state {
	case digest.Foreign:
		r.fail(req, tx, dh, ip, user, "")
		return nil, false
	case digest.Expired, digest.Replay:
		r.challengeWith(req, tx, dh, true, "")
		return nil, false
	}
	r.guard.Succeed(ip, user)
	return cred, true
}

// credential finds the extension in the cache, or in the store when it is
// not cached (created on another node a moment ago). A store failure is an
// error, never "not found", and nothing is cached for a miss.
func (r *registrar) credential(ext string) (*credential, error) {
	if c, ok := r.creds.Lookup(ext); ok {
		return c, nil
	}
	if directory.ValidateExtension("extension", ext) != nil {
		return nil, nil // cannot exist: spare the store
	}
	ctx, cancel := context.WithTimeout(context.Background(), r.cfg.StoreTimeout)
	defer cancel()
	u, err := r.store.UserByExtension(ctx, ext)
	switch {
	case errors.Is(err, directory.ErrNotFound):
		return nil, nil
	case err != nil:
		r.log.Debug("extension lookup failed", "ext", ext, "err", err)
		return nil, err
	case !u.State.CanUseSIP():
		return nil, nil
	}
	return r.creds.Add(u), nil
}

// fail counts a failed authentication and answers like for any other.
// The challenge repeats the nonce the phone used while it is fresh, which
// tells it its password was refused rather than its nonce.
func (r *registrar) fail(req *sip.Request, tx sip.ServerTransaction, dh digestHeaders, ip netip.Addr, ext, nonce string) {
	r.authFailed(ip, ext)
	if r.nonces.Check(nonce) != digest.Fresh {
		nonce = ""
	}
	r.challengeWith(req, tx, dh, false, nonce)
}

// authFailed counts a failed authentication of ext from ip.
func (r *registrar) authFailed(ip netip.Addr, ext string) {
	r.guard.Fail(ip, ext)
	r.counters.authFailures.Add(1)
	if r.hooks.failed != nil {
		r.hooks.failed(ip, ext)
	}
}

// challengeWith answers with one challenge per algorithm, on nonce or a
// new one.
func (r *registrar) challengeWith(req *sip.Request, tx sip.ServerTransaction, dh digestHeaders, stale bool, nonce string) {
	r.send(tx, r.challenge(req, dh, stale, nonce))
}

// challenge is a 401 or 407 with one challenge per algorithm offered, on
// nonce or a new one.
func (r *registrar) challenge(req *sip.Request, dh digestHeaders, stale bool, nonce string) *wire.Reply {
	res := r.response(req, dh.code, dh.reason)
	if nonce == "" {
		nonce = r.nonces.New()
	}
	realm := r.realm()
	algs := r.algs
	if h := wire.Header(req, "user-agent"); h != nil && guard.MatchAgent(h.Value(), r.md5Only) {
		algs = []digest.Algorithm{digest.MD5}
	}
	for _, alg := range algs {
		res.Add(dh.auth, digest.Challenge(realm, nonce, alg, stale))
	}
	return res
}

// sameResource reports whether the uri of a digest answer names the
// Request-URI (RFC 3261 §22.4): the same scheme, user, host and port;
// parameters and headers aside, and a missing port the same as 5060 for
// sip (5061 for sips). A uri without a user naming the request's host and
// port is taken too: SIPp (and some old clients) always answer with the
// server's address, and the digest binds the method and nonce all the same.
func sameResource(uri string, ruri sip.Uri) bool {
	var u sip.Uri
	if err := sip.ParseUri(uri, &u); err != nil {
		return false
	}
	port := func(x sip.Uri) int {
		if x.Port != 0 {
			return x.Port
		}
		if strings.EqualFold(x.Scheme, "sips") {
			return 5061
		}
		return 5060
	}
	return strings.EqualFold(u.Scheme, ruri.Scheme) && (u.User == ruri.User || u.User == "") &&
		strings.EqualFold(u.Host, ruri.Host) && port(u) == port(ruri)
}

// digestScheme reports whether an Authorization value is in the Digest
// scheme (RFC 2617: the scheme is a case-insensitive token).
func digestScheme(v string) bool {
	v = strings.TrimLeft(v, " \t")
	scheme, _, _ := strings.Cut(v, " ")
	return strings.EqualFold(strings.TrimRight(scheme, "\t"), "Digest")
}
