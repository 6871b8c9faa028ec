package sip

import (
	"context"
	"net/netip"
	"strconv"
	"strings"

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

// contactFor returns the Contact the PBX gives a peer at dest: an address
// of ours that peer can reach, with the port of our listener.
func (b *b2bua) contactFor(dest, transport string) sip.ContactHeader {
	tr := strings.ToLower(transport)
	if tr == "" {
		tr = "udp"
	}
	port := b.port(tr)
	ip := b.localIP(dest)
	uri := sip.Uri{Scheme: "sip", User: "switchboard", Host: ip.String(), Port: port}
	if tr != "udp" {
		// Over TLS too a sip: URI with transport=tls, not sips: (RFC
		// 5630 would have sips:): baresip 1.0 (libre 1.1) ends the call
		// with ENOSYS on a sips: Contact.
		uri.UriParams = sip.HeaderParams{{K: "transport", V: tr}}
	}
	return sip.ContactHeader{Address: uri}
}

// mediaIP is the relay address written into SDP sent to a peer at dest.
func (b *b2bua) mediaIP(dest string) netip.Addr {
	if ip := b.cfg.MediaIP; ip.IsValid() && !ip.IsUnspecified() {
		if pub := b.cfg.PublicIP; pub.IsValid() && b.outside(dest) {
			return pub
		}
		return ip
	}
	return b.localIP(dest)
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

// sendAndWait sends an in-dialog request that needs no answer from us other
// than its completion (BYE, CANCEL) and waits for its final response or
// ctx, so that the transaction is gone when it returns.
func (b *b2bua) sendAndWait(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	tx, err := b.s.client.TransactionRequest(ctx, req)
	if err != nil {
		return nil, err
	}
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				continue
			}
			return res, nil
		case <-tx.Done():
			return nil, tx.Err()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
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
