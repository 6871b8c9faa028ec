package sip

import (
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

// firstHeader is req.GetHeader(lower), lower a lower-case name.
func firstHeader(req *sip.Request, lower string) sip.Header {
	for _, h := range req.Headers() {
		if headerIs(h, lower) {
			return h
		}
	}
	return nil
}

// headersNamed yields what req.GetHeaders(lower) returns, in order, lower a
// lower-case name.
func headersNamed(req *sip.Request, lower string) iter.Seq[sip.Header] {
	return func(yield func(sip.Header) bool) {
		for _, h := range req.Headers() {
			if headerIs(h, lower) && !yield(h) {
				return
			}
		}
	}
}
