package sip

import (
	"net/url"
	"strings"

	"github.com/switchboard-pbx/switchboard/sip/leg"
)

// The Replaces header (RFC 3891: an INVITE or a REFER's Refer-To naming a
// dialog to take over by its Call-ID and tags).

// replaces is the value of a Replaces header: a dialog by its Call-ID and
// tags.
type replaces struct {
	callID, toTag, fromTag string
}

// parseReplaces parses a Replaces header value (RFC 3891 §6.1).
func parseReplaces(v string) (replaces, bool) {
	parts := strings.Split(strings.TrimSpace(v), ";")
	r := replaces{callID: strings.TrimSpace(parts[0])}
	for _, p := range parts[1:] {
		k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "to-tag":
			r.toTag = strings.TrimSpace(val)
		case "from-tag":
			r.fromTag = strings.TrimSpace(val)
		}
	}
	if r.callID == "" || r.toTag == "" || r.fromTag == "" || len(r.callID) > 256 {
		return replaces{}, false
	}
	return r, true
}

// referReplaces finds Replaces among the headers of a Refer-To URI
// (sip:y@host?Replaces=...). has tells whether there is one, ok whether
// it parses.
func referReplaces(referTo string) (r replaces, has, ok bool) {
	v := referTo
	if i := strings.IndexByte(v, '<'); i >= 0 {
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			return replaces{}, strings.Contains(strings.ToLower(v), "replaces"), false
		}
		v = v[i+1 : i+j]
	}
	_, query, found := strings.Cut(v, "?")
	if !found {
		return replaces{}, false, true
	}
	for _, kv := range strings.Split(query, "&") {
		k, val, _ := strings.Cut(kv, "=")
		if !strings.EqualFold(k, "replaces") {
			continue
		}
		dec, err := url.QueryUnescape(val)
		if err != nil {
			return replaces{}, true, false
		}
		r, ok := parseReplaces(dec)
		return r, true, ok
	}
	return replaces{}, false, true
}

// names reports whether r names dialog d, seen from either end: the
// Replaces of a REFER or an INVITE gives the tags as its sender sees the
// dialog.
func (r replaces) names(d *leg.Dialog) bool {
	if d.CallID != r.callID || d.LocalTag == "" || d.RemoteTag == "" {
		return false
	}
	return r.toTag == d.LocalTag && r.fromTag == d.RemoteTag ||
		r.toTag == d.RemoteTag && r.fromTag == d.LocalTag
}
