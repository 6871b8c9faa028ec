package call

import (
	"net/netip"

	"github.com/emiago/sipgo/sip"
	"github.com/switchboard-pbx/switchboard/sip/leg"
	"github.com/switchboard-pbx/switchboard/sip/trunk"
	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// Only a dialog's own peer changes the dialog. An in-dialog request (BYE,
// re-INVITE, REFER, NOTIFY, INFO, UPDATE, PRACK, ACK) reaches a call's
// logic only when
//   - its Call-ID, From tag and To tag are those of one of the call's legs
//     (RFC 3261 §12.2.2), and
//   - it comes from that leg's peer: the address the leg's requests go to
//     (the phone's source, its TCP connection's address, the trunk), or a
//     source that holds a current registration of the leg's extension (a
//     phone whose NAT mapping changed and that registered again), or, for
//     a leg to a trunk, an address of a configured trunk.
//
// Anything else is answered 481 and changes nothing: knowing a Call-ID,
// even with both tags, is not enough to end, hold or transfer a call.
// A call applies this through its admission (legadmit.go); fromPeer below
// is the check of a peer.

// fromPeer reports whether req comes from the peer of a leg whose requests
// go to dest and whose party is extension ext ("" outside the PBX); a leg
// to a carrier (ext "") answers from any address of carrier, or of any
// trunk when carrier is nil.
func fromPeer(b *Core, req *sip.Request, dest, ext string, carrier *trunk.Trunk) bool {
	ip := leg.PeerIP(req.Source())
	if !ip.IsValid() {
		return false
	}
	if leg.PeerIP(dest) == ip {
		return true
	}
	if ext != "" {
		return b.Bindings.RegisteredExt(ip, ext)
	}
	// A carrier answers or hangs up from any of its trunk's addresses.
	if carrier != nil {
		return b.Carriers.From(ip) == carrier
	}
	return b.Carriers.From(ip) != nil
}

func SameIP(a, b string) bool {
	x := leg.PeerIP(a)
	return x.IsValid() && x == leg.PeerIP(b)
}

// CancelFrom reports whether a CANCEL (raw bytes) from ip may reach the
// INVITE it names: when a call has its Call-ID, only from the caller's
// address. A CANCEL naming no call goes on (sipgo answers 481 or matches
// a transaction we do not own, such as a supervisor's).
func (b *Core) CancelFrom(ip netip.Addr, data []byte) bool {
	id := wire.HeaderValue(data, "call-id")
	if id == nil {
		id = wire.HeaderValue(data, "i") // compact form
	}
	if id == nil {
		return true // malformed: sipgo answers 400
	}
	c := b.Lookup(string(id))
	if c == nil || c.ID != string(id) {
		return true
	}
	src := leg.PeerIP(c.AReq.Source())
	return src.IsValid() && src == ip.Unmap()
}

// TakesAck reports whether an ACK with Call-ID callID, top Via branch and
// CSeq number cseq acknowledges the 2xx of the caller's INVITE: of leg
// A, with the INVITE's CSeq and another branch (RFC 3261 §17.1.1.3: the
// ACK of a non-2xx has the INVITE's, and its transaction absorbs it).
// AReq is fixed before the call is filed, so any goroutine may ask.
func (c *Call) TakesAck(callID, branch string, cseq uint32) bool {
	if callID != c.ID || c.AReq.CSeq() == nil || c.AReq.CSeq().SeqNo != cseq {
		return false
	}
	via := c.AReq.Via()
	if via == nil {
		return false
	}
	invite, _ := via.Params.Get("branch")
	return branch != "" && branch != invite
}
