package wire

import (
	"bytes"
	"iter"

	"github.com/emiago/sipgo/sip"
)

// sipgo's GetHeader and GetHeaders lower-case the name of every header
// they pass that is not one of a dozen common ones (User-Agent, Expires,
// Authorization...), one allocation each: a REGISTER's lookups cost dozens.
// These look the same headers up without allocating.

// headerIs reports whether h is named lower, a lower-case name, in any
// case: GetHeader's test (ASCII only, as sipgo's).
func headerIs(h sip.Header, lower string) bool {
	n := h.Name()
	if len(n) != len(lower) {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// Header is req.GetHeader(lower), lower a lower-case name.
func Header(req *sip.Request, lower string) sip.Header {
	for _, h := range req.Headers() {
		if headerIs(h, lower) {
			return h
		}
	}
	return nil
}

// Headers yields what req.GetHeaders(lower) returns, in order, lower a
// lower-case name.
func Headers(req *sip.Request, lower string) iter.Seq[sip.Header] {
	return func(yield func(sip.Header) bool) {
		for _, h := range req.Headers() {
			if headerIs(h, lower) && !yield(h) {
				return
			}
		}
	}
}

// HeaderValue finds the first header named name (lower-case) in raw SIP
// bytes and returns its value, without parsing the message.
func HeaderValue(data []byte, name string) []byte {
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		line := data
		if i >= 0 {
			line, data = data[:i], data[i+1:]
		} else {
			data = nil
		}
		line = bytes.TrimRight(line, "\r")
		if len(line) == 0 {
			return nil // end of the headers
		}
		if len(line) > len(name) && EqualFoldASCII(line[:len(name)], name) {
			if v := bytes.TrimLeft(line[len(name):], " \t"); len(v) > 0 && v[0] == ':' {
				return bytes.TrimSpace(v[1:])
			}
		}
	}
	return nil
}

// EqualFoldASCII reports whether b is lower, a lower-case ASCII name, in
// any case.
func EqualFoldASCII(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
