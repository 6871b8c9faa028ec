package transport

import (
	"bytes"
	"hash/fnv"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/switchboard-pbx/switchboard/sip/auth"
	"github.com/switchboard-pbx/switchboard/sip/guard"
	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// The edge looks at every whole message (a UDP datagram, or one message
// framed out of a TCP stream) before sipgo parses it. sipgo drops a
// message it cannot parse without a word and accepts some
// it should refuse (a foreign SIP version, an unknown URI scheme, a
// Require we do not support); the edge answers those statelessly, as RFC
// 3261 §8.2 and the RFC 4475 torture tests ask, and passes on the rest.
// Over UDP, a message the edge does not act on itself goes on without a
// sipgo parse of the edge's (datagram); one sipgo then cannot parse is
// answered when sipgo says so (unparsed.go).

// verdict is what the edge decided about one message.
type verdict struct {
	reply  []byte // a response to send back at once; nil: none
	pass   bool   // hand the message to sipgo
	parse  bool   // precheck: pass it if sipgo can parse it
	branch string // a request's top Via needs this branch (see fixVia)
	code   int    // the refusal's status, for the log; 0: none
	why    string // and its reason phrase
	close  bool   // on a stream: the framing is lost, close the connection
}

// Config is what the edge reads of the server's configuration.
type Config struct {
	UserAgent      string // the Server header of the answers the edge writes
	MaxMessageSize int    // a larger datagram is dropped, a larger message on a stream refused 513

	MaxTCP, MaxTCPPerSource int // open TCP and TLS connections, in all and per source IP
	// TCPMessageTimeout bounds a message once begun; a connection is closed
	// after TCPUnregisteredIdle without a request, or TCPIdleTimeout
	// without any traffic when it carries a registration (see tcpconn.go).
	TCPMessageTimeout, TCPUnregisteredIdle, TCPIdleTimeout time.Duration
}

// Parts are what the edge uses of the rest of the server. The function
// fields must all be set except OnDrop.
type Parts struct {
	Log   *slog.Logger
	Guard *guard.Guard
	Auth  *auth.Checker // the stateless challenges (stateless.go)
	// Transactions serves REGISTERs over UDP, and BYEs, INVITEs and
	// their CANCELs when it is told to (ServeBye, ServeInvite), before
	// sipgo gets them; it absorbs the ACKs of its INVITEs' non-2xx.
	Transactions *wire.Transactions
	// Clients, when not nil, gets the responses to the requests the
	// server sent through it (response.go).
	Clients *wire.Clients

	// FromTrunk reports whether ip is a trunk's.
	FromTrunk func(ip netip.Addr) bool
	// MayCancel reports whether data, a CANCEL from ip, may reach the
	// INVITE it names: whether ip sent it (sipgo would match a CANCEL by
	// branch and sent-by alone).
	MayCancel func(ip netip.Addr, data []byte) bool
	// Registered reports whether the connection from remote (an
	// address:port) carries a registration.
	Registered func(remote string) bool
	// TakeAck, when not nil, is asked about each ACK in a datagram, by
	// its Call-ID, top Via branch and CSeq number: the function it
	// returns takes the ACK, parsed, instead of sipgo (ack.go); nil
	// leaves it to sipgo.
	TakeAck func(callID, branch string, cseq uint32) func(*sip.Request)

	// CountDrop counts a message dropped, by reason; CountRequest a request
	// the edge answered itself, by method.
	CountDrop    func(reason string)
	CountRequest func(method string)
	// OnDrop, when not nil, is told of every request dropped unanswered
	// from a source, after it was counted.
	OnDrop func(src netip.Addr, reason string)
}

// Edge is what the listeners ask about every message before sipgo gets
// it: the guard's screening, the checks of rawmessage.go, and the stateless challenge
// of a request without credentials (stateless.go). It answers and drops
// by itself; what it needs of the call side (is a source a trunk's, may
// it cancel this INVITE) comes as functions (Parts). It wraps the
// listeners sipgo serves (PacketConn, Listener).
type Edge struct {
	cfg   Config
	parts Parts
	log   *slog.Logger
	guard *guard.Guard
	conns connCount   // open TCP connections by source
	parse *sip.Parser // like the one sipgo uses

	mu          sync.Mutex
	packetConns []*PacketConn // the UDP listeners (ParseFailed)
}

// New returns the edge of a server configured by cfg.
func New(cfg Config, parts Parts) *Edge {
	log := parts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := sip.NewParser()
	p.MaxMessageLength = cfg.MaxMessageSize
	return &Edge{cfg: cfg, parts: parts, log: log, guard: parts.Guard, parse: p}
}

// Dropped logs and counts a request from ip dropped unanswered.
func (e *Edge) Dropped(ip netip.Addr, reason string) {
	e.log.Debug("sip request dropped", "src", ip.String(), "reason", reason)
	e.parts.CountDrop(reason)
	if e.parts.OnDrop != nil {
		e.parts.OnDrop(ip, reason)
	}
}

// screen returns why data from ip is to be dropped, or "". whole says data
// is a complete message (a datagram), not a piece of a TCP stream.
func (e *Edge) screen(ip netip.Addr, data []byte, whole bool) string {
	if e.guard.Banned(ip) {
		return "banned"
	}
	if whole && len(data) > e.cfg.MaxMessageSize {
		return "too large"
	}
	if ua := wire.HeaderValue(data, "user-agent"); ua != nil && e.guard.ScannerBytes(ua) {
		return "scanner"
	}
	// sipgo matches a CANCEL to its INVITE by branch and sent-by alone and
	// answers it itself: the source is checked here, before it can.
	if bytes.HasPrefix(data, []byte("CANCEL ")) && !e.parts.MayCancel(ip, data) {
		return "cancel from a stranger"
	}
	return ""
}

// supportedExtensions are the option tags a Require may name (RFC 3261
// §8.2.2.3); anything else gets 420.
var supportedExtensions = map[string]bool{"replaces": true}

// inspect checks one whole message. stream says it came over TCP, where
// Content-Length frames the message and must be present.
func (e *Edge) inspect(data []byte, stream bool) verdict {
	v, m := e.precheck(data, stream)
	if !v.parse {
		return v
	}
	if _, err := e.parse.ParseSIP(data); err != nil {
		return e.unparsable(m, stream)
	}
	v.parse, v.pass = false, true
	return v
}

// precheck is inspect up to sipgo's parse: a verdict with parse set says
// the message is to be passed on if sipgo can parse it (see unparsable for
// when it cannot). m is nil for a response or a keep-alive.
func (e *Edge) precheck(data []byte, stream bool) (verdict, *rawMessage) {
	if len(bytes.Trim(data, "\r\n")) == 0 {
		return verdict{pass: true}, nil // keep-alive
	}
	if bytes.HasPrefix(data, []byte("SIP/")) {
		// A response is never answered: pass it on if sipgo can read it
		// (it matches it to a client transaction or ignores it). Only its
		// framing is checked here, without a split.
		if !wire.Framed(data) {
			e.parts.CountDrop("malformed")
			return verdict{close: stream}, nil
		}
		return verdict{parse: true}, nil
	}
	split, ok := wire.Split(data)
	m := &rawMessage{Message: split}
	code, reason := m.check(ok, stream)
	if code == 0 {
		return verdict{parse: true, branch: m.syntheticBranch()}, m
	}
	return e.refusal(m, code, reason, stream), m
}

// unparsable is the verdict on a message precheck passed that sipgo cannot
// parse: a response is dropped, a request refused.
func (e *Edge) unparsable(m *rawMessage, stream bool) verdict {
	if m == nil {
		e.parts.CountDrop("malformed")
		return verdict{close: stream}
	}
	return e.refusal(m, 400, "Bad Request", stream)
}

// refusal answers a request that fails the checks with code and reason.
func (e *Edge) refusal(m *rawMessage, code int, reason string, stream bool) verdict {
	if m.Method() == "ACK" || !m.Answerable() {
		// An ACK is never answered, and without a Via a response would
		// reach nobody.
		e.parts.CountDrop("malformed")
		return verdict{close: stream, code: code, why: reason}
	}
	var extra []string
	switch code {
	case 420:
		extra = append(extra, "Unsupported: "+m.unsupported())
	case 415:
		extra = append(extra, "Accept: application/sdp")
	}
	return verdict{reply: m.Reply(code, reason, e.cfg.UserAgent, extra...), close: stream && m.framingLost,
		code: code, why: reason}
}

// fixVia edits the top Via of a request in b[:n] in place and returns the
// new length (n unchanged when b has no room for it):
//   - branch, when not empty, is added. A request
//     without an RFC 3261 branch (RFC 2543 syntax, RFC 4475 §3.4.1) gets one
//     derived from what identifies its transaction, so that sipgo, which
//     otherwise keys it by a From tag it may lack, can serve it; its
//     retransmissions, ACK and CANCEL get the same one.
//   - rport, over UDP, when it has none: the answer goes back to the port
//     the request came from (RFC 3581), so a phone behind NAT that does
//     not ask, or a sender whose Via names a port it does not read, still
//     gets it.
func fixVia(b []byte, n int, branch string, rport bool) int {
	vs, ve := topVia(b[:n])
	if vs < 0 {
		return n
	}
	insert := func(at int, s string) bool {
		if n+len(s) > len(b) {
			return false
		}
		copy(b[at+len(s):n+len(s)], b[at:n])
		copy(b[at:], s)
		n += len(s)
		return true
	}
	if branch != "" {
		// Last: sipgo keeps the last of repeated parameters.
		s := ";branch=" + branch
		if !insert(ve, s) {
			return n
		}
		ve += len(s)
	}
	if rport && !viaParam(string(b[vs:ve]), "rport") {
		insert(ve, ";rport")
	}
	return n
}

// topVia returns where the first value of the first Via header of data
// starts and ends (-1, -1 when there is none).
func topVia(data []byte) (int, int) {
	n := len(data)
	_, rest, found := cutLineBytes(data)
	for found {
		var line []byte
		start := n - len(rest)
		line, rest, found = cutLineBytes(rest)
		if len(line) == 0 {
			break // end of headers
		}
		name, _, colon := bytes.Cut(line, []byte(":"))
		if !colon {
			continue
		}
		if !isVia(bytes.TrimRight(name, " \t")) {
			continue
		}
		vs := start + len(name) + 1
		if ve := viaValueEnd(data, vs); ve >= 0 {
			return vs, ve
		}
		break
	}
	return -1, -1
}

// cutLineBytes is cutLine for bytes.
func cutLineBytes(b []byte) (line, rest []byte, found bool) {
	line, rest, found = bytes.Cut(b, []byte("\n"))
	return bytes.TrimSuffix(line, []byte("\r")), rest, found
}

// isVia reports whether a header field name is Via's (or its compact form).
func isVia(name []byte) bool {
	if wire.EqualFoldASCII(name, "via") || wire.EqualFoldASCII(name, "v") {
		return true
	}
	for _, c := range name {
		if c >= 0x80 { // as wire.Split would have it
			return wire.HeaderName(string(name)) == "via"
		}
	}
	return false
}

// viaValueEnd returns the offset in data where the via value starting at i
// ends (a comma outside quotes, or the end of the header field including
// continuation lines), with trailing white space left after it.
func viaValueEnd(data []byte, i int) int {
	quoted := false
	last := i // just past the last non-space octet
	for ; i < len(data); i++ {
		c := data[i]
		switch {
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			return last
		case c == '\r' || c == '\n':
			j := i
			if c == '\r' && j+1 < len(data) && data[j+1] == '\n' {
				j++
			}
			if j+1 < len(data) && (data[j+1] == ' ' || data[j+1] == '\t') {
				i = j
				continue
			}
			return last
		}
		if c != ' ' && c != '\t' && c != '\r' && c != '\n' {
			last = i + 1
		}
	}
	return -1
}

// viaParam reports whether a via value has the parameter name, and
// returns its value.
func viaParam(v, name string) bool {
	_, ok := viaParamValue(v, name)
	return ok
}

func viaParamValue(v, name string) (string, bool) {
	_, rest, more := strings.Cut(v, ";")
	for more {
		var p string
		p, rest, more = strings.Cut(rest, ";")
		k, val, _ := strings.Cut(p, "=")
		if strings.EqualFold(strings.TrimSpace(k), name) {
			return strings.TrimSpace(val), true
		}
	}
	return "", false
}

// syntheticBranch returns the branch to give a request whose top Via has
// no RFC 3261 one, "" when it has.
func (m *rawMessage) syntheticBranch() string {
	top := m.First("via")
	if i := strings.IndexByte(top, ','); i >= 0 {
		top = top[:i]
	}
	if b, ok := viaParamValue(top, "branch"); ok && strings.HasPrefix(b, "z9hG4bK") && len(b) > len("z9hG4bK") {
		return ""
	}
	num, _, _ := strings.Cut(strings.TrimSpace(m.First("cseq")), " ")
	h := fnv.New64a()
	for _, s := range []string{top, m.First("from"), m.First("call-id"), num} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return "z9hG4bK-2543-" + strconv.FormatUint(h.Sum64(), 36)
}

// datagram inspects the datagram b[:n] from addr: it answers or drops
// a bad one (returning 0) and returns the length of a good one, rport
// added to its top Via, and, for a request the edge acts on itself
// (needsParse), what sipgo parsed of it so edited (for challengeStateless
// and Transactions.Serve; sipgo parses what they leave to it again for
// itself).
//
// Any other request is passed on unparsed, and returned as unparsed:
// sipgo parses it anyway, and one it cannot parse is refused once it says
// so (ParseFailed, unparsed.go). A response is passed on unparsed too:
// nothing here would answer it or act on it; one sipgo cannot parse it
// drops, and logs at error, which the server counts as a drop (see
// sip/log.go).
func (e *Edge) datagram(pc net.PacketConn, b []byte, n int, addr net.Addr) (int, *sip.Request, *rawMessage) {
	v, m := e.precheck(b[:n], false)
	var req *sip.Request
	var unparsed *rawMessage
	if v.parse && (m == nil || !e.needsParse(b[:n])) {
		n = fixVia(b, n, v.branch, true)
		v.pass, unparsed = true, m
	} else if v.parse {
		n = fixVia(b, n, v.branch, true)
		if msg, err := e.parse.ParseSIP(b[:n]); err != nil {
			v = e.unparsable(m, false)
		} else {
			v.pass = true
			req, _ = msg.(*sip.Request)
		}
	}
	if v.code != 0 {
		e.log.Debug("sip request refused", "src", addr.String(), "code", v.code, "reason", v.why, "answered", v.reply != nil)
	}
	if v.reply != nil {
		if _, err := pc.WriteTo(v.reply, addr); err != nil {
			e.log.Debug("sip response not sent", "src", addr.String(), "err", err)
		}
	}
	if !v.pass {
		return 0, nil, nil
	}
	return n, req, unparsed
}
