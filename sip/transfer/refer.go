package transfer

import (
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/sip/leg"
)

// What a blind transfer says to its transferor: the REFER's target number,
// and the NOTIFYs of its progress (sent one after the other in the REFER's
// dialog by sendInOrder, legmove.go).

// ReferTarget returns the number a Refer-To names: the user part of a
// SIP URI (name-addr or bare), the number of a tel URI, or a bare number.
func ReferTarget(v string) (string, bool) {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, '<'); i >= 0 {
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			return "", false
		}
		v = v[i+1 : i+j]
	}
	if i := strings.IndexAny(v, ";?"); i >= 0 {
		v = v[:i]
	}
	lower := strings.ToLower(v)
	switch {
	case strings.HasPrefix(lower, "sip:"), strings.HasPrefix(lower, "sips:"):
		var u sip.Uri
		if err := sip.ParseUri(v, &u); err != nil {
			return "", false
		}
		v = u.User
	case strings.HasPrefix(lower, "tel:"):
		v = v[4:]
	case strings.Contains(v, ":") || strings.Contains(v, "@"):
		return "", false
	}
	v = strings.TrimSpace(v)
	if v == "" || len(v) > 64 {
		return "", false
	}
	return v, true
}

// Notify builds a NOTIFY of x's progress in the transferor's dialog d
// (RFC 3515 §2.4.4).
func (x *Transfer) Notify(d *leg.Dialog, frag string, final bool) *sip.Request {
	req := d.Request(sip.NOTIFY)
	req.AppendHeader(sip.NewHeader("Event", x.event))
	state := "active;expires=" + xferExpires
	if final {
		state = "terminated;reason=noresource"
	}
	req.AppendHeader(sip.NewHeader("Subscription-State", state))
	req.AppendHeader(sip.NewHeader("Content-Type", "message/sipfrag;version=2.0"))
	req.AppendHeader(sip.NewHeader("User-Agent", x.t.c.Core.UserAgent))
	req.SetBody([]byte(frag + "\r\n"))
	return req
}
