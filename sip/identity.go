package sip

import (
	"cmp"
	"fmt"
	"net/url"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
)

// Caller identity on trunk legs, as each trunk's carrier wants it
// (directory.TrunkSetting): the From user, P-Asserted-Identity (RFC 3325),
// Privacy (RFC 3323) and, for calls a forward sends out, Diversion
// (RFC 5806) or History-Info (RFC 7044). A user who hides their number
// goes out with an anonymous From (RFC 3323 §4.1.1.3) and Privacy: id,
// while P-Asserted-Identity still names them to the carrier.

// anonymousURI is the From of a caller who hides their number.
var anonymousURI = sip.Uri{Scheme: "sip", User: "anonymous", Host: "anonymous.invalid"}

// trunkIdentity is how one call presents its caller on one trunk.
type trunkIdentity struct {
	from      string // From user, when not anonymous
	anonymous bool   // From anonymous, Privacy: id
	pai       string // P-Asserted-Identity user; "" none
	privacy   string // Privacy value; "" none
	// A call sent out by a forward: the number that forwarded it, why
	// (forward.go's words) and how many forwards it went through.
	divNumber string
	divWhy    string
	divCount  int
}

// callerNumber is the caller's number on trunk t in one of the
// directory.Identity modes.
func callerNumber(t *Trunk, mode string, u *directory.User, ext string) string {
	switch mode {
	case directory.IdentityCompany:
		return cmp.Or(t.CallerID, u.CallerID, ext)
	case directory.IdentityTrunk:
		return cmp.Or(t.Username, t.CallerID, u.CallerID, ext)
	}
	return cmp.Or(u.CallerID, t.CallerID, ext)
}

// newTrunkIdentity is how the call of user u (extension ext) presents
// itself on trunk t.
func newTrunkIdentity(t *Trunk, u *directory.User, ext string) *trunkIdentity {
	id := &trunkIdentity{from: callerNumber(t, t.FromUser, u, ext)}
	if t.PAI != "" && t.PAI != directory.IdentityNone {
		id.pai = callerNumber(t, t.PAI, u, ext)
	}
	switch {
	case u.HideNumber:
		// The carrier must still know who calls (emergency calls,
		// abuse, billing): PAI with the real number, withheld from
		// the callee by Privacy: id.
		id.anonymous, id.privacy = true, "id"
		if id.pai == "" {
			id.pai = id.from
		}
	case t.Privacy == directory.PrivacyAlways:
		id.privacy = "none"
	}
	return id
}

// diversionReason is the RFC 5806 reason of a forward of forward.go.
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

// historyCause is the RFC 4458 cause of a forward of forward.go.
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

// applyIdentity writes the caller identity of a trunk leg into req, whose
// From is already built.
func applyIdentity(req *sip.Request, t target) {
	id := t.id
	if id == nil || t.trunk == nil {
		return
	}
	if id.anonymous {
		from := req.From()
		from.DisplayName = "Anonymous"
		from.Address = anonymousURI
	}
	if id.pai != "" {
		req.AppendHeader(sip.NewHeader("P-Asserted-Identity",
			"<"+(&sip.Uri{Scheme: "sip", User: id.pai, Host: t.domain}).String()+">"))
	}
	if id.privacy != "" {
		req.AppendHeader(sip.NewHeader("Privacy", id.privacy))
	}
	if id.divNumber == "" {
		return
	}
	div := (&sip.Uri{Scheme: "sip", User: id.divNumber, Host: t.domain}).String()
	switch t.trunk.Diversion {
	case directory.DiversionHeader:
		req.AppendHeader(sip.NewHeader("Diversion",
			fmt.Sprintf("<%s>;reason=%s;counter=%d", div, diversionReason(id.divWhy), max(id.divCount, 1))))
	case directory.DiversionHistoryInfo:
		// The entry forwarded away from carries the cause of the
		// forward; the new target was mapped to (mp) from it.
		reason := url.QueryEscape(fmt.Sprintf("SIP;cause=%d;text=%q", historyCause(id.divWhy), id.divWhy))
		reason = strings.ReplaceAll(reason, "+", "%20")
		req.AppendHeader(sip.NewHeader("History-Info", fmt.Sprintf("<%s?Reason=%s>;index=1", div, reason)))
		req.AppendHeader(sip.NewHeader("History-Info", fmt.Sprintf("<%s>;index=1.1;mp=1", t.uri.String())))
	}
}
