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
func (r *registrar) authenticateCall(req *sip.Request, tx sip.ServerTransaction, ip netip.Addr) (*credential, bool) {
	return r.checkDigest(req, tx, ip, true)
}
