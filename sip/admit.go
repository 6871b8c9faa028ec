package sip

import (
	"net/netip"

	"github.com/emiago/sipgo/sip"
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

// admitted reports whether req, an in-dialog request that reached the
// call, belongs to one of its legs, and which: see above. Run by the
// call's goroutine.
func (c *call) admitted(req *sip.Request) (fromA, ok bool) {
	if c.leg[0].dlg.callID == "" {
		// Not answered yet: only the caller has a dialog (an early one,
		// with the To tag of our provisional responses).
		if !c.inEarlyDialog(req) {
			return false, false
		}
		return true, fromPeer(c.b.s, req, c.aReq.Source(), c.callerExt(), c.trunk)
	}
	for i := range c.leg {
		l := &c.leg[i]
		if !l.owns(req) {
			continue
		}
		carrier := c.trunk // leg A's, if the call came from a trunk
		if i == 1 {
			carrier = nil
		}
		if !fromPeer(c.b.s, req, l.dlg.dest, c.parties[i].ext, carrier) {
			return i == 0, false
		}
		l.followPeer(req, c.log)
		return i == 0, true
	}
	return false, false
}

// callerExt is the caller's extension, "" for a call from a trunk.
func (c *call) callerExt() string {
	if c.caller == nil {
		return ""
	}
	return c.caller.Ext
}

// fromPeer reports whether req comes from the peer of a leg whose requests
// go to dest and whose party is extension ext ("" outside the PBX); a leg
// to a carrier (ext "") answers from any address of carrier, or of any
// trunk when carrier is nil.
func fromPeer(s *Server, req *sip.Request, dest, ext string, carrier *Trunk) bool {
	ip := peerIP(req.Source())
	if !ip.IsValid() {
		return false
	}
	if peerIP(dest) == ip {
		return true
	}
	if ext != "" {
		return s.loc.RegisteredExt(ip, ext)
	}
	// A carrier answers or hangs up from any of its trunk's addresses.
	if carrier != nil {
		return s.trunkFrom(ip) == carrier
	}
	return s.trunkFrom(ip) != nil
}

// admitRequest applies admitted to a BYE, re-INVITE, REFER or other
// in-dialog request and answers the refused ones itself: a request of a
// dialog the call left after a transfer gets 200 for a BYE (that dialog is
// over anyway) and 481 otherwise, and so does a stranger's.
func (c *call) admitRequest(ev *reqEvent) bool {
	fromA, ok := c.admitted(ev.req)
	if ok {
		ev.fromA = fromA
		return true
	}
	if c.leftDialog(ev.req) && ev.req.Method == sip.BYE {
		c.b.s.respond(ev.tx, ev.req, 200, "OK")
	} else {
		c.refusedInDialog(ev.req)
		c.b.s.respond(ev.tx, ev.req, 481, "Call/Transaction Does Not Exist")
	}
	close(ev.done)
	return false
}

// leftDialog reports whether req belongs to a dialog the call left (a
// transferor's), from that dialog's peer.
func (c *call) leftDialog(req *sip.Request) bool {
	id, ftag := req.CallID().Value(), tag(req.From().Params)
	for _, d := range c.leftDialogs {
		if d.callID == id && d.remoteTag == ftag {
			return sameIP(req.Source(), d.dest)
		}
	}
	return false
}

func sameIP(a, b string) bool {
	x := peerIP(a)
	return x.IsValid() && x == peerIP(b)
}

// refusedInDialog logs and counts an in-dialog request refused: a
// stranger's, or one naming the call with wrong tags.
func (c *call) refusedInDialog(req *sip.Request) {
	c.log.Info("in-dialog request refused: not from a party of the call",
		"method", string(req.Method), "src", req.Source())
	c.b.s.counters.drop("not the dialog's peer")
}

// cancelFrom reports whether a CANCEL (raw bytes) from ip may reach the
// INVITE it names: when a call has its Call-ID, only from the caller's
// address. A CANCEL naming no call goes on (sipgo answers 481 or matches
// a transaction we do not own, such as a supervisor's).
func (b *b2bua) cancelFrom(ip netip.Addr, data []byte) bool {
	id := headerValue(data, "call-id")
	if id == nil {
		id = headerValue(data, "i") // compact form
	}
	if id == nil {
		return true // malformed: sipgo answers 400
	}
	c := b.lookup(string(id))
	if c == nil || c.id != string(id) {
		return true
	}
	src := peerIP(c.aReq.Source())
	return src.IsValid() && src == ip.Unmap()
}
