package sip

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
)

// Call forwarding and Do Not Disturb (directory.Forwarding), per user:
//   - DND: calls get 486 Busy Here, or go to the busy forward when set
//     (DND wins over every other forward); ring groups skip the user; the
//     user's phones still call out.
//   - always: calls go to the target before any phone rings.
//   - not registered: no phone of the user is registered.
//   - busy: over the extension's call limit (decided when routing), or
//     every phone answered busy (486, 600, 603; decided while ringing).
//   - no answer: the phones rang for the user's ring time (the PBX's by
//     default).
//
// A target is an extension (a user, who may forward again, or a group) or
// an outside number, which the forwarding user's calls.outbound must allow
// as if they dialed it. A forward that cannot be followed (a loop back to
// an extension already forwarded from, more than maxForwardHops hops, an
// unknown extension, an outside number refused) is logged and ignored: the
// call goes on as if it were not set.

// maxForwardHops bounds the forwards one call follows.
const maxForwardHops = 5

var (
	refDND = &refusal{486, "Busy Here", directory.Busy, "do not disturb", nil}
)

// forwarding is the b2bua's forwarding service: it routes a user's
// extension through the user's forwards (for the router), and it is what
// a ringing call does when its targets all failed or did not answer in
// time (b2bua.ringFailed): a busy or no-answer forward, else a mailbox.
// Its state on a call is the route's (route.chain, notes, first, stale).
type forwarding struct {
	b *b2bua
}

// routeUser fills the targets of a user's extension, following the
// user's forwarding.
func (fw *forwarding) routeUser(ctx context.Context, rt *route, cred *credential) *refusal {
	b := fw.b
	rt.to, rt.calleeID, rt.groupID = cred.Ext, cred.UserID, 0
	rt.targets, rt.fwdUser, rt.ringTime = nil, nil, 0
	fwd := cred.Forward
	if fwd.DND { // before any forward, as on most PBXes
		if fwd.Busy != "" {
			if ref, ok := fw.forwardTo(ctx, rt, cred, fwd.Busy, "do not disturb"); ok {
				return ref
			}
		}
		return refDND
	}
	if fwd.Always != "" {
		if ref, ok := fw.forwardTo(ctx, rt, cred, fwd.Always, "always"); ok {
			return ref
		}
	}
	targets := b.userTargets(cred)
	if len(targets) == 0 {
		if fwd.Offline != "" {
			if ref, ok := fw.forwardTo(ctx, rt, cred, fwd.Offline, "not registered"); ok {
				return ref
			}
		}
		return refOffline
	}
	if fwd.Busy != "" && b.busy(cred.Ext) {
		if ref, ok := fw.forwardTo(ctx, rt, cred, fwd.Busy, "busy"); ok {
			return ref
		}
	}
	rt.targets, rt.fwdUser = targets, cred
	if fwd.RingSeconds > 0 {
		rt.ringTime = time.Duration(fwd.RingSeconds) * time.Second
	}
	return nil
}

// forwardTo routes the call on to number, forwarded by the user from for
// why. ok is false when the forward is not followed; rt is then unchanged.
// Otherwise rt is the new route and ref its refusal, if any.
func (fw *forwarding) forwardTo(ctx context.Context, rt *route, from *credential, number, why string) (ref *refusal, ok bool) {
	b := fw.b
	log := b.log.With("dialed", rt.dialed, "from_ext", from.Ext, "forward_to", number, "why", why)
	if len(rt.chain) >= maxForwardHops {
		log.Info("forward not followed: too many hops", "hops", len(rt.chain))
		return nil, false
	}
	if number == from.Ext || slices.Contains(rt.chain, number) {
		log.Info("forward not followed: loop", "chain", rt.chain)
		return nil, false
	}
	nrt := *rt
	nrt.chain = append(slices.Clip(rt.chain), from.Ext)
	nrt.notes = append(slices.Clip(rt.notes), from.Ext+" ("+why+")")
	nrt.targets, nrt.fwdUser, nrt.ringTime, nrt.calleeID, nrt.groupID = nil, nil, 0, 0, 0
	if directory.ValidateExtension("extension", number) == nil {
		cred, err := b.s.credential(number)
		if err != nil {
			return storeDown(err), true
		}
		if cred != nil {
			ref = fw.routeUser(ctx, &nrt, cred)
		} else {
			self := ""
			if rt.callerID != 0 {
				self = rt.from
			}
			ref = b.routeGroup(ctx, &nrt, number, self)
			if ref == refNotFound {
				log.Info("forward not followed: unknown extension")
				return nil, false
			}
		}
	} else {
		ref = b.routeOutbound(ctx, &nrt, from, number)
		if ref != nil && ref.code == 503 {
			return ref, true
		}
		if ref != nil {
			log.Warn("forward not followed: outside number refused", "status", ref.code, "reason", ref.why)
			return nil, false
		}
		if nrt.dir == directory.Internal {
			nrt.dir = directory.Outbound
		}
		divertTargets(&nrt, rt, why)
	}
	log.Info("call forwarded", "to", nrt.to)
	*rt = nrt
	return ref, true
}

// divertTargets tells the carrier of each trunk of nrt that asks for it
// (Diversion or History-Info) that the call was forwarded, by the number
// the forwarding user presents on that trunk and for why; the From then
// keeps the number of a caller from outside, as carriers allow for
// diverted calls. rt is the route forwarded away from.
func divertTargets(nrt, rt *route, why string) {
	for i := range nrt.targets {
		t := &nrt.targets[i]
		if t.trunk == nil || t.id == nil {
			continue
		}
		switch t.trunk.Diversion {
		case directory.DiversionHeader, directory.DiversionHistoryInfo:
		default:
			continue
		}
		id := *t.id
		id.divNumber, id.divWhy, id.divCount = id.from, why, len(nrt.chain)
		if rt.dir == directory.Inbound && directory.IsE164(rt.from) {
			// The caller is someone outside: their number, not the
			// forwarding user's choice to hide their own.
			id.from, id.anonymous = rt.from, false
			if id.privacy == "id" {
				id.privacy = ""
				if t.trunk.Privacy == directory.PrivacyAlways {
					id.privacy = "none"
				}
			}
		}
		t.id, t.fromUser = &id, id.from
	}
	if len(nrt.targets) > 0 {
		nrt.fromUser = nrt.targets[0].fromUser
	}
}

// ringFailed runs where ringing call c would end (endRinging): when
// every phone of the callee answered busy, or none answered in time, and
// the callee forwards such calls, the call goes on to the target instead
// of ending. It reports whether it took over the end of ringing.
func (fw *forwarding) ringFailed(c *call, code int, reason string, disp directory.Disposition, by string) bool {
	rt := c.rt
	if rt == nil || rt.ending || c.state != stRinging || !c.actorRunning() {
		return false
	}
	// The failure of a forwarded call is the current leg's: calleeTx.failure ranked
	// the legs forwarded away from too.
	recount := by == "callee" && rt.first > 0 && rt.first <= len(c.ring.forks)
	if recount {
		rt.stale = append(rt.stale, strconv.Itoa(code)+" "+reason)
		code, reason, disp = bestFailure(c.ring.forks[rt.first:])
		rt.final = strconv.Itoa(code) + " " + reason
	}
	var number, why string
	if rt.fwdUser != nil {
		switch {
		case disp == directory.Busy && by == "callee":
			number, why = rt.fwdUser.Forward.Busy, "busy"
		case disp == directory.NoAnswer:
			number, why = rt.fwdUser.Forward.NoAnswer, "no answer"
		}
	}
	if number != "" && fw.forward(c, code, reason, number, why) {
		return true
	}
	if (disp == directory.NoAnswer || disp == directory.Busy && by == "callee") && c.b.standIn.answerRinging(c) {
		return true
	}
	if recount {
		rt.ending = true
		c.endRinging(code, reason, disp, by)
		return true
	}
	return false
}

// forward sends ringing call c on to number, forwarded by the current
// callee for why; false when the forward is not followed.
func (fw *forwarding) forward(c *call, code int, reason, number, why string) bool {
	rt := c.rt
	ctx, cancel := context.WithTimeout(context.Background(), c.b.s.cfg.StoreTimeout)
	nrt := *rt
	ref, ok := fw.forwardTo(ctx, &nrt, rt.fwdUser, number, why)
	cancel()
	if !ok {
		return false
	}
	// The phones of the leg left behind: ringing ones are cancelled, ones
	// that never answered anything are dropped.
	var old []string
	for _, f := range c.ring.forks[rt.first:] {
		f.cancelInvite()
		if f.final == nil && !f.responded && f.tx != nil {
			f.tx.Terminate()
			f.final = sip.NewResponseFromRequest(f.req, 408, "Request Timeout", nil)
		}
		if f.t.ext != "" && (c.caller == nil || f.t.ext != c.caller.Ext) {
			old = append(old, f.t.ext)
		}
	}
	c.b.release(c, old...)
	if !slices.Contains(nrt.stale, strconv.Itoa(code)+" "+reason) {
		nrt.stale = append(slices.Clip(rt.stale), strconv.Itoa(code)+" "+reason)
	}
	nrt.first, nrt.final = len(c.ring.forks), ""
	c.ring.spare, c.early = nil, nil
	c.rt = &nrt
	c.routed(c.rt)
	if ref != nil {
		c.log.Info("forwarded call refused", "status", ref.code, "why", ref.why)
		c.endRinging(ref.code, ref.reason, ref.disp, "system")
		nrt.final = ref.why
		return true
	}
	targets, spare := pickTargets(&nrt, c.b.busy)
	if len(targets) == 0 {
		c.endRinging(486, "Busy Here", directory.Busy, "system")
		nrt.final = "callee call limit"
		return true
	}
	c.ring.spare = spare
	if err := c.ring.address(targets[0].dest); err != nil {
		c.endRinging(488, "Not Acceptable Here", directory.Failed, "system")
		nrt.final = "bad sdp offer"
		return true
	}
	if !c.late {
		c.Legs[1].SDP = c.ring.offer
	}
	c.b.take(c, targetExts(targets)...)
	c.ring.dialAll(&nrt, targets)
	c.ringAgain(c.ringDuration())
	c.forkFailed(nil) // every new target failed at once
	return true
}

// noteForwards puts the forwards a call on rt followed into its CDR
// row's reason, in place of the failures of the legs it was forwarded
// away from.
func (rt *route) noteForwards(row *directory.Call) {
	if rt == nil || len(rt.notes) == 0 {
		return
	}
	note := "forwarded from " + strings.Join(rt.notes, ", ")
	reason := row.Reason
	if reason == "" || slices.Contains(rt.stale, reason) {
		reason = rt.final
	}
	if reason != "" {
		note += "; " + reason
	}
	row.Reason = note
}
