package route

import (
	"cmp"
	"fmt"
	"net/url"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/trunk"
)

// Caller identity on trunk legs, as each trunk's carrier wants it
// (directory.TrunkSetting): the From user, P-Asserted-Identity (RFC 3325),
// Privacy (RFC 3323) and, for calls a forward sends out, Diversion
// (RFC 5806) or History-Info (RFC 7044). A user who hides their number
// goes out with an anonymous From (RFC 3323 §4.1.1.3) and Privacy: id,
// while P-Asserted-Identity still names them to the carrier.

// anonymousURI is the From of a caller who hides their number.
var anonymousURI = sip.Uri{Scheme: "sip", User: "anonymous", Host: "anonymous.invalid"}

// Identity is how one call presents its caller on one trunk.
type Identity struct {
	From      string // From user, when not anonymous
	Anonymous bool   // From anonymous, Privacy: id
	PAI       string // P-Asserted-Identity user; "" none
	Privacy   string // Privacy value; "" none
	// A call sent out by a forward: the number that forwarded it, why
	// (in the forwarding's words: "busy", "no answer"...) and how many
	// forwards it went through.
	DivNumber string
	DivWhy    string
	DivCount  int
}

// callerNumber is the caller's number on trunk t in one of the
// directory.Identity modes.
func callerNumber(t *trunk.Trunk, mode string, u *directory.User, ext string) string {
	switch mode {
	case directory.IdentityCompany:
		return cmp.Or(t.CallerID, u.CallerID, ext)
	case directory.IdentityTrunk:
		return cmp.Or(t.Username, t.CallerID, u.CallerID, ext)
	}
	return cmp.Or(u.CallerID, t.CallerID, ext)
}

// NewIdentity is how the call of user u (extension ext) presents
// itself on trunk t.
func NewIdentity(t *trunk.Trunk, u *directory.User, ext string) *Identity {
	id := &Identity{From: callerNumber(t, t.FromUser, u, ext)}
	if t.PAI != "" && t.PAI != directory.IdentityNone {
		id.PAI = callerNumber(t, t.PAI, u, ext)
	}
	switch {
	case u.HideNumber:
		// The carrier must still know who calls (emergency calls,
		// abuse, billing): PAI with the real number, withheld from
		// the callee by Privacy: id.
		id.Anonymous, id.Privacy = true, "id"
		if id.PAI == "" {
			id.PAI = id.From
		}
	case t.Privacy == directory.PrivacyAlways:
		id.Privacy = "none"
	}
	return id
}

// diversionReason is the RFC 5806 reason of a forward, given in the forwarding's words.
func diversionReason(why string) string {
	switch why {
	case "always":
		return "unconditional"
	case "busy":
		return "user-busy"
	case "no answer":
		return "no-answer"
	case "not registered":
		return "unavailable"
	case "do not disturb":
		return "do-not-disturb"
	}
	return "unknown"
}

// historyCause is the RFC 4458 cause of a forward, given in the forwarding's words.
func historyCause(why string) int {
	switch why {
	case "busy", "do not disturb":
		return 486
	case "no answer":
		return 408
	case "not registered":
		return 480
	}
	return 302
}

// ApplyIdentity writes the caller identity of a trunk leg into req, whose
// From is already built.
func ApplyIdentity(req *sip.Request, t Target) {
	id := t.Identity
	if id == nil || t.Trunk == nil {
		return
	}
	if id.Anonymous {
		from := req.From()
		from.DisplayName = "Anonymous"
		from.Address = anonymousURI
	}
	if id.PAI != "" {
		req.AppendHeader(sip.NewHeader("P-Asserted-Identity",
			"<"+(&sip.Uri{Scheme: "sip", User: id.PAI, Host: t.Domain}).String()+">"))
	}
	if id.Privacy != "" {
		req.AppendHeader(sip.NewHeader("Privacy", id.Privacy))
	}
	if id.DivNumber == "" {
		return
	}
	div := (&sip.Uri{Scheme: "sip", User: id.DivNumber, Host: t.Domain}).String()
	switch t.Trunk.Diversion {
	case directory.DiversionHeader:
		req.AppendHeader(sip.NewHeader("Diversion",
			fmt.Sprintf("<%s>;reason=%s;counter=%d", div, diversionReason(id.DivWhy), max(id.DivCount, 1))))
	case directory.DiversionHistoryInfo:
		// The entry forwarded away from carries the cause of the
		// forward; the new target was mapped to (mp) from it.
		reason := url.QueryEscape(fmt.Sprintf("SIP;cause=%d;text=%q", historyCause(id.DivWhy), id.DivWhy))
		reason = strings.ReplaceAll(reason, "+", "%20")
		req.AppendHeader(sip.NewHeader("History-Info", fmt.Sprintf("<%s?Reason=%s>;index=1", div, reason)))
		req.AppendHeader(sip.NewHeader("History-Info", fmt.Sprintf("<%s>;index=1.1;mp=1", t.URI.String())))
	}
}
