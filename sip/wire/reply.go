package wire

import (
	"bytes"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"

	"github.com/emiago/sipgo/sip"
)

// Reply is a response before it is sent (the registrar's, and the digest
// checks'): its status and the headers it adds to those every response
// copies from its request (Via, From, To, Call-ID, CSeq). On a REGISTER
// transaction of the edge (Transaction), and as a stateless challenge, it
// is written as bytes straight from the parsed request (Encode), with no
// sip.Response built; on one of sipgo's transactions it becomes the
// sip.Response that sipgo's NewResponseFromRequest makes (Response). Both
// give the same message but for the To tag, which is random.
type Reply struct {
	req    *sip.Request
	code   int
	reason string
	hdrs   []replyHeader // in order
}

type replyHeader struct{ name, value string }

// NewReply starts a response to req with our Server header (agent).
func NewReply(req *sip.Request, code int, reason, agent string) *Reply {
	rep := &Reply{req: req, code: code, reason: reason, hdrs: make([]replyHeader, 0, 4)}
	return rep.Add("Server", agent)
}

// Code is the response's status code.
func (rep *Reply) Code() int { return rep.code }

// Add appends a header.
func (rep *Reply) Add(name, value string) *Reply {
	rep.hdrs = append(rep.hdrs, replyHeader{name, value})
	return rep
}

// Response is rep as a sip.Response, for one of sipgo's transactions.
func (rep *Reply) Response() *sip.Response {
	res := sip.NewResponseFromRequest(rep.req, rep.code, rep.reason, nil)
	for _, h := range rep.hdrs {
		res.AppendHeader(sip.NewHeader(h.name, h.value))
	}
	return res
}

// Encode writes rep as sipgo would write its Response(): the request's
// Record-Route headers where RFC 3261 wants them; its Via headers, the top
// one with received and rport filled in when the request asked for rport
// (RFC 3581; from req.Source()); its From; its To with a tag of ours
// unless it has one; its Call-ID and CSeq (and Timestamp in a 100);
// Content-Length 0; then rep's headers. The version is always SIP/2.0
// (sipgo copies the request's; callers pass no other). It allocates
// little: the request's headers are written as they are, and only the
// parameters of the top Via and of the To are copied, on the stack.
func (rep *Reply) Encode(buf *bytes.Buffer) {
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

// Len is the length of rep as Encode writes it.
func (rep *Reply) Len() int {
	buf := replyBufs.Get().(*bytes.Buffer)
	defer replyBufs.Put(buf)
	buf.Reset()
	rep.Encode(buf)
	return buf.Len()
}

// SendTo writes rep to dest on pc, in one datagram.
func (rep *Reply) SendTo(pc net.PacketConn, dest netip.AddrPort) error {
	buf := replyBufs.Get().(*bytes.Buffer)
	defer replyBufs.Put(buf)
	buf.Reset()
	rep.Encode(buf)
	_, err := pc.WriteTo(buf.Bytes(), net.UDPAddrFromAddrPort(dest))
	return err
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
	if v, ok := via.Params.Get("rport"); top && ok && v == "" {
		host, port, _ := net.SplitHostPort(src)
		writeParams(buf, via.Params, port, host)
		return
	}
	for _, kv := range via.Params {
		writeParam(buf, kv.K, kv.V)
	}
}

// writeParams writes params as sipgo writes them after Add("rport",
// rport) and Add("received", received): in order, the first rport and
// received with those values, received at the end when params has none.
func writeParams(buf *bytes.Buffer, params sip.HeaderParams, rport, received string) {
	seenRport, seenReceived := false, false
	for _, kv := range params {
		switch {
		case kv.K == "rport" && !seenRport:
			seenRport = true
			writeParam(buf, kv.K, rport)
		case kv.K == "received" && !seenReceived:
			seenReceived = true
			writeParam(buf, kv.K, received)
		default:
			writeParam(buf, kv.K, kv.V)
		}
	}
	if !seenReceived {
		writeParam(buf, "received", received)
	}
}

// writeParam writes one header parameter as sipgo's
// HeaderParams.ToStringWrite does, after a semicolon.
func writeParam(buf *bytes.Buffer, k, v string) {
	buf.WriteByte(';')
	buf.WriteString(k)
	if v == "" {
		return
	}
	if strings.ContainsAny(v, " \t") {
		buf.WriteString("=\"")
		buf.WriteString(v)
		buf.WriteByte('"')
		return
	}
	buf.WriteByte('=')
	buf.WriteString(v)
}

// writeToTagged writes to with a tag of ours added when it has none (RFC
// 3261 §8.2.6.2), where sipgo's Params.Add puts it: last. The tag starts
// with StatelessTagPrefix: no dialog is made with it.
func writeToTagged(buf *bytes.Buffer, to *sip.ToHeader) {
	to.StringWrite(buf)
	if !to.Params.Has("tag") {
		buf.WriteString(";tag=" + StatelessTagPrefix)
		buf.Write(strconv.AppendUint(buf.AvailableBuffer(), rand.Uint64(), 36))
	}
}

// StatelessTagPrefix starts the To tag of every response written from a
// Reply (a stateless challenge, a REGISTER's answer), and of no dialog's
// tag (sip.GenerateTagN writes letters and digits only): the ACK of a
// stateless challenge is known by it alone, and absorbed as it comes in
// (transport), since no transaction or dialog waits for it.
const StatelessTagPrefix = "sl."

// writeHeaders writes the headers of req named lower, each on its line.
func writeHeaders(buf *bytes.Buffer, req *sip.Request, lower string) {
	for h := range Headers(req, lower) {
		h.StringWrite(buf)
		buf.WriteString("\r\n")
	}
}
