package forward

import (
	"context"
	"slices"
	"strconv"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/call"
	"github.com/switchboard-pbx/switchboard/sip/dial"
	"github.com/switchboard-pbx/switchboard/sip/route"
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

// Forwarding is the b2bua's forwarding service: it routes a user's
// extension through the user's forwards (for the router), and it is what
// a ringing call does when its targets all failed or did not answer in
// time (b2bua.ringFailed): a busy or no-answer forward, else a mailbox.
// Its state on a call is the route's (Route.Chain, Notes, First, Stale).
type Forwarding struct {
	Core *call.Core
}

// RouteUser fills the targets of a user's extension, following the
// user's forwarding.
func (fw *Forwarding) RouteUser(ctx context.Context, rt *route.Route, cred *call.Credential) *route.Refusal {
	b := fw.Core
	rt.To, rt.CalleeID, rt.GroupID = cred.Ext, cred.UserID, 0
	rt.Targets, rt.ForwardUser, rt.RingTime = nil, nil, 0
	fwd := cred.Forward
	if fwd.DND { // before any forward, as on most PBXes
		if fwd.Busy != "" {
			if ref, ok := fw.forwardTo(ctx, rt, cred, fwd.Busy, "do not disturb"); ok {
				return ref
			}
		}
		return call.RefDND
	}
	if fwd.Always != "" {
		if ref, ok := fw.forwardTo(ctx, rt, cred, fwd.Always, "always"); ok {
			return ref
		}
	}
	targets := b.UserTargets(cred)
	if len(targets) == 0 {
		if fwd.Offline != "" {
			if ref, ok := fw.forwardTo(ctx, rt, cred, fwd.Offline, "not registered"); ok {
				return ref
			}
		}
		return route.Offline
	}
	if fwd.Busy != "" && b.Busy(cred.Ext) {
		if ref, ok := fw.forwardTo(ctx, rt, cred, fwd.Busy, "busy"); ok {
			return ref
		}
	}
	rt.Targets, rt.ForwardUser = targets, cred
	if fwd.RingSeconds > 0 {
		rt.RingTime = time.Duration(fwd.RingSeconds) * time.Second
	}
	return nil
}

// forwardTo routes the call on to number, forwarded by the user from for
// why. ok is false when the forward is not followed; rt is then unchanged.
// Otherwise rt is the new route and ref its refusal, if any.
func (fw *Forwarding) forwardTo(ctx context.Context, rt *route.Route, from *call.Credential, number, why string) (ref *route.Refusal, ok bool) {
	b := fw.Core
	log := b.Log.With("dialed", rt.Dialed, "from_ext", from.Ext, "forward_to", number, "why", why)
	if len(rt.Chain) >= maxForwardHops {
		log.Info("forward not followed: too many hops", "hops", len(rt.Chain))
		return nil, false
	}
	if number == from.Ext || slices.Contains(rt.Chain, number) {
		log.Info("forward not followed: loop", "chain", rt.Chain)
		return nil, false
	}
	nrt := *rt
	nrt.Chain = append(slices.Clip(rt.Chain), from.Ext)
	nrt.Notes = append(slices.Clip(rt.Notes), from.Ext+" ("+why+")")
	nrt.Targets, nrt.ForwardUser, nrt.RingTime, nrt.CalleeID, nrt.GroupID = nil, nil, 0, 0, 0
	if directory.ValidateExtension("extension", number) == nil {
		cred, err := b.Auth.Credential(number)
		if err != nil {
			return route.StoreDown(err), true
		}
		if cred != nil {
			ref = fw.RouteUser(ctx, &nrt, cred)
		} else {
			self := ""
			if rt.CallerID != 0 {
				self = rt.From
			}
			ref = b.RouteGroup(ctx, &nrt, number, self)
			if ref == route.NotFound {
				log.Info("forward not followed: unknown extension")
				return nil, false
			}
		}
	} else {
		ref = b.RouteOutbound(ctx, &nrt, from, number)
		if ref != nil && ref.Code == 503 {
			return ref, true
		}
		if ref != nil {
			log.Warn("forward not followed: outside number refused", "status", ref.Code, "reason", ref.Why)
			return nil, false
		}
		if nrt.Dir == directory.Internal {
			nrt.Dir = directory.Outbound
		}
		divertTargets(&nrt, rt, why)
	}
	log.Info("call forwarded", "to", nrt.To)
	*rt = nrt
	return ref, true
}

// divertTargets tells the carrier of each trunk of nrt that asks for it
// (Diversion or History-Info) that the call was forwarded, by the number
// the forwarding user presents on that trunk and for why; the From then
// keeps the number of a caller from outside, as carriers allow for
// diverted calls. rt is the route forwarded away from.
func divertTargets(nrt, rt *route.Route, why string) {
	for i := range nrt.Targets {
		t := &nrt.Targets[i]
		if t.Trunk == nil || t.Identity == nil {
			continue
		}
		switch t.Trunk.Diversion {
		case directory.DiversionHeader, directory.DiversionHistoryInfo:
		default:
			continue
		}
		id := *t.Identity
		id.DivNumber, id.DivWhy, id.DivCount = id.From, why, len(nrt.Chain)
		if rt.Dir == directory.Inbound && directory.IsE164(rt.From) {
			// The caller is someone outside: their number, not the
			// forwarding user's choice to hide their own.
			id.From, id.Anonymous = rt.From, false
			if id.Privacy == "id" {
				id.Privacy = ""
				if t.Trunk.Privacy == directory.PrivacyAlways {
					id.Privacy = "none"
				}
			}
		}
		t.Identity, t.FromUser = &id, id.From
	}
	if len(nrt.Targets) > 0 {
		nrt.FromUser = nrt.Targets[0].FromUser
	}
}

// RingFailed runs where ringing call c would end (endRinging): when
// every phone of the callee answered busy, or none answered in time, and
// the callee forwards such calls, the call goes on to the target instead
// of ending. It reports whether it took over the end of ringing.
func (fw *Forwarding) RingFailed(c *call.Call, code int, reason string, disp directory.Disposition, by string) bool {
	rt := c.Rt
	if rt == nil || rt.Ending || c.State != call.StRinging || !c.ActorRunning() {
		return false
	}
	// The failure of a forwarded call is the current leg's: calleeTx.failure ranked
	// the legs forwarded away from too.
	recount := by == "callee" && rt.First > 0 && rt.First <= len(c.Ring.Forks)
	if recount {
		rt.Stale = append(rt.Stale, strconv.Itoa(code)+" "+reason)
		code, reason, disp = dial.BestFailure(c.Ring.Forks[rt.First:])
		rt.Final = strconv.Itoa(code) + " " + reason
	}
	var number, why string
	if rt.ForwardUser != nil {
		switch {
		case disp == directory.Busy && by == "callee":
			number, why = rt.ForwardUser.Forward.Busy, "busy"
		case disp == directory.NoAnswer:
			number, why = rt.ForwardUser.Forward.NoAnswer, "no answer"
		}
	}
	if number != "" && fw.forward(c, code, reason, number, why) {
		return true
	}
	if (disp == directory.NoAnswer || disp == directory.Busy && by == "callee") && c.Core.StandIn.AnswerRinging(c) {
		return true
	}
	if recount {
		rt.Ending = true
		c.EndRinging(code, reason, disp, by)
		return true
	}
	return false
}

// forward sends ringing call c on to number, forwarded by the current
// callee for why; false when the forward is not followed.
func (fw *Forwarding) forward(c *call.Call, code int, reason, number, why string) bool {
	rt := c.Rt
	ctx, cancel := context.WithTimeout(context.Background(), c.Core.StoreTimeout)
	nrt := *rt
	ref, ok := fw.forwardTo(ctx, &nrt, rt.ForwardUser, number, why)
	cancel()
	if !ok {
		return false
	}
	// The phones of the leg left behind: ringing ones are cancelled, ones
	// that never answered anything are dropped.
	old := c.Ring.StopRinging(rt.First, c.CallerExt())
	c.Core.Release(c, old...)
	if !slices.Contains(nrt.Stale, strconv.Itoa(code)+" "+reason) {
		nrt.Stale = append(slices.Clip(rt.Stale), strconv.Itoa(code)+" "+reason)
	}
	nrt.First, nrt.Final = len(c.Ring.Forks), ""
	c.Ring.Spare, c.Early = nil, nil
	c.Rt = &nrt
	c.Routed(c.Rt)
	if ref != nil {
		c.Log.Info("forwarded call refused", "status", ref.Code, "why", ref.Why)
		c.EndRinging(ref.Code, ref.Reason, ref.Disp, "system")
		nrt.Final = ref.Why
		return true
	}
	targets, spare := dial.Pick(&nrt, c.Core.Busy)
	if len(targets) == 0 {
		c.EndRinging(486, "Busy Here", directory.Busy, "system")
		nrt.Final = "callee call limit"
		return true
	}
	c.Ring.Spare = spare
	if err := c.Ring.Address(targets[0].Dest); err != nil {
		c.EndRinging(488, "Not Acceptable Here", directory.Failed, "system")
		nrt.Final = "bad sdp offer"
		return true
	}
	if !c.Late {
		c.Legs[1].SDP = c.Ring.Offer
	}
	c.Core.Take(c, dial.Exts(targets)...)
	c.Ring.DialAll(&nrt, targets)
	c.RingAgain(c.RingDuration())
	c.ForkFailed(nil) // every new target failed at once
	return true
}
