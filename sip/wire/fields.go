package wire

import (
	"strconv"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// The values of a few header fields, read as the registrar and the call
// side both read them.

// UserAgent returns the User-Agent of req, cut to 200 bytes, "" when it
// has none.
func UserAgent(req *sip.Request) string {
	h := Header(req, "user-agent")
	if h == nil {
		return ""
	}
	v := h.Value()
	if len(v) > 200 {
		v = v[:200]
	}
	return v
}

// HasOption reports whether the option tags of header name (Supported,
// Require) hold tag.
func HasOption(req *sip.Request, name, tag string) bool {
	for h := range Headers(req, strings.ToLower(name)) {
		for _, t := range strings.Split(h.Value(), ",") {
			if strings.EqualFold(strings.TrimSpace(t), tag) {
				return true
			}
		}
	}
	return false
}

// ParseDeltaSeconds parses delta-seconds (RFC 3261 §25.1); values beyond
// 2^32-1 are taken as that (RFC 3261 §20.19 lets us cap them).
func ParseDeltaSeconds(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 20 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil || n > 1<<32-1 {
		return 1<<32 - 1, true
	}
	return int64(n), true
}

// Tag returns the tag parameter of a From or To header's params.
func Tag(p sip.HeaderParams) string {
	v, _ := p.Get("tag")
	return v
}

// UnescapeUser turns the escaped stars of a dialed user part back
// ("%2A60" is what some phones send for "*60").
func UnescapeUser(u string) string {
	return strings.ReplaceAll(strings.ReplaceAll(u, "%2A", "*"), "%2a", "*")
}

// HopLimit returns the Max-Forwards of a request, 70 when absent.
func HopLimit(req *sip.Request) uint32 {
	if mf := req.MaxForwards(); mf != nil {
		return mf.Val()
	}
	return 70
}

// CheckRequest returns a 400 reason phrase for a request lacking what
// every handler relies on (From, To, Call-ID, CSeq), "" when it is fine.
func CheckRequest(req *sip.Request) string {
	switch {
	case req.From() == nil:
		return "Missing From"
	case req.To() == nil:
		return "Missing To"
	case req.CallID() == nil || req.CallID().Value() == "":
		return "Missing Call-ID"
	case req.CSeq() == nil:
		return "Missing CSeq"
	}
	return ""
}

// HostPort is host:port, with an IPv6 host in brackets.
func HostPort(host string, port int) string {
	if strings.Contains(host, ":") && !strings.HasPrefix(host, "[") {
		host = "[" + host + "]"
	}
	return host + ":" + strconv.Itoa(port)
}

// DTMFRelay reads the digit of an INFO with an application/dtmf-relay
// body ("Signal=5\r\nDuration=160").
func DTMFRelay(req *sip.Request) (rune, bool) {
	ct := req.ContentType()
	if ct == nil || !strings.EqualFold(strings.TrimSpace(strings.Split(ct.Value(), ";")[0]), "application/dtmf-relay") {
		return 0, false
	}
	for line := range strings.Lines(string(req.Body())) {
		k, v, ok := strings.Cut(line, "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "signal") {
			continue
		}
		v = strings.ToUpper(strings.TrimSpace(v))
		if len(v) == 1 && strings.Contains("0123456789*#ABCD", v) {
			return rune(v[0]), true
		}
		if n, err := strconv.Atoi(v); err == nil && n >= 10 && n <= 11 {
			return rune("*#"[n-10]), true
		}
	}
	return 0, false
}
