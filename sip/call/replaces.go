package call

import (
	"net/url"
	"strings"

	"github.com/switchboard-pbx/switchboard/sip/leg"
)

// The Replaces header (RFC 3891: an INVITE or a REFER's Refer-To naming a
// dialog to take over by its Call-ID and tags).

// Replaces is the value of a Replaces header: a dialog by its Call-ID and
// tags.
type Replaces struct {
	CallID, ToTag, FromTag string
}

// ParseReplaces parses a Replaces header value (RFC 3891 §6.1).
func ParseReplaces(v string) (Replaces, bool) {
	parts := strings.Split(strings.TrimSpace(v), ";")
	r := Replaces{CallID: strings.TrimSpace(parts[0])}
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "to-tag":
			r.ToTag = strings.TrimSpace(val)
		case "from-tag":
			r.FromTag = strings.TrimSpace(val)
		}
	}
	if r.CallID == "" || r.ToTag == "" || r.FromTag == "" || len(r.CallID) > 256 {
		return Replaces{}, false
	}
	return r, true
}

// ReferReplaces finds Replaces among the headers of a Refer-To URI
// (sip:y@host?Replaces=...). has tells whether there is one, ok whether
// it parses.
func ReferReplaces(referTo string) (r Replaces, has, ok bool) {
	v := referTo
	if i := strings.IndexByte(v, '<'); i >= 0 {
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			return Replaces{}, strings.Contains(strings.ToLower(v), "replaces"), false
		}
		v = v[i+1 : i+j]
	}
	_, query, found := strings.Cut(v, "?")
	if !found {
		return Replaces{}, false, true
	}
	for _, kv := range strings.Split(query, "&") {
		k, val, _ := strings.Cut(kv, "=")
		if !strings.EqualFold(k, "replaces") {
			continue
		}
		dec, err := url.QueryUnescape(val)
		if err != nil {
			return Replaces{}, true, false
		}
		r, ok := ParseReplaces(dec)
		return r, true, ok
	}
	return Replaces{}, false, true
}

// names reports whether r names dialog d, seen from either end: the
// Replaces of a REFER or an INVITE gives the tags as its sender sees the
// dialog.
func (r Replaces) names(d *leg.Dialog) bool {
	if d.CallID != r.CallID || d.LocalTag == "" || d.RemoteTag == "" {
		return false
	}
	return r.ToTag == d.LocalTag && r.FromTag == d.RemoteTag ||
		r.ToTag == d.RemoteTag && r.FromTag == d.LocalTag
}
