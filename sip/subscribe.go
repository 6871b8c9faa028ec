package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/auth"
	"github.com/switchboard-pbx/switchboard/sip/creds"
	"github.com/switchboard-pbx/switchboard/sip/leg"
	"github.com/switchboard-pbx/switchboard/sip/location"
	"github.com/switchboard-pbx/switchboard/sip/presence"
	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// Busy lamps and presence (RFC 6665): the SIP side of package presence.
// A SUBSCRIBE to an extension or a group number with Event: dialog or
// presence is authenticated like a REGISTER (401, the same digest path and
// guard), decided by authz.Watch for each user watched, and answered 200;
// NOTIFYs then leave from our listener to the subscriber where its
// SUBSCRIBE came from (its source address, as for calls to phones). A
// refresh or un-subscribe is an in-dialog request: only the dialog's peer
// (the address NOTIFYs go to, or a source holding a registration of the
// subscriber's extension) may send it; anyone else gets 481.

// notifyTimeout bounds one NOTIFY's wait for its answer; a subscriber that
// does not answer in time is gone (RFC 6665 §4.2.2).
const notifyTimeout = 8 * time.Second

// subDialog is the SIP side of one subscription: the dialog NOTIFYs go in.
type subDialog struct {
	mu      sync.Mutex
	d       leg.Dialog
	event   string // the Event header of our NOTIFYs (with the id parameter)
	watcher string // the subscriber's extension, for admission
}

// subscriptions answers SUBSCRIBEs (message-summary ones go to its mwi
// table) and sends the presence table's NOTIFYs. It authenticates through
// the registrar and reads the credential cache and the location service;
// what it needs of the call side comes as functions (the Contact we give
// a peer, whether a number is a park orbit).
type subscriptions struct {
	responder
	cfg      *Config // the server's, read only
	store    directory.Store
	log      *slog.Logger
	client   *sipgo.Client
	auth     *auth.Checker
	creds    *creds.Cache
	loc      *location.Table
	counters *counters
	pres     *presence.Table // busy lamps and presence
	mwi      *mwiTable       // message-summary subscriptions (mwi.go)

	contactFor func(dest, transport string) sip.ContactHeader
	isOrbit    func(number string) bool
}

// newPresence makes the presence table whose NOTIFYs sb sends.
func (sb *subscriptions) newPresence(cfg presence.Config) {
	cfg.Domain = sb.auth.Realm
	sb.pres = presence.New(sb.sendNotify, cfg)
}

// presenceLeg feeds a leg event to the presence table.
func (sb *subscriptions) presenceLeg(e LegEvent) {
	l := presence.Leg{ID: e.LegID, Initiator: e.Initiator, Peer: e.Peer, PeerName: e.PeerName}
	switch e.State {
	case LegRinging:
		l.State = presence.LegRinging
	case LegAnswered:
		l.State = presence.LegAnswered
	}
	sb.pres.Leg(e.Ext, l, e.State == LegEnded)
}

// presenceUser tells the presence table of a user's do not disturb; removed
// is the extension the user no longer holds (deleted, off SIP or
// renumbered), whose subscriptions end.
func (sb *subscriptions) presenceUser(u *directory.User, removed string) {
	if u.Extension != "" {
		sb.pres.SetDND(u.Extension, u.State.CanUseSIP() && u.Forward.DND)
	}
	if removed != "" {
		sb.pres.EndExt(removed, "noresource")
	}
}

func subKey(callID, remoteTag, localTag string) string {
	return callID + "\x00" + remoteTag + "\x00" + localTag
}

// onSubscribe answers a SUBSCRIBE the server admitted from src.
func (sb *subscriptions) onSubscribe(req *sip.Request, tx sip.ServerTransaction, src netip.AddrPort) {
	if reason := checkRequest(req); reason != "" {
		sb.respond(tx, req, 400, reason)
		return
	}
	ev := req.GetHeader("Event")
	if ev != nil && isMWI(ev.Value()) {
		sb.mwi.subscribe(req, tx, src)
		return
	}
	pkg, ok := presence.Package(0), ev != nil
	if ok {
		pkg, ok = presence.ParsePackage(ev.Value())
	}
	if !ok {
		res := sb.response(req, 489, "Bad Event")
		res.AppendHeader(sip.NewHeader("Allow-Events", presence.Allowed+", "+mwiEvent))
		sb.send(tx, res)
		return
	}
	secs := int64(-1)
	if h := req.GetHeader("Expires"); h != nil {
		n, ok := wire.ParseDeltaSeconds(strings.TrimSpace(h.Value()))
		if !ok {
			sb.respond(tx, req, 400, "Bad Expires")
			return
		}
		secs = n
	}
	if tag(req.To().Params) != "" {
		sb.resubscribe(req, tx, secs)
		return
	}
	cred, ok := sb.auth.Check(req, tx, src.Addr(), auth.Registrar)
	if !ok {
		return
	}
	if !sb.auth.Current(req, tx, cred, auth.Registrar) {
		return
	}
	if req.Contact() == nil {
		sb.respond(tx, req, 400, "Missing Contact")
		return
	}
	d, tooBrief := sb.pres.Negotiate(secs)
	if tooBrief {
		res := sb.response(req, 423, "Interval Too Brief")
		res.AppendHeader(sip.NewHeader("Min-Expires", strconv.Itoa(int(sb.pres.Config().MinExpires/time.Second))))
		sb.send(tx, res)
		return
	}
	entity := unescapeUser(req.Recipient.User)
	members, code, reason := sb.watchable(cred, entity)
	if code != 0 {
		sb.log.Info("subscription refused", "watcher", cred.Ext, "entity", entity, "event", pkg.String(), "code", code, "reason", reason)
		sb.respond(tx, req, code, reason)
		return
	}

	// Our side of the dialog: the To tag of our 200, and where NOTIFYs go.
	localTag := sip.GenerateTagN(16)
	ok200 := req.Clone()
	ok200.To().Params.Add("tag", localTag)
	dest, transport := req.Source(), req.Transport()
	sd := &subDialog{watcher: cred.Ext, event: ev.Value(), d: leg.Dialog{
		CallID: req.CallID().Value(), LocalURI: req.To().Address, LocalTag: localTag,
		RemoteURI: req.From().Address, RemoteTag: tag(req.From().Params), Target: req.Contact().Address,
		Dest: dest, Transport: transport, Contact: sb.contactFor(dest, transport), CSeq: 1,
	}}
	sub := &presence.Subscription{Key: subKey(sd.d.CallID, sd.d.RemoteTag, localTag), Package: pkg,
		Entity: entity, Watcher: cred.Ext, Members: members, Dialog: sd}
	for _, m := range members {
		sb.seedPresence(m.Ext)
	}
	res := sb.response(ok200, 200, "OK")
	res.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(int(d/time.Second))))
	res.AppendHeader(sip.HeaderClone(&sd.d.Contact))
	if err := sb.pres.Add(sub, max(d, time.Second)); err != nil {
		if errors.Is(err, presence.ErrFull) {
			sb.log.Warn("subscription refused: table full", "watcher", cred.Ext)
		}
		res := sb.response(req, 503, "Service Unavailable")
		res.AppendHeader(sip.NewHeader("Retry-After", "60"))
		sb.send(tx, res)
		return
	}
	sb.send(tx, res)
	if d == 0 {
		sb.pres.End(sub, "timeout") // a fetch: one NOTIFY with the state, terminated
	}
	sb.log.Debug("subscription", "watcher", cred.Ext, "entity", entity, "event", pkg.String(), "expires", d)
}

// resubscribe refreshes or ends (Expires: 0) the subscription of an
// in-dialog SUBSCRIBE, which only the dialog's peer may send.
func (sb *subscriptions) resubscribe(req *sip.Request, tx sip.ServerTransaction, secs int64) {
	sub := sb.pres.Lookup(subKey(req.CallID().Value(), tag(req.From().Params), tag(req.To().Params)))
	var sd *subDialog
	if sub != nil {
		sd, _ = sub.Dialog.(*subDialog)
	}
	if sd == nil || !sd.fromPeer(req, sb.loc) {
		if sub != nil {
			sb.log.Info("in-dialog request refused: not from the subscriber", "method", "SUBSCRIBE", "src", req.Source())
			sb.counters.drop("not the dialog's peer")
		}
		sb.respond(tx, req, 481, "Subscription Does Not Exist")
		return
	}
	if secs == 0 {
		res := sb.response(req, 200, "OK")
		res.AppendHeader(sip.NewHeader("Expires", "0"))
		sb.send(tx, res)
		sb.pres.End(sub, "")
		return
	}
	d, tooBrief := sb.pres.Negotiate(secs)
	if tooBrief {
		res := sb.response(req, 423, "Interval Too Brief")
		res.AppendHeader(sip.NewHeader("Min-Expires", strconv.Itoa(int(sb.pres.Config().MinExpires/time.Second))))
		sb.send(tx, res)
		return
	}
	// Still allowed? Permissions may have changed since the subscription.
	if cred, ok := sb.creds.Lookup(sd.watcher); !ok {
		sb.respond(tx, req, 403, "Forbidden")
		sb.pres.End(sub, "rejected")
		return
	} else if _, code, reason := sb.watchable(cred, sub.Entity); code != 0 {
		sb.log.Info("subscription refresh refused", "watcher", sd.watcher, "entity", sub.Entity, "code", code, "reason", reason)
		sb.respond(tx, req, code, reason)
		if code == 403 || code == 404 {
			sb.pres.End(sub, "rejected")
		}
		return
	}
	res := sb.response(req, 200, "OK")
	res.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(int(d/time.Second))))
	sb.send(tx, res)
	if ct := req.Contact(); ct != nil {
		sd.mu.Lock()
		sd.d.Target = ct.Address
		sd.mu.Unlock()
	}
	if !sb.pres.Refresh(sub, d) {
		sb.log.Debug("refresh of an ending subscription", "watcher", sd.watcher)
	}
}

// fromPeer applies the in-dialog admission rule (admit.go) to a
// subscription's dialog: the request comes from where our NOTIFYs go, or
// from a source holding a registration of the subscriber's extension (its
// NAT mapping changed), which NOTIFYs then follow over UDP.
func (sd *subDialog) fromPeer(req *sip.Request, loc *location.Table) bool {
	ip := leg.PeerIP(req.Source())
	if !ip.IsValid() {
		return false
	}
	sd.mu.Lock()
	defer sd.mu.Unlock()
	if leg.PeerIP(sd.d.Dest) == ip {
		return true
	}
	if !loc.RegisteredExt(ip, sd.watcher) {
		return false
	}
	if !sip.IsReliable(req.Transport()) && strings.EqualFold(req.Transport(), sd.d.Transport) {
		sd.d.Dest = req.Source()
	}
	return true
}

// watchable returns what the subscriber of cred may see of entity (an
// extension, or the members of a group number), or the status and reason
// that refuse the subscription.
func (sb *subscriptions) watchable(cred *credential, entity string) ([]presence.Member, int, string) {
	ctx, cancel := context.WithTimeout(context.Background(), sb.cfg.StoreTimeout)
	defer cancel()
	wa, err := sb.store.Access(ctx, cred.UserID)
	if err != nil {
		sb.log.Warn("subscription: watcher's access unknown", "ext", cred.Ext, "err", err)
		return nil, 503, "Service Unavailable"
	}
	watcher := authz.NewSubject(wa)
	if sb.isOrbit(entity) {
		return watchOrbit(watcher, entity) // park.go
	}
	if directory.ValidateExtension("extension", entity) != nil {
		return nil, 404, "Not Found"
	}
	target, err := sb.auth.Credential(entity)
	if err != nil {
		return nil, 503, "Service Unavailable"
	}
	if target != nil {
		info, err := sb.watch(ctx, watcher, target.UserID)
		if err != nil {
			return nil, 403, "Forbidden (" + deniedReason(err) + ")"
		}
		return []presence.Member{{Ext: target.Ext, Info: info}}, 0, ""
	}
	g, err := sb.store.GroupByExtension(ctx, entity)
	switch {
	case errors.Is(err, directory.ErrNotFound):
		return nil, 404, "Not Found"
	case err != nil:
		return nil, 503, "Service Unavailable"
	}
	ids, err := sb.store.GroupMembers(ctx, g.ID)
	if err != nil {
		return nil, 503, "Service Unavailable"
	}
	// A group shows the members the watcher may see, and only them.
	var members []presence.Member
	var refusal error
	for _, id := range ids {
		c, ok := sb.creds.ByID(id)
		if !ok {
			continue
		}
		info, err := sb.watch(ctx, watcher, id)
		if err != nil {
			refusal = err
			continue
		}
		members = append(members, presence.Member{Ext: c.Ext, Info: info})
	}
	if len(members) == 0 {
		if refusal == nil {
			refusal = &authz.DeniedError{Permission: authz.PresenceObserve, Reason: "the group has no member you may see"}
		}
		return nil, 403, "Forbidden (" + deniedReason(refusal) + ")"
	}
	return members, 0, ""
}

// watch asks authz whether watcher may see user id, and its calls' peers.
func (sb *subscriptions) watch(ctx context.Context, watcher *authz.Subject, id int64) (bool, error) {
	ta, err := sb.store.Access(ctx, id)
	if err != nil {
		return false, fmt.Errorf("access of user %d: %w", id, err)
	}
	return authz.Watch(watcher, authz.NewSubject(ta))
}

// seedPresence gives the table what it may not know yet of ext: whether a
// phone is registered and whether it is in do not disturb.
func (sb *subscriptions) seedPresence(ext string) {
	sb.pres.SetRegistered(ext, len(sb.loc.Current(ext)) > 0)
	if c, ok := sb.creds.Lookup(ext); ok {
		sb.pres.SetDND(ext, c.Forward.DND)
	}
}

// sendNotify sends one NOTIFY of a subscription (presence.Sender).
func (sb *subscriptions) sendNotify(ctx context.Context, n presence.Notify) error {
	sd, ok := n.Sub.Dialog.(*subDialog)
	if !ok {
		return presence.ErrGone
	}
	sd.mu.Lock()
	req := sd.d.Request(sip.NOTIFY)
	dest := sd.d.Dest
	sd.mu.Unlock()
	req.AppendHeader(sip.NewHeader("Event", sd.event))
	state := "active;expires=" + strconv.Itoa(n.Expires)
	if n.Final {
		state = "terminated"
		if n.Reason != "" {
			state += ";reason=" + n.Reason
		}
	}
	req.AppendHeader(sip.NewHeader("Subscription-State", state))
	req.AppendHeader(sip.NewHeader("User-Agent", sb.agent))
	req.AppendHeader(sip.NewHeader("Content-Type", n.ContentType))
	req.SetBody(n.Body)
	ctx, cancel := context.WithTimeout(ctx, notifyTimeout)
	defer cancel()
	res, err := sb.client.Do(ctx, req)
	if err != nil {
		sb.log.Debug("notify not answered; subscription ends", "watcher", sd.watcher, "dest", dest, "err", err)
		return presence.ErrGone
	}
	if !res.IsSuccess() {
		sb.log.Debug("notify refused; subscription ends", "watcher", sd.watcher, "status", res.StatusCode)
		return presence.ErrGone
	}
	return nil
}

// unescapeUser turns the escaped stars of a dialed user part back.
func unescapeUser(u string) string {
	return strings.ReplaceAll(strings.ReplaceAll(u, "%2A", "*"), "%2a", "*")
}
