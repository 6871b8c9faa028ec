package auth

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/creds"
	"github.com/switchboard-pbx/switchboard/sip/digest"
	"github.com/switchboard-pbx/switchboard/sip/guard"
	"github.com/switchboard-pbx/switchboard/sip/location"
	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// StoreRetryAfter is what a phone is told to wait when the directory
// cannot answer for an extension not cached.
const StoreRetryAfter = "30"

// Headers names the headers of a digest exchange: a registrar's (401) or a
// proxy's (407), which INVITE and other requests that cost money get (RFC
// 3261 §22.3).
type Headers struct {
	code                 int
	reason, auth, answer string
	answerLower          string // answer in lower case
}

var (
	// Registrar challenges with 401 and WWW-Authenticate; the answer comes
	// in Authorization.
	Registrar = Headers{401, "Unauthorized", "WWW-Authenticate", "Authorization", "authorization"}
	// Proxy challenges with 407 and Proxy-Authenticate; the answer comes
	// in Proxy-Authorization.
	Proxy = Headers{407, "Proxy Authentication Required", "Proxy-Authenticate", "Proxy-Authorization",
		"proxy-authorization"}
)

// Answer returns the name, in lower case, of the header that carries the
// answer to h's challenge.
func (h Headers) Answer() string { return h.answerLower }

// Config sets a Checker.
type Config struct {
	Agent  string // the Server header of its responses
	Domain string // the realm in force at first (SetRealm changes it)
	// Algorithms are offered in challenges, in this order.
	Algorithms []digest.Algorithm
	// MD5OnlyAgents are User-Agent substrings (lower case) of phones
	// offered MD5 alone.
	MD5OnlyAgents []string
	// StoreTimeout bounds one directory call.
	StoreTimeout time.Duration
}

// Parts are what a Checker works with, shared with the rest of the server.
type Parts struct {
	Store  directory.Store
	Log    *slog.Logger
	Creds  *creds.Cache
	Loc    *location.Table // Current drops the phones of an account gone
	Guard  *guard.Guard
	Nonces *digest.Nonces
	// Dropped is told of a request answered as a failure without its
	// credentials being checked (the extension's budget is spent), Failed
	// of every failed authentication after the guard counted it. Either
	// may be nil.
	Dropped func(reason string)
	Failed  func(ip netip.Addr, ext string)
}

// Checker checks the digest credentials of requests. It reads the
// directory only when the credentials cache may be stale.
type Checker struct {
	cfg     Config
	store   directory.Store
	log     *slog.Logger
	creds   *creds.Cache
	loc     *location.Table
	guard   *guard.Guard
	nonces  *digest.Nonces
	dropped func(reason string)
	failed  func(ip netip.Addr, ext string)

	domain atomic.Pointer[string] // the realm in force
}

// New returns a Checker of cfg over parts.
func New(cfg Config, parts Parts) *Checker {
	c := &Checker{cfg: cfg, store: parts.Store, log: parts.Log, creds: parts.Creds, loc: parts.Loc,
		guard: parts.Guard, nonces: parts.Nonces, dropped: parts.Dropped, failed: parts.Failed}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.domain.Store(&cfg.Domain)
	return c
}

// Realm returns the SIP domain in force.
func (c *Checker) Realm() string { return *c.domain.Load() }

// SetRealm puts a SIP domain in force and returns the one it replaces.
func (c *Checker) SetRealm(d string) string { return *c.domain.Swap(&d) }

// Check checks the digest credentials of req, from ip, as a registrar or a
// proxy (h). It answers the request itself and returns false unless they
// are good:
//   - none: a challenge; a nonce of ours that is old or replayed with an
//     otherwise correct digest: a fresh challenge with stale=true;
//   - unknown extension, wrong password, a network the extension may not
//     use, a uri other than the Request-URI, a nonce that is not ours, an
//     extension whose failure budget is spent: the same challenge,
//     counted by the guard;
//   - the old password of a deleted extension: 403;
//   - the directory cannot answer for an uncached extension: 503.
func (c *Checker) Check(req *sip.Request, tx sip.ServerTransaction, ip netip.Addr, h Headers) (*creds.Credential, bool) {
	realm := c.Realm()
	ac, found, err := credentials(req, h, realm)
	if err != nil {
		c.respond(tx, req, 400, "Malformed "+h.answer)
		return nil, false
	}
	if !found {
		c.challengeWith(req, tx, h, false, "")
		return nil, false
	}
	alg, nc, err := ac.Check()
	if err != nil {
		c.respond(tx, req, 400, "Malformed "+h.answer)
		return nil, false
	}
	user := ac.Username
	if c.guard.Locked(ip, user) {
		c.respond(tx, req, 403, "Forbidden")
		return nil, false
	}
	// RFC 3261 §22.4: the digest is of this request: a uri naming another
	// resource is a failure, whatever the response says.
	if !sameResource(ac.URI, req.Recipient) {
		c.fail(req, tx, h, ip, user, ac.Nonce)
		return nil, false
	}
	// The extension's budget is spent: its credentials are not checked
	// from here (the answer is a wrong password's).
	if c.guard.Spent(ip, user) {
		if c.dropped != nil {
			c.dropped("extension budget spent")
		}
		c.fail(req, tx, h, ip, user, ac.Nonce)
		return nil, false
	}
	cred, err := c.Credential(user)
	if err != nil {
		c.send(tx, c.response(req, 503, "Service Unavailable").Add("Retry-After", StoreRetryAfter))
		return nil, false
	}
	if cred == nil {
		if dead, ok := c.creds.Deleted(user); ok && ac.Realm == dead.Realm && ac.Verify(alg, dead.HA1(alg), string(req.Method)) {
			c.respond(tx, req, 403, "Forbidden")
			return nil, false
		}
		// Same work and the same answer as a wrong password.
		ac.Verify(alg, digest.DummyHA1(alg), string(req.Method))
		c.fail(req, tx, h, ip, user, ac.Nonce)
		return nil, false
	}
	if !cred.Allows(ip) {
		c.log.Warn("request from a network the extension may not use", "ext", user, "src", ip.String())
		c.fail(req, tx, h, ip, user, ac.Nonce)
		return nil, false
	}
	if ac.Realm != realm || cred.Realm != realm {
		if cred.Realm != realm && cred.WarnRealm() {
			c.log.Warn("extension password was set for another sip domain; set it again",
				"ext", user, "domain", realm)
		}
		c.fail(req, tx, h, ip, user, ac.Nonce)
		return nil, false
	}
	if !ac.Verify(alg, cred.HA1(alg), string(req.Method)) {
		c.fail(req, tx, h, ip, user, ac.Nonce)
		return nil, false
	}
	// The digest is right; only now does the nonce's age matter. A nonce
	// that is not ours (its MAC fails) is a forgery, not an old nonce: a
	// failure like a wrong password. Nonces are made under the key the
	// nodes share, so one of another node or of a previous run is ours.
	state := c.nonces.Check(ac.Nonce)
	if state == digest.Fresh {
		state = c.nonces.Use(ac.Nonce, nc)
	}
	switch state {
	case digest.Foreign:
		c.fail(req, tx, h, ip, user, "")
		return nil, false
	case digest.Expired, digest.Replay:
		c.challengeWith(req, tx, h, true, "")
		return nil, false
	}
	c.guard.Succeed(ip, user)
	return cred, true
}

// credentials returns the digest credentials of req (as h) for realm: the
// first in the Digest scheme, or a later one naming realm; found is false
// when there is none.
func credentials(req *sip.Request, h Headers, realm string) (ac digest.Credentials, found bool, err error) {
	for hdr := range wire.Headers(req, h.answerLower) {
		if !digestScheme(hdr.Value()) {
			// RFC 4475 §3.1.2.? (regaut01): credentials in a scheme we do
			// not know are no credentials: the phone gets our challenge.
			continue
		}
		a, err := digest.ParseAuthorization(hdr.Value())
		if err != nil {
			return ac, false, err
		}
		if !found || a.Realm == realm {
			ac, found = a, true
		}
	}
	return ac, found, nil
}

// Cached reports whether Check and Current can answer req (as h) without
// the store: the extension its credentials name is cached and confirmed
// at the store's user version, or cannot exist, or the request is refused
// before any lookup. A false answer changes nothing: the caller may go on
// with Check where it can wait (a goroutine, not a socket's reader).
func (c *Checker) Cached(req *sip.Request, h Headers) bool {
	ac, found, err := credentials(req, h, c.Realm())
	if err != nil || !found {
		return true
	}
	if cred, ok := c.creds.Lookup(ac.Username); ok {
		return cred == nil || cred.CheckedAt(c.accountVersion())
	}
	return directory.ValidateExtension("extension", ac.Username) != nil
}

// Credential finds the extension in the cache, or in the store when it is
// not cached (created on another node a moment ago). A store failure is an
// error, never "not found", and nothing is cached for a miss.
func (c *Checker) Credential(ext string) (*creds.Credential, error) {
	if cred, ok := c.creds.Lookup(ext); ok {
		return cred, nil
	}
	if directory.ValidateExtension("extension", ext) != nil {
		return nil, nil // cannot exist: spare the store
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.StoreTimeout)
	defer cancel()
	u, err := c.store.UserByExtension(ctx, ext)
	switch {
	case errors.Is(err, directory.ErrNotFound):
		return nil, nil
	case err != nil:
		c.log.Debug("extension lookup failed", "ext", ext, "err", err)
		return nil, err
	case !u.State.CanUseSIP():
		return nil, nil
	}
	return c.creds.Add(u), nil
}

// fail counts a failed authentication and answers like for any other.
// The challenge repeats the nonce the phone used while it is fresh, which
// tells it its password was refused rather than its nonce.
func (c *Checker) fail(req *sip.Request, tx sip.ServerTransaction, h Headers, ip netip.Addr, ext, nonce string) {
	c.guard.Fail(ip, ext)
	if c.failed != nil {
		c.failed(ip, ext)
	}
	if c.nonces.Check(nonce) != digest.Fresh {
		nonce = ""
	}
	c.challengeWith(req, tx, h, false, nonce)
}

// challengeWith answers with one challenge per algorithm, on nonce or a
// new one.
func (c *Checker) challengeWith(req *sip.Request, tx sip.ServerTransaction, h Headers, stale bool, nonce string) {
	c.send(tx, c.challenge(req, h, stale, nonce))
}

// Challenge is a 401 or 407 (h) to req with one challenge per algorithm
// offered, on a new nonce.
func (c *Checker) Challenge(req *sip.Request, h Headers) *wire.Reply {
	return c.challenge(req, h, false, "")
}

// challenge is Challenge on nonce, a new one when "", stale or not.
func (c *Checker) challenge(req *sip.Request, h Headers, stale bool, nonce string) *wire.Reply {
	res := c.response(req, h.code, h.reason)
	if nonce == "" {
		nonce = c.nonces.New()
	}
	realm := c.Realm()
	algs := c.cfg.Algorithms
	if hdr := wire.Header(req, "user-agent"); hdr != nil && guard.MatchAgent(hdr.Value(), c.cfg.MD5OnlyAgents) {
		algs = []digest.Algorithm{digest.MD5}
	}
	for _, alg := range algs {
		res.Add(h.auth, digest.Challenge(realm, nonce, alg, stale))
	}
	return res
}

// response starts a response to req with our Server header.
func (c *Checker) response(req *sip.Request, code int, reason string) *wire.Reply {
	return wire.NewReply(req, code, reason, c.cfg.Agent)
}

func (c *Checker) respond(tx sip.ServerTransaction, req *sip.Request, code int, reason string) {
	c.send(tx, c.response(req, code, reason))
}

func (c *Checker) send(tx sip.ServerTransaction, res *wire.Reply) {
	if err := wire.Respond(tx, res); err != nil {
		c.log.Debug("sip response not sent", "code", res.Code(), "err", err)
	}
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
