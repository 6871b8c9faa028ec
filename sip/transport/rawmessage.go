package transport

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// The edge's own view of a message (edge.go): split into start line and
// unfolded header fields without sipgo (wire.Split), checked, and answered
// statelessly when sipgo would drop or wrongly accept it.

// rawMessage is a message as wire.Split splits it, with what the edge's
// checks found of it.
type rawMessage struct {
	wire.Message
	// framingLost: Content-Length cannot be trusted, so on a stream the
	// next message's start is unknown.
	framingLost bool
}

// check returns the status and reason phrase a request deserves, 0 when it
// is fine as far as the edge can tell. split is wire.Split's ok.
func (m *rawMessage) check(split, stream bool) (int, string) {
	if !split {
		return 400, "Malformed Header"
	}
	if code, reason := m.checkRequestLine(); code != 0 {
		return code, reason
	}
	for _, name := range []string{"via", "from", "to", "call-id", "cseq"} {
		if !m.Has(name) {
			return 400, "Missing " + headerTitle(name)
		}
	}
	for _, name := range []string{"from", "to", "call-id", "cseq", "max-forwards", "content-length", "content-type"} {
		if m.Count(name) > 1 {
			m.framingLost = name == "content-length"
			return 400, "Multiple " + headerTitle(name)
		}
	}
	if code, reason := m.checkContentLength(stream); code != 0 {
		m.framingLost = true
		return code, reason
	}
	num, cseqMethod, _ := strings.Cut(strings.TrimSpace(m.First("cseq")), " ")
	if n, err := strconv.ParseUint(num, 10, 32); err != nil || n >= 1<<31 {
		return 400, "Bad CSeq"
	}
	// RFC 3261 §8.1.1.5: the CSeq method matches the request's, exactly
	// (methods are case-sensitive).
	if strings.TrimSpace(cseqMethod) != m.Method() {
		return 400, "CSeq Method Does Not Match"
	}
	mf := -1
	if v := m.First("max-forwards"); v != "" || m.Has("max-forwards") {
		n, err := strconv.ParseUint(v, 10, 8)
		if err != nil {
			return 400, "Bad Max-Forwards"
		}
		mf = int(n)
	}
	for _, h := range m.Fields {
		if h.Name != "from" && h.Name != "to" && h.Name != "contact" {
			continue
		}
		// RFC 3261 §20: a URI with headers or a comma must be in <>;
		// without them the '?' part would be header parameters.
		if !strings.ContainsRune(h.Value, '<') && uriHasHeaders(h.Value) {
			return 400, "Bad " + headerTitle(h.Name) + " (URI With Headers Needs <>)"
		}
	}
	method := m.Method()
	if method == "ACK" || method == "CANCEL" {
		return 0, ""
	}
	if tags := m.unsupported(); tags != "" {
		return 420, "Bad Extension"
	}
	// RFC 3261 §16.3: a request for someone else is not forwarded with no
	// hops left. OPTIONS to the server itself (no user part) is answered
	// by us as its final recipient, as RFC 3261 §11 allows, and so is
	// REGISTER.
	if mf == 0 && method != "REGISTER" && !(method == "OPTIONS" && m.requestUser() == "") {
		return 483, "Too Many Hops"
	}
	if method == "INVITE" {
		if len(bytes.TrimSpace(m.Body)) > 0 {
			ct := m.First("content-type")
			if mt, _, _ := strings.Cut(ct, ";"); !strings.EqualFold(strings.TrimSpace(mt), "application/sdp") {
				return 415, "Unsupported Media Type"
			}
		}
		if !m.acceptsSDP() {
			return 406, "Not Acceptable"
		}
	}
	return 0, ""
}

// checkRequestLine checks Method SP Request-URI SP SIP-Version (RFC 3261
// §7.1): single spaces, a token method, a URI with a scheme we serve.
func (m *rawMessage) checkRequestLine() (int, string) {
	method, uri, version, ok := wire.RequestLine(m.Start)
	if !ok || !isToken(method) {
		return 400, "Bad Request-Line"
	}
	if version != "SIP/2.0" {
		if strings.HasPrefix(strings.ToUpper(version), "SIP/") {
			return 505, "Version Not Supported"
		}
		return 400, "Bad Request-Line"
	}
	scheme, rest, ok := strings.Cut(uri, ":")
	if !ok || !isScheme(scheme) || rest == "" {
		return 400, "Bad Request-URI"
	}
	switch strings.ToLower(scheme) {
	case "sip", "sips":
		// RFC 3261 §19.1.1: headers are not allowed in a Request-URI.
		if uriHasHeaders(rest) {
			return 400, "Bad Request-URI (Headers Not Allowed)"
		}
	case "tel":
	default:
		return 416, "Unsupported URI Scheme"
	}
	return 0, ""
}

// checkContentLength checks the Content-Length against the body. Over UDP
// a missing one means the rest of the datagram, and octets beyond it are
// discarded (RFC 3261 §18.3); over TCP it must be present.
func (m *rawMessage) checkContentLength(stream bool) (int, string) {
	if !m.Has("content-length") {
		if stream {
			return 400, "Missing Content-Length"
		}
		return 0, ""
	}
	n, err := strconv.ParseUint(m.First("content-length"), 10, 31)
	if err != nil {
		return 400, "Bad Content-Length"
	}
	if int(n) > len(m.Body) {
		return 400, "Content-Length Exceeds Body"
	}
	return 0, ""
}

// unsupported lists the Require option tags we do not support, "" when
// there are none. Proxy-Require is for proxies, which we are not.
func (m *rawMessage) unsupported() string {
	var tags []string
	register := m.Method() == "REGISTER"
	for _, v := range m.All("require") {
		for t := range strings.SplitSeq(v, ",") {
			t = strings.TrimSpace(t)
			// RFC 3327: a registrar supports Path.
			if register && strings.EqualFold(t, "path") {
				continue
			}
			if t != "" && !supportedExtensions[strings.ToLower(t)] {
				tags = append(tags, t)
			}
		}
	}
	return strings.Join(tags, ", ")
}

// acceptsSDP reports whether the Accept headers, if any, allow an SDP body
// in the answer (RFC 3261 §8.2.3: none means application/sdp).
func (m *rawMessage) acceptsSDP() bool {
	vs := m.All("accept")
	if len(vs) == 0 {
		return true
	}
	empty := true
	for _, v := range vs {
		for t := range strings.SplitSeq(v, ",") {
			t, _, _ = strings.Cut(t, ";")
			t = strings.ToLower(strings.TrimSpace(t))
			if t == "" {
				continue
			}
			empty = false
			if t == "application/sdp" || t == "application/*" || t == "*/*" {
				return true
			}
		}
	}
	return empty // an empty Accept: be lenient
}

// requestUser returns the user part of a sip or sips Request-URI.
func (m *rawMessage) requestUser() string {
	_, uri, _, ok := wire.RequestLine(m.Start)
	if !ok {
		return ""
	}
	_, rest, _ := strings.Cut(uri, ":")
	user, _, found := strings.Cut(rest, "@")
	if !found {
		return ""
	}
	return user
}

// uriHasHeaders reports whether a SIP URI (without its scheme) has a
// headers part: a '?' after the host (the user part may hold one).
func uriHasHeaders(uri string) bool {
	if i := strings.LastIndexByte(uri, '@'); i >= 0 {
		uri = uri[i+1:]
	}
	return strings.ContainsRune(uri, '?')
}

func headerTitle(lower string) string {
	switch lower {
	case "call-id":
		return "Call-ID"
	case "cseq":
		return "CSeq"
	}
	parts := strings.Split(lower, "-")
	for i, p := range parts {
		if p != "" {
			parts[i] = strings.ToUpper(p[:1]) + p[1:]
		}
	}
	return strings.Join(parts, "-")
}

// isToken reports whether s is an RFC 3261 token.
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') || ('0' <= c && c <= '9') ||
			strings.IndexByte("-.!%*_+`'~", c) >= 0 {
			continue
		}
		return false
	}
	return s != ""
}

// isScheme reports whether s is an RFC 3986 scheme.
func isScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		alpha := ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
		if alpha || (i > 0 && (('0' <= c && c <= '9') || c == '+' || c == '-' || c == '.')) {
			continue
		}
		return false
	}
	return s != ""
}
