package sip

import (
	"net/netip"
	"strconv"
	"time"

	"github.com/emiago/sipgo/sip"
)

// dialog is one side of a call as the PBX sees it (RFC 3261 §12): enough
// to send requests inside it. A B2BUA keeps two, one per leg, and nothing
// of sipgo's dialog caches.
type dialog struct {
	callID    string
	localURI  sip.Uri // our From address
	localTag  string
	remoteURI sip.Uri // their To address
	remoteTag string
	target    sip.Uri // their Contact: the Request-URI of our requests
	// dest is where requests really go: the phone's source address (NAT,
	// its own TCP or TLS connection) or the trunk; transport is UDP, TCP
	// or TLS.
	dest      string
	transport string
	contact   sip.ContactHeader // ours
	cseq      uint32            // our last CSeq
}

// request builds an in-dialog request. ACK takes the CSeq of the last
// INVITE; others take the next one.
func (d *dialog) request(method sip.RequestMethod) *sip.Request {
	req := sip.NewRequest(method, *d.target.Clone())
	req.AppendHeader(&sip.FromHeader{Address: d.localURI, Params: sip.HeaderParams{{K: "tag", V: d.localTag}}})
	to := &sip.ToHeader{Address: d.remoteURI}
	if d.remoteTag != "" {
		to.Params = sip.HeaderParams{{K: "tag", V: d.remoteTag}}
	}
	req.AppendHeader(to)
	cid := sip.CallIDHeader(d.callID)
	req.AppendHeader(&cid)
	if method != sip.ACK && method != sip.CANCEL {
		d.cseq++
	}
	req.AppendHeader(&sip.CSeqHeader{SeqNo: d.cseq, MethodName: method})
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	if method != sip.BYE && method != sip.CANCEL {
		req.AppendHeader(sip.HeaderClone(&d.contact))
	}
	req.SetTransport(d.transport)
	req.SetDestination(d.dest)
	return req
}

// tag returns the tag parameter of a From or To header.
func tag(p sip.HeaderParams) string {
	v, _ := p.Get("tag")
	return v
}

// hopLimit returns the Max-Forwards of a request, 70 when absent.
func hopLimit(req *sip.Request) uint32 {
	if mf := req.MaxForwards(); mf != nil {
		return mf.Val()
	}
	return 70
}

func itoa(n int) string { return strconv.Itoa(n) }

// peerIP returns the IP address of a dialog's dest or a request's source
// ("ip:port"): the relay may take a NATed phone's media from there. A host
// name (a trunk's) gives the zero Addr: only the SDP's address counts.
func peerIP(dest string) netip.Addr {
	ap, err := netip.ParseAddrPort(dest)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}

// byeTimeout bounds a BYE or CANCEL we send at the end of a call.
const byeTimeout = 4 * time.Second

// uasDialog is our side of the dialog that req, an INVITE we answer, sets
// up: req already carries our To-tag; its requests go to the Contact, sent
// back to where req came from, and our Contact faces that source.
func (b *b2bua) uasDialog(req *sip.Request) dialog {
	src := req.Source()
	return dialog{callID: req.CallID().Value(), localURI: req.To().Address, localTag: tag(req.To().Params),
		remoteURI: req.From().Address, remoteTag: tag(req.From().Params), target: req.Contact().Address,
		dest: src, transport: req.Transport(), contact: b.contactFor(src, req.Transport())}
}
