package sip

import (
	"bytes"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"sync"

	"github.com/emiago/sipgo/sip"
)

// reply is a response of the registrar (and of the digest checks) before
// it is sent: its status and the headers it adds to those every response
// copies from its request (Via, From, To, Call-ID, CSeq). On a REGISTER
// transaction of the edge (regfast.go), and as a stateless challenge, it
// is written as bytes straight from the parsed request (writeTo), with no
// sip.Response built; on one of sipgo's transactions it becomes the
// sip.Response that sipgo's NewResponseFromRequest makes (response). Both
// give the same message but for the To tag, which is random.
type reply struct {
	req    *sip.Request
	code   int
	reason string
	hdrs   []replyHeader // in order
}

type replyHeader struct{ name, value string }

// newReply starts a response to req with our Server header (agent).
func newReply(req *sip.Request, code int, reason, agent string) *reply {
	rep := &reply{req: req, code: code, reason: reason, hdrs: make([]replyHeader, 0, 4)}
	return rep.add("Server", agent)
}

// add appends a header.
func (rep *reply) add(name, value string) *reply {
	rep.hdrs = append(rep.hdrs, replyHeader{name, value})
	return rep
}

// response is rep as a sip.Response, for one of sipgo's transactions.
func (rep *reply) response() *sip.Response {
	res := sip.NewResponseFromRequest(rep.req, rep.code, rep.reason, nil)
	for _, h := range rep.hdrs {
		res.AppendHeader(sip.NewHeader(h.name, h.value))
	}
	return res
}

// writeTo writes rep as sipgo would write its response(): the request's
// Record-Route headers where RFC 3261 wants them, its Via headers, the top one with received and rport filled in when the
// request asked for rport (RFC 3581; from req.Source()), its From, its To
// with a tag of ours unless it has one, its Call-ID and CSeq (and Timestamp in a
// 100), Content-Length 0, then rep's headers. It allocates little: the request's headers are
// written as they are, and only the top Via and the To are copied, each
// with its parameters.
func (rep *reply) writeTo(buf *bytes.Buffer) {
	req := rep.req
	buf.WriteString("SIP/2.0 ")
	buf.Write(strconv.AppendInt(buf.AvailableBuffer(), int64(rep.code), 10))
	buf.WriteByte(' ')
	buf.WriteString(rep.reason)
	buf.WriteString("\r\n")
	// RFC 3261 §20, Table 3, and §12.1.1, as sipgo has it.
	if req.Method != sip.REGISTER && !req.IsAck() && ((rep.code >= 180 && rep.code < 190) ||
		(rep.code >= 200 && rep.code < 300) || (req.IsInvite() && rep.code > 100 && rep.code < 200)) {
		writeHeaders(buf, req, "record-route")
	}
	top := true
	for _, h := range req.Headers() {
		if via, ok := h.(*sip.ViaHeader); ok {
			writeVia(buf, via, top, req.Source())
			buf.WriteString("\r\n")
			top = false
		}
	}
	if h := req.From(); h != nil {
		h.StringWrite(buf)
		buf.WriteString("\r\n")
	}
	if h := req.To(); h != nil {
		if rep.code == 100 { // RFC 3261 §8.2.6.2: a 100 needs no tag
			h.StringWrite(buf)
		} else {
			writeToTagged(buf, h)
		}
		buf.WriteString("\r\n")
	}
	if h := req.CallID(); h != nil {
		h.StringWrite(buf)
		buf.WriteString("\r\n")
	}
	if h := req.CSeq(); h != nil {
		h.StringWrite(buf)
		buf.WriteString("\r\n")
	}
	if rep.code == 100 { // RFC 3261 §8.2.6.1
		writeHeaders(buf, req, "timestamp")
	}
	buf.WriteString("Content-Length: 0\r\n")
	for _, h := range rep.hdrs {
		buf.WriteString(h.name)
		buf.WriteString(": ")
		buf.WriteString(h.value)
		buf.WriteString("\r\n")
	}
	buf.WriteString("\r\n")
}

// wireLen is the length of rep as writeTo writes it.
func (rep *reply) wireLen() int {
	buf := replyBufs.Get().(*bytes.Buffer)
	defer replyBufs.Put(buf)
	buf.Reset()
	rep.writeTo(buf)
	return buf.Len()
}

// replyBufs hold replies while they are written and sent.
var replyBufs = sync.Pool{New: func() any { b := new(bytes.Buffer); b.Grow(1024); return b }}

// writeVia writes via as sipgo's ViaHeader.StringWrite does, without
// its allocations; the top one (top set) with rport and received set from
// src when it has rport without a value, as NewResponseFromRequest does.
func writeVia(buf *bytes.Buffer, via *sip.ViaHeader, top bool, src string) {
	buf.WriteString("Via: ")
	buf.WriteString(via.ProtocolName)
	buf.WriteByte('/')
	buf.WriteString(via.ProtocolVersion)
	buf.WriteByte('/')
	buf.WriteString(via.Transport)
	buf.WriteByte(' ')
	if a, err := netip.ParseAddr(via.Host); err == nil && a.Is6() && !a.Is4In6() && a.Zone() == "" {
		buf.WriteByte('[')
		buf.WriteString(via.Host)
		buf.WriteByte(']')
	} else {
		buf.WriteString(via.Host)
	}
	if via.Port > 0 {
		buf.WriteByte(':')
		buf.Write(strconv.AppendInt(buf.AvailableBuffer(), int64(via.Port), 10))
	}
	params := via.Params
	if v, ok := params.Get("rport"); top && ok && v == "" {
		host, port, _ := net.SplitHostPort(src)
		var kv [8]sip.HeaderKV
		params = append(kv[:0], params...)
		params.Add("rport", port)
		params.Add("received", host)
	}
	if len(params) > 0 {
		buf.WriteByte(';')
		params.ToStringWrite(';', buf)
	}
}

// writeToTagged writes to with a tag of ours added when it has none (RFC
// 3261 §8.2.6.2).
func writeToTagged(buf *bytes.Buffer, to *sip.ToHeader) {
	if to.Params.Has("tag") {
		to.StringWrite(buf)
		return
	}
	var params [8]sip.HeaderKV
	var tag [16]byte
	cp := *to
	cp.Params = append(params[:0], to.Params...)
	cp.Params.Add("tag", string(strconv.AppendUint(tag[:0], rand.Uint64(), 36)))
	cp.StringWrite(buf)
}

// writeHeaders writes the headers of req named lower, each on its line.
func writeHeaders(buf *bytes.Buffer, req *sip.Request, lower string) {
	for h := range headersNamed(req, lower) {
		h.StringWrite(buf)
		buf.WriteString("\r\n")
	}
}
