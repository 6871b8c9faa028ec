package sip

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// The edge's own view of a message (edge.go): split into start line and
// unfolded header fields without sipgo, checked, and answered statelessly
// when sipgo would drop or wrongly accept it.

// rawMessage is a message split into start line, unfolded header fields and
// body, without interpreting any of them.
type rawMessage struct {
	start   string
	headers []rawHeader
	body    []byte
	// framingLost: Content-Length cannot be trusted, so on a stream the
	// next message's start is unknown.
	framingLost bool
}

type rawHeader struct {
	name  string // lower case, compact forms expanded
	value string // continuation lines joined by one space, trimmed
}

// compactForms are RFC 3261 §7.3.3's one-letter header names (and those
// of later RFCs).
var compactForms = map[string]string{
	"i": "call-id", "m": "contact", "e": "content-encoding", "l": "content-length",
	"c": "content-type", "f": "from", "s": "subject", "k": "supported", "t": "to",
	"v": "via", "o": "event", "r": "refer-to", "b": "referred-by", "u": "allow-events",
	"x": "session-expires", "y": "identity", "a": "accept-contact", "j": "reject-contact",
	"d": "request-disposition",
}

// splitMessage splits data; ok is false when a header line has no colon or
// the header block has no end. The start line and header fields are pieces
// of one copy of data (body is data's own).
func splitMessage(data []byte) (m rawMessage, ok bool) {
	ok = true
	text := string(data)
	line, rest, found := cutLine(text)
	m.start = line
	m.headers = make([]rawHeader, 0, 16)
	ended := false
	for len(rest) > 0 || found {
		line, rest, found = cutLine(rest)
		if len(line) == 0 {
			ended = found
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if len(m.headers) == 0 {
				ok = false
				continue
			}
			h := &m.headers[len(m.headers)-1]
			h.value = strings.TrimSpace(h.value + " " + strings.TrimSpace(line))
			continue
		}
		name, value, colon := strings.Cut(line, ":")
		if !colon {
			ok = false
			continue
		}
		m.headers = append(m.headers, rawHeader{headerName(strings.TrimRight(name, " \t")), strings.TrimSpace(value)})
		if !found {
			break
		}
	}
	if !ended {
		return m, false
	}
	m.body = data[len(data)-len(rest):]
	return m, ok
}

// cutLine returns the line before the first LF (without CR) and what follows.
func cutLine(b string) (line, rest string, found bool) {
	line, rest, found = strings.Cut(b, "\n")
	return strings.TrimSuffix(line, "\r"), rest, found
}

// knownHeaders maps the lower-case names of common header fields, and the
// compact forms, to the (full) name, so that splitting a message needs no
// new string for them.
var knownHeaders = func() map[string]string {
	m := make(map[string]string)
	for _, n := range []string{"via", "from", "to", "call-id", "cseq", "contact", "max-forwards",
		"content-length", "content-type", "user-agent", "expires", "authorization",
		"proxy-authorization", "allow", "supported", "require", "proxy-require", "route",
		"record-route", "accept", "event", "path", "date", "server", "subject", "allow-events",
		"session-expires", "min-se", "p-asserted-identity", "privacy", "refer-to", "referred-by",
		"replaces", "organization", "accept-language", "accept-encoding", "content-disposition"} {
		m[n] = n
	}
	for short, full := range compactForms {
		m[short] = full
	}
	return m
}()

// headerName returns the lower-case name of a header field named n, with
// compact forms expanded.
func headerName(n string) string {
	var buf [24]byte
	if len(n) <= len(buf) {
		for i := 0; i < len(n); i++ {
			c := n[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			buf[i] = c
		}
		if full, ok := knownHeaders[string(buf[:len(n)])]; ok {
			return full
		}
	}
	n = strings.ToLower(n)
	if full, short := compactForms[n]; short {
		n = full
	}
	return n
}

func (m *rawMessage) all(name string) []string {
	var out []string
	for _, h := range m.headers {
		if h.name == name {
			out = append(out, h.value)
		}
	}
	return out
}

// count returns how many header fields are named name.
func (m *rawMessage) count(name string) int {
	n := 0
	for _, h := range m.headers {
		if h.name == name {
			n++
		}
	}
	return n
}

func (m *rawMessage) first(name string) string {
	for _, h := range m.headers {
		if h.name == name {
			return h.value
		}
	}
	return ""
}

func (m *rawMessage) has(name string) bool {
	for _, h := range m.headers {
		if h.name == name {
			return true
		}
	}
	return false
}

func (m *rawMessage) method() string {
	method, _, _ := strings.Cut(m.start, " ")
	return method
}

// answerable reports whether a response can be built: it needs a Via to
// be routed by.
func (m *rawMessage) answerable() bool { return m.has("via") }

// check returns the status and reason phrase a request deserves, 0 when it
// is fine as far as the edge can tell. split is splitMessage's ok.
func (m *rawMessage) check(split, stream bool) (int, string) {
	if !split {
		return 400, "Malformed Header"
	}
	if code, reason := m.checkRequestLine(); code != 0 {
		return code, reason
	}
	for _, name := range []string{"via", "from", "to", "call-id", "cseq"} {
		if !m.has(name) {
			return 400, "Missing " + headerTitle(name)
		}
	}
	for _, name := range []string{"from", "to", "call-id", "cseq", "max-forwards", "content-length", "content-type"} {
		if m.count(name) > 1 {
			m.framingLost = name == "content-length"
			return 400, "Multiple " + headerTitle(name)
		}
	}
	if code, reason := m.checkContentLength(stream); code != 0 {
		m.framingLost = true
		return code, reason
	}
	num, cseqMethod, _ := strings.Cut(strings.TrimSpace(m.first("cseq")), " ")
	if n, err := strconv.ParseUint(num, 10, 32); err != nil || n >= 1<<31 {
		return 400, "Bad CSeq"
	}
	// RFC 3261 §8.1.1.5: the CSeq method matches the request's, exactly
	// (methods are case-sensitive).
	if strings.TrimSpace(cseqMethod) != m.method() {
		return 400, "CSeq Method Does Not Match"
	}
	mf := -1
	if v := m.first("max-forwards"); v != "" || m.has("max-forwards") {
		n, err := strconv.ParseUint(v, 10, 8)
		if err != nil {
			return 400, "Bad Max-Forwards"
		}
		mf = int(n)
	}
	for _, h := range m.headers {
		if h.name != "from" && h.name != "to" && h.name != "contact" {
			continue
		}
		// RFC 3261 §20: a URI with headers or a comma must be in <>;
		// without them the '?' part would be header parameters.
		if !strings.ContainsRune(h.value, '<') && uriHasHeaders(h.value) {
			return 400, "Bad " + headerTitle(h.name) + " (URI With Headers Needs <>)"
		}
	}
	method := m.method()
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
		if len(bytes.TrimSpace(m.body)) > 0 {
			ct := m.first("content-type")
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
	method, uri, version, ok := requestLine(m.start)
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
	if !m.has("content-length") {
		if stream {
			return 400, "Missing Content-Length"
		}
		return 0, ""
	}
	n, err := strconv.ParseUint(m.first("content-length"), 10, 31)
	if err != nil {
		return 400, "Bad Content-Length"
	}
	if int(n) > len(m.body) {
		return 400, "Content-Length Exceeds Body"
	}
	return 0, ""
}

// unsupported lists the Require option tags we do not support, "" when
// there are none. Proxy-Require is for proxies, which we are not.
func (m *rawMessage) unsupported() string {
	var tags []string
	register := m.method() == "REGISTER"
	for _, v := range m.all("require") {
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
	vs := m.all("accept")
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
	_, uri, _, ok := requestLine(m.start)
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

// requestLine splits a start line into its three parts, separated by
// single spaces; ok is false unless there are exactly three, none empty.
func requestLine(start string) (method, uri, version string, ok bool) {
	method, rest, ok1 := strings.Cut(start, " ")
	uri, version, ok2 := strings.Cut(rest, " ")
	ok = ok1 && ok2 && method != "" && uri != "" && version != "" && !strings.Contains(version, " ")
	return method, uri, version, ok
}

// reply builds a stateless response (RFC 3261 §8.2.6) from the raw header
// values: all Vias, From, To with a tag, Call-ID and CSeq.
func (m *rawMessage) reply(code int, reason, server string, extra ...string) []byte {
	var b bytes.Buffer
	b.WriteString("SIP/2.0 " + strconv.Itoa(code) + " " + reason + "\r\n")
	for _, v := range m.all("via") {
		b.WriteString("Via: " + v + "\r\n")
	}
	if v := m.first("from"); v != "" {
		b.WriteString("From: " + v + "\r\n")
	}
	if v := m.first("to"); v != "" {
		if !strings.Contains(strings.ToLower(v), "tag=") {
			v += ";tag=" + sip.GenerateTagN(10)
		}
		b.WriteString("To: " + v + "\r\n")
	}
	if v := m.first("call-id"); v != "" {
		b.WriteString("Call-ID: " + v + "\r\n")
	}
	if v := m.first("cseq"); v != "" {
		b.WriteString("CSeq: " + v + "\r\n")
	}
	for _, h := range extra {
		b.WriteString(h + "\r\n")
	}
	if server != "" {
		b.WriteString("Server: " + server + "\r\n")
	}
	b.WriteString("Content-Length: 0\r\n\r\n")
	return b.Bytes()
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
