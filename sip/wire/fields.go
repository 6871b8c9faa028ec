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
