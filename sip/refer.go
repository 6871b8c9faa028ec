package sip

import (
	"context"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// What a blind transfer says to its transferor: the REFER's target number,
// and NOTIFYs of progress sent one after the other in the REFER's dialog.

// referTarget returns the number a Refer-To names: the user part of a
// SIP URI (name-addr or bare), the number of a tel URI, or a bare number.
func referTarget(v string) (string, bool) {
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

// notifyReq builds a NOTIFY of a transfer's progress (RFC 3515 §2.4.4).
func (c *call) notifyReq(d *dialog, x *xfer, frag string, final bool) *sip.Request {
	req := d.request(sip.NOTIFY)
	req.AppendHeader(sip.NewHeader("Event", x.event))
	state := "active;expires=" + xferExpires
	if final {
		state = "terminated;reason=noresource"
	}
	req.AppendHeader(sip.NewHeader("Subscription-State", state))
	req.AppendHeader(sip.NewHeader("Content-Type", "message/sipfrag;version=2.0"))
	req.AppendHeader(sip.NewHeader("User-Agent", c.b.s.cfg.UserAgent))
	req.SetBody([]byte(frag + "\r\n"))
	return req
}

// afterChain posts ev to the call once the requests of sendInOrder so far
// are done.
func (c *call) afterChain(ev any) {
	prev := c.chain
	c.wg.Go(func() {
		if prev != nil {
			<-prev
		}
		c.post(ev)
	})
}

// sendInOrder sends requests of one dialog one after the other, after
// those of earlier calls, each once answered or timed out.
func (c *call) sendInOrder(reqs ...*sip.Request) {
	prev := c.chain
	done := make(chan struct{})
	c.chain = done
	c.wg.Go(func() {
		defer close(done)
		if prev != nil {
			<-prev
		}
		for _, r := range reqs {
			ctx, cancel := context.WithTimeout(context.Background(), byeTimeout)
			res, err := c.b.sendAndWait(ctx, r)
			cancel()
			if err != nil {
				c.log.Debug("request to transferor not answered", "method", string(r.Method), "err", err)
			} else if !res.IsSuccess() {
				c.log.Debug("request to transferor refused", "method", string(r.Method), "status", res.StatusCode)
			}
		}
	})
}
