package wire

import (
	"bytes"
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// A message as it comes off the wire, split into start line and unfolded
// header fields without sipgo: what a server reads before it decides to
// parse a message, refuse it or answer it statelessly.

// Message is a message split into start line, unfolded header fields and
// body, without interpreting any of them.
type Message struct {
	Start  string
	Fields []Field
	Body   []byte
}

// Field is one header field of a Message.
type Field struct {
	Name  string // lower case, compact forms expanded
	Value string // continuation lines joined by one space, trimmed
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

// Split splits data; ok is false when a header line has no colon or the
// header block has no end. The start line and header fields are pieces of
// one copy of data (Body is data's own).
func Split(data []byte) (m Message, ok bool) {
	ok = true
	text := string(data)
	line, rest, found := cutLine(text)
	m.Start = line
	m.Fields = make([]Field, 0, 16)
	ended := false
	for len(rest) > 0 || found {
		line, rest, found = cutLine(rest)
		if len(line) == 0 {
			ended = found
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			if len(m.Fields) == 0 {
				ok = false
				continue
			}
			h := &m.Fields[len(m.Fields)-1]
			h.Value = strings.TrimSpace(h.Value + " " + strings.TrimSpace(line))
			continue
		}
		name, value, colon := strings.Cut(line, ":")
		if !colon {
			ok = false
			continue
		}
		m.Fields = append(m.Fields, Field{HeaderName(strings.TrimRight(name, " \t")), strings.TrimSpace(value)})
		if !found {
			break
		}
	}
	if !ended {
		return m, false
	}
	m.Body = data[len(data)-len(rest):]
	return m, ok
}

// Framed reports what Split's ok would, without splitting: whether every
// header line has a colon (or continues one) and the header block ends.
// The edge asks only that of a response, which sipgo parses anyway.
func Framed(data []byte) bool {
	_, rest, found := bytes.Cut(data, []byte("\n"))
	ok, fields := true, 0
	for len(rest) > 0 || found {
		var line []byte
		line, rest, found = bytes.Cut(rest, []byte("\n"))
		line = bytes.TrimSuffix(line, []byte("\r"))
		switch {
		case len(line) == 0:
			return found && ok
		case line[0] == ' ' || line[0] == '\t':
			ok = ok && fields > 0
			continue
		case bytes.IndexByte(line, ':') < 0:
			ok = false
			continue
		}
		fields++
		if !found {
			break
		}
	}
	return false
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

// HeaderName returns the lower-case name of a header field named n, with
// compact forms expanded.
func HeaderName(n string) string {
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

// All returns the values of the header fields named name, in order.
func (m *Message) All(name string) []string {
	var out []string
	for _, h := range m.Fields {
		if h.Name == name {
			out = append(out, h.Value)
		}
	}
	return out
}

// Count returns how many header fields are named name.
func (m *Message) Count(name string) int {
	n := 0
	for _, h := range m.Fields {
		if h.Name == name {
			n++
		}
	}
	return n
}

// First returns the value of the first header field named name, "" when
// there is none.
func (m *Message) First(name string) string {
	for _, h := range m.Fields {
		if h.Name == name {
			return h.Value
		}
	}
	return ""
}

// Has reports whether a header field is named name.
func (m *Message) Has(name string) bool {
	for _, h := range m.Fields {
		if h.Name == name {
			return true
		}
	}
	return false
}

// Method returns the first word of the start line: a request's method.
func (m *Message) Method() string {
	method, _, _ := strings.Cut(m.Start, " ")
	return method
}

// Answerable reports whether a response can be built: it needs a Via to
// be routed by.
func (m *Message) Answerable() bool { return m.Has("via") }

// RequestLine splits a start line into its three parts, separated by
// single spaces; ok is false unless there are exactly three, none empty.
func RequestLine(start string) (method, uri, version string, ok bool) {
	method, rest, ok1 := strings.Cut(start, " ")
	uri, version, ok2 := strings.Cut(rest, " ")
	ok = ok1 && ok2 && method != "" && uri != "" && version != "" && !strings.Contains(version, " ")
	return method, uri, version, ok
}

// Reply builds a stateless response (RFC 3261 §8.2.6) from the raw header
// values: all Vias, From, To with a tag, Call-ID and CSeq.
func (m *Message) Reply(code int, reason, server string, extra ...string) []byte {
	var b bytes.Buffer
	b.WriteString("SIP/2.0 " + strconv.Itoa(code) + " " + reason + "\r\n")
	for _, v := range m.All("via") {
		b.WriteString("Via: " + v + "\r\n")
	}
	if v := m.First("from"); v != "" {
		b.WriteString("From: " + v + "\r\n")
	}
	if v := m.First("to"); v != "" {
		if !strings.Contains(strings.ToLower(v), "tag=") {
			v += ";tag=" + sip.GenerateTagN(10)
		}
		b.WriteString("To: " + v + "\r\n")
	}
	if v := m.First("call-id"); v != "" {
		b.WriteString("Call-ID: " + v + "\r\n")
	}
	if v := m.First("cseq"); v != "" {
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

// HeaderEnd returns the length of the header block at the start of b,
// blank line included, or -1 when it has not ended yet.
func HeaderEnd(b []byte) int {
	for i := 0; i < len(b); i++ {
		if b[i] != '\n' {
			continue
		}
		if i+1 < len(b) && b[i+1] == '\n' {
			return i + 2
		}
		if i+2 < len(b) && b[i+1] == '\r' && b[i+2] == '\n' {
			return i + 3
		}
	}
	return -1
}
