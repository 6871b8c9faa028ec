package intercom

import (
	"context"
	"errors"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/call"
	"github.com/switchboard-pbx/switchboard/sip/route"
	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// Intercom (*90EXT): a call to EXT's phones like any other, routed and
// rung by the call's own dialer, whose INVITEs ask the phones to answer by
// themselves. Phones differ in what they honour, so every INVITE carries
// the two common forms: Call-Info with answer-after=0 (BroadSoft's, read
// by Polycom, Yealink, Grandstream, Mitel and most softphones) and
// Alert-Info with info=alert-autoanswer (Yealink's and OpenStage's;
// delay=0 for Yealink). A phone that honours neither just rings; Debian's
// baresip 1.0 is one (it answers by its account's answermode only). The caller needs calls.intercom on the callee (authz); the
// callee's forwards are not followed (an intercom is for the phone on the
// desk, not a mobile), and Do Not Disturb is respected.

// Intercom is the intercom service of b2bua: it routes and starts
// intercom calls, and tells paging who a caller may reach.
type Intercom struct {
	Core *call.Core
}

// AutoAnswerHeaders are the headers that make a phone answer by itself.
func AutoAnswerHeaders(realm string) []sip.Header {
	return []sip.Header{
		sip.NewHeader("Call-Info", "<sip:"+realm+">;answer-after=0"),
		sip.NewHeader("Alert-Info", "<http://www.notused.com>;info=alert-autoanswer;delay=0"),
	}
}

// Call starts an intercom call from caller to ext. It returns once the
// caller's INVITE has its final response (and, for a 200, its ACK).
func (ic *Intercom) Call(req *sip.Request, tx sip.ServerTransaction, caller *call.Credential, ext string) {
	c := call.NewCall(ic.Core, req, tx, caller, nil)
	ctx, cancel := context.WithTimeout(context.Background(), ic.Core.StoreTimeout)
	rt, ref := ic.route(ctx, caller, req, ext)
	cancel()
	if !c.BeginOn(rt, ref) {
		return
	}
	<-c.AFinal
}

// route is the route of an intercom call to ext: the phones of the user
// ext, with the auto-answer headers.
func (ic *Intercom) route(ctx context.Context, caller *call.Credential, req *sip.Request, ext string) (*route.Route, *route.Refusal) {
	b := ic.Core
	rt := &route.Route{Dir: directory.Internal, Dialed: wire.UnescapeUser(req.Recipient.User), FromName: req.From().DisplayName,
		CallerID: caller.UserID, From: caller.Ext, FromUser: caller.Ext, To: ext}
	subj, ref := ic.Subject(ctx, caller)
	if ref != nil {
		return rt, ref
	}
	cred, err := b.Auth.Credential(ext)
	if err != nil {
		return rt, route.StoreDown(err)
	}
	if cred == nil {
		// A group is paged (*91), not called on intercom.
		return rt, route.NotFound
	}
	rt.CalleeID = cred.UserID
	if ref := IntercomAllowed(subj, cred.UserID); ref != nil {
		return rt, ref
	}
	if cred.Forward.DND {
		return rt, call.RefDND
	}
	if rt.Targets = b.UserTargets(cred); len(rt.Targets) == 0 {
		return rt, route.Offline
	}
	rt.Headers = AutoAnswerHeaders(b.Realm())
	return rt, nil
}

// Subject loads what the caller may do and refuses at once when
// calls.intercom reaches nobody, before saying whether a number exists.
func (ic *Intercom) Subject(ctx context.Context, caller *call.Credential) (*authz.Subject, *route.Refusal) {
	acc, err := ic.Core.Store.Access(ctx, caller.UserID)
	if err != nil {
		return nil, route.StoreDown(err)
	}
	subj := authz.NewSubject(acc)
	if subj.Effective(authz.CallsIntercom).Scope == authz.ScopeNone {
		return nil, intercomDenied(authz.Can(subj, authz.CallsIntercom, authz.Resource{Kind: authz.KindUser}))
	}
	return subj, nil
}

// IntercomAllowed asks authz whether subj may reach user id on intercom
// (or page them).
func IntercomAllowed(subj *authz.Subject, id int64) *route.Refusal {
	if err := authz.Can(subj, authz.CallsIntercom, authz.Resource{Kind: authz.KindUser, UserIDs: []int64{id}}); err != nil {
		return intercomDenied(err)
	}
	return nil
}

// intercomDenied is the refusal of a call calls.intercom does not allow.
func intercomDenied(err error) *route.Refusal {
	reason := "intercom refused"
	var de *authz.DeniedError
	if errors.As(err, &de) {
		reason = "intercom " + de.Reason
	}
	return &route.Refusal{Code: 403, Reason: "Forbidden (" + reason + ")", Disp: directory.Denied, Why: reason}
}
