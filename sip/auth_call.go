package sip

import (
	"net/netip"

	"github.com/emiago/sipgo/sip"
)

// authenticateCall checks the digest credentials of a request that costs
// money (INVITE) as authenticate does for REGISTER, but as a proxy would
// (RFC 3261 §22.3): 407 with Proxy-Authenticate, Proxy-Authorization back.
// The guard counts failures the same way and the answers are the same for
// unknown extensions and wrong passwords.
func (s *Server) authenticateCall(req *sip.Request, tx sip.ServerTransaction, ip netip.Addr) (*credential, bool) {
	realm := s.realm()
	var ac authCredentials
	found := false
	for _, h := range req.GetHeaders("Proxy-Authorization") {
		c, err := parseAuthorization(h.Value())
		if err != nil {
			s.respond(tx, req, 400, "Malformed Proxy-Authorization")
			return nil, false
		}
		if !found || c.Realm == realm {
			ac, found = c, true
		}
	}
	if !found {
		s.proxyChallenge(req, tx, false, "")
		return nil, false
	}
	alg, nc, err := ac.check()
	if err != nil {
		s.respond(tx, req, 400, "Malformed Proxy-Authorization")
		return nil, false
	}
	user := ac.Username
	if s.guard.Locked(ip, user) {
		s.respond(tx, req, 403, "Forbidden")
		return nil, false
	}
	cred, err := s.credential(user)
	if err != nil {
		res := s.response(req, 503, "Service Unavailable")
		res.AppendHeader(sip.NewHeader("Retry-After", storeRetryAfter))
		s.send(tx, res)
		return nil, false
	}
	method := string(req.Method)
	if cred == nil {
		ac.verify(alg, dummyHA1(alg), method)
		s.proxyFail(req, tx, ip, user, ac.Nonce)
		return nil, false
	}
	if !cred.allows(ip) || ac.Realm != realm || cred.Realm != realm || !ac.verify(alg, cred.ha1(alg), method) {
		s.proxyFail(req, tx, ip, user, ac.Nonce)
		return nil, false
	}
	state := s.nonces.Check(ac.Nonce)
	if state == nonceFresh {
		state = s.nonces.Use(ac.Nonce, nc)
	}
	if state != nonceFresh {
		s.proxyChallenge(req, tx, true, "")
		return nil, false
	}
	s.guard.Succeed(ip, user)
	return cred, true
}

func (s *Server) proxyFail(req *sip.Request, tx sip.ServerTransaction, ip netip.Addr, ext, nonce string) {
	s.authFailed(ip, ext)
	if s.nonces.Check(nonce) != nonceFresh {
		nonce = ""
	}
	s.proxyChallenge(req, tx, false, nonce)
}

// proxyChallenge answers 407 with one challenge per algorithm.
func (s *Server) proxyChallenge(req *sip.Request, tx sip.ServerTransaction, stale bool, nonce string) {
	res := s.response(req, 407, "Proxy Authentication Required")
	if nonce == "" {
		nonce = s.nonces.New()
	}
	realm := s.realm()
	algs := challengeAlgorithms
	if h := req.GetHeader("User-Agent"); h != nil && scannerAgent(h.Value(), s.md5Only) {
		algs = []algorithm{algMD5}
	}
	for _, alg := range algs {
		res.AppendHeader(sip.NewHeader("Proxy-Authenticate", challenge(realm, nonce, alg, stale)))
	}
	s.send(tx, res)
}
