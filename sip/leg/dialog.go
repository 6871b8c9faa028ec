package leg

import (
	"time"

	"github.com/emiago/sipgo/sip"
)

// Dialog is one side of a call as the PBX sees it (RFC 3261 §12): enough
// to send requests inside it. A B2BUA keeps two, one per leg, and nothing
// of sipgo's dialog caches.
type Dialog struct {
	CallID    string
	LocalURI  sip.Uri // our From address
	LocalTag  string
	RemoteURI sip.Uri // their To address
	RemoteTag string
	Target    sip.Uri // their Contact: the Request-URI of our requests
	// Dest is where requests really go: the phone's source address (NAT,
	// its own TCP or TLS connection) or the trunk; Transport is UDP, TCP
	// or TLS.
	Dest      string
	Transport string
	Contact   sip.ContactHeader // ours
	CSeq      uint32            // our last CSeq
}

// Request builds an in-dialog request. ACK takes the CSeq of the last
// INVITE; others take the next one.
func (d *Dialog) Request(method sip.RequestMethod) *sip.Request {
	req := sip.NewRequest(method, d.Target) // it copies the target's parameters
	req.AppendHeader(&sip.FromHeader{Address: d.LocalURI, Params: sip.HeaderParams{{K: "tag", V: d.LocalTag}}})
	to := &sip.ToHeader{Address: d.RemoteURI}
	if d.RemoteTag != "" {
		to.Params = sip.HeaderParams{{K: "tag", V: d.RemoteTag}}
	}
	req.AppendHeader(to)
	cid := sip.CallIDHeader(d.CallID)
	req.AppendHeader(&cid)
	if method != sip.ACK && method != sip.CANCEL {
		d.CSeq++
	}
	req.AppendHeader(&sip.CSeqHeader{SeqNo: d.CSeq, MethodName: method})
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	if method != sip.BYE && method != sip.CANCEL {
		req.AppendHeader(sip.HeaderClone(&d.Contact))
	}
	req.SetTransport(d.Transport)
	req.SetDestination(d.Dest)
	return req
}

// ByeTimeout bounds a BYE or CANCEL the PBX sends at the end of a dialog.
const ByeTimeout = 4 * time.Second
