package subscribe

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

// AllowEvents lists the event packages we answer, for Allow-Events
// headers.
const AllowEvents = presence.Allowed + ", " + mwiEvent

// Config is what the subscriptions need of the server's settings.
type Config struct {
	Agent        string        // the Server and User-Agent headers
	StoreTimeout time.Duration // bounds each store read
	// Presence bounds busy-lamp and presence subscriptions; its Domain is
	// the digest check's realm.
	Presence presence.Config
}

// Parts are the server's parts the subscriptions use, and what only the
// call side knows, as functions. Store, Client, Auth, Creds, Loc and
// Contact are needed; a nil Log, Dropped, IsOrbit or GroupMailbox means
// none (no park orbits, no group mailboxes).
type Parts struct {
	Store  directory.Store
	Log    *slog.Logger
	Client *sipgo.Client // sends the NOTIFYs
	Auth   *auth.Checker
	Creds  *creds.Cache
	Loc    *location.Table
	// Dropped counts a request refused as not from its dialog's peer.
	Dropped func(reason string)
	// Contact is the Contact we give a peer at dest over transport.
	Contact func(dest, transport string) sip.ContactHeader
	// IsOrbit reports whether number is a park orbit's.
	IsOrbit func(number string) bool
	// GroupMailbox returns the group whose number is number when the user
	// may hear its mailbox: nil and no error when number is no group's, an
	// *authz.DeniedError when the user may not.
	GroupMailbox func(ctx context.Context, userID int64, number string) (*directory.Group, error)
}

// subDialog is the SIP side of one subscription: the dialog NOTIFYs go in.
type subDialog struct {
	mu      sync.Mutex
	d       leg.Dialog
	event   string // the Event header of our NOTIFYs (with the id parameter)
	watcher string // the subscriber's extension, for admission
}

// Subscriptions answers SUBSCRIBEs (message-summary ones go to its mwi
// table) and sends the presence table's NOTIFYs. It authenticates through
// the digest check and reads the credential cache and the location
// service.
type Subscriptions struct {
	rp    wire.Responder // our responses, with our Server header
	cfg   Config
	store directory.Store
	log   *slog.Logger
	parts Parts
	pres  *presence.Table // busy lamps and presence
	mwi   *mwiTable       // message-summary subscriptions (mwi.go)
}

// New makes the subscriptions and their presence table. Nothing is sent
// until a SUBSCRIBE comes (OnSubscribe).
func New(cfg Config, p Parts) *Subscriptions {
	if p.Log == nil {
		p.Log = slog.New(slog.DiscardHandler)
	}
	if p.Dropped == nil {
		p.Dropped = func(string) {}
	}
	if p.IsOrbit == nil {
		p.IsOrbit = func(string) bool { return false }
	}
	if p.GroupMailbox == nil {
		p.GroupMailbox = func(context.Context, int64, string) (*directory.Group, error) { return nil, nil }
	}
	rp := wire.Responder{Agent: cfg.Agent, Log: p.Log}
	sb := &Subscriptions{rp: rp, cfg: cfg, store: p.Store, log: p.Log, parts: p}
	sb.mwi = &mwiTable{rp: rp, cfg: &sb.cfg, parts: &sb.parts}
	pc := cfg.Presence
	pc.Domain = p.Auth.Realm
	sb.pres = presence.New(sb.sendNotify, pc)
	return sb
}

// Presence returns the busy-lamp and presence table, which the server
// feeds legs' states, registrations and park orbits' lamps.
func (sb *Subscriptions) Presence() *presence.Table { return sb.pres }

// UserChanged tells the presence table of a user's do not disturb;
// removed is the extension the user no longer holds (deleted, off SIP or
// renumbered), whose subscriptions end.
func (sb *Subscriptions) UserChanged(u *directory.User, removed string) {
	if u.Extension != "" {
		sb.pres.SetDND(u.Extension, u.State.CanUseSIP() && u.Forward.DND)
	}
	if removed != "" {
		sb.pres.EndExt(removed, "noresource")
	}
}

// MailboxChanged sends the current counts to every message-summary
// subscription of the mailbox of a user (userID) or a group (groupID),
// and returns once each NOTIFY is answered or timed out.
func (sb *Subscriptions) MailboxChanged(userID, groupID int64) { sb.mwi.changed(userID, groupID) }

func subKey(callID, remoteTag, localTag string) string {
	return callID + "\x00" + remoteTag + "\x00" + localTag
}

// OnSubscribe answers a SUBSCRIBE the server admitted from src.
func (sb *Subscriptions) OnSubscribe(req *sip.Request, tx sip.ServerTransaction, src netip.AddrPort) {
	if reason := wire.CheckRequest(req); reason != "" {
		sb.rp.Respond(tx, req, 400, reason)
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
		res := sb.rp.Response(req, 489, "Bad Event")
		res.AppendHeader(sip.NewHeader("Allow-Events", presence.Allowed+", "+mwiEvent))
		sb.rp.Send(tx, res)
		return
	}
	secs := int64(-1)
	if h := req.GetHeader("Expires"); h != nil {
		n, ok := wire.ParseDeltaSeconds(strings.TrimSpace(h.Value()))
		if !ok {
			sb.rp.Respond(tx, req, 400, "Bad Expires")
			return
		}
		secs = n
	}
	if wire.Tag(req.To().Params) != "" {
		sb.resubscribe(req, tx, secs)
		return
	}
	cred, ok := sb.parts.Auth.Check(req, tx, src.Addr(), auth.Registrar)
	if !ok {
		return
	}
	if !sb.parts.Auth.Current(req, tx, cred, auth.Registrar) {
		return
	}
	if req.Contact() == nil {
		sb.rp.Respond(tx, req, 400, "Missing Contact")
		return
	}
	d, tooBrief := sb.pres.Negotiate(secs)
	if tooBrief {
		res := sb.rp.Response(req, 423, "Interval Too Brief")
		res.AppendHeader(sip.NewHeader("Min-Expires", strconv.Itoa(int(sb.pres.Config().MinExpires/time.Second))))
		sb.rp.Send(tx, res)
		return
	}
	entity := wire.UnescapeUser(req.Recipient.User)
	members, code, reason := sb.watchable(cred, entity)
	if code != 0 {
		sb.log.Info("subscription refused", "watcher", cred.Ext, "entity", entity, "event", pkg.String(), "code", code, "reason", reason)
		sb.rp.Respond(tx, req, code, reason)
		return
	}

	// Our side of the dialog: the To tag of our 200, and where NOTIFYs go.
	localTag := sip.GenerateTagN(16)
	ok200 := req.Clone()
	ok200.To().Params.Add("tag", localTag)
	dest, transport := req.Source(), req.Transport()
	sd := &subDialog{watcher: cred.Ext, event: ev.Value(), d: leg.Dialog{
		CallID: req.CallID().Value(), LocalURI: req.To().Address, LocalTag: localTag,
		RemoteURI: req.From().Address, RemoteTag: wire.Tag(req.From().Params), Target: req.Contact().Address,
		Dest: dest, Transport: transport, Contact: sb.parts.Contact(dest, transport), CSeq: 1,
	}}
	sub := &presence.Subscription{Key: subKey(sd.d.CallID, sd.d.RemoteTag, localTag), Package: pkg,
		Entity: entity, Watcher: cred.Ext, Members: members, Dialog: sd}
	for _, m := range members {
		sb.seedPresence(m.Ext)
	}
	res := sb.rp.Response(ok200, 200, "OK")
	res.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(int(d/time.Second))))
	res.AppendHeader(sip.HeaderClone(&sd.d.Contact))
	if err := sb.pres.Add(sub, max(d, time.Second)); err != nil {
		if errors.Is(err, presence.ErrFull) {
			sb.log.Warn("subscription refused: table full", "watcher", cred.Ext)
		}
		res := sb.rp.Response(req, 503, "Service Unavailable")
		res.AppendHeader(sip.NewHeader("Retry-After", "60"))
		sb.rp.Send(tx, res)
		return
	}
	sb.rp.Send(tx, res)
	if d == 0 {
		sb.pres.End(sub, "timeout") // a fetch: one NOTIFY with the state, terminated
	}
	sb.log.Debug("subscription", "watcher", cred.Ext, "entity", entity, "event", pkg.String(), "expires", d)
}

// resubscribe refreshes or ends (Expires: 0) the subscription of an
// in-dialog SUBSCRIBE, which only the dialog's peer may send.
func (sb *Subscriptions) resubscribe(req *sip.Request, tx sip.ServerTransaction, secs int64) {
	sub := sb.pres.Lookup(subKey(req.CallID().Value(), wire.Tag(req.From().Params), wire.Tag(req.To().Params)))
	var sd *subDialog
	if sub != nil {
		sd, _ = sub.Dialog.(*subDialog)
	}
	if sd == nil || !sd.fromPeer(req, sb.parts.Loc) {
		if sub != nil {
			sb.log.Info("in-dialog request refused: not from the subscriber", "method", "SUBSCRIBE", "src", req.Source())
			sb.parts.Dropped("not the dialog's peer")
		}
		sb.rp.Respond(tx, req, 481, "Subscription Does Not Exist")
		return
	}
	if secs == 0 {
		res := sb.rp.Response(req, 200, "OK")
		res.AppendHeader(sip.NewHeader("Expires", "0"))
		sb.rp.Send(tx, res)
		sb.pres.End(sub, "")
		return
	}
	d, tooBrief := sb.pres.Negotiate(secs)
	if tooBrief {
		res := sb.rp.Response(req, 423, "Interval Too Brief")
		res.AppendHeader(sip.NewHeader("Min-Expires", strconv.Itoa(int(sb.pres.Config().MinExpires/time.Second))))
		sb.rp.Send(tx, res)
		return
	}
	// Still allowed? Permissions may have changed since the subscription.
	if cred, ok := sb.parts.Creds.Lookup(sd.watcher); !ok {
		sb.rp.Respond(tx, req, 403, "Forbidden")
		sb.pres.End(sub, "rejected")
		return
	} else if _, code, reason := sb.watchable(cred, sub.Entity); code != 0 {
		sb.log.Info("subscription refresh refused", "watcher", sd.watcher, "entity", sub.Entity, "code", code, "reason", reason)
		sb.rp.Respond(tx, req, code, reason)
		if code == 403 || code == 404 {
			sb.pres.End(sub, "rejected")
		}
		return
	}
	res := sb.rp.Response(req, 200, "OK")
	res.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(int(d/time.Second))))
	sb.rp.Send(tx, res)
	if ct := req.Contact(); ct != nil {
		sd.mu.Lock()
		sd.d.Target = ct.Address
		sd.mu.Unlock()
	}
	if !sb.pres.Refresh(sub, d) {
		sb.log.Debug("refresh of an ending subscription", "watcher", sd.watcher)
	}
}

// fromPeer applies the in-dialog admission rule of calls to a
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
func (sb *Subscriptions) watchable(cred *creds.Credential, entity string) ([]presence.Member, int, string) {
	ctx, cancel := context.WithTimeout(context.Background(), sb.cfg.StoreTimeout)
	defer cancel()
	wa, err := sb.store.Access(ctx, cred.UserID)
	if err != nil {
		sb.log.Warn("subscription: watcher's access unknown", "ext", cred.Ext, "err", err)
		return nil, 503, "Service Unavailable"
	}
	watcher := authz.NewSubject(wa)
	if sb.parts.IsOrbit(entity) {
		return watchOrbit(watcher, entity)
	}
	if directory.ValidateExtension("extension", entity) != nil {
		return nil, 404, "Not Found"
	}
	target, err := sb.parts.Auth.Credential(entity)
	if err != nil {
		return nil, 503, "Service Unavailable"
	}
	if target != nil {
		info, err := sb.watch(ctx, watcher, target.UserID)
		if err != nil {
			return nil, 403, "Forbidden (" + authz.DeniedReason(err) + ")"
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
		c, ok := sb.parts.Creds.ByID(id)
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
		return nil, 403, "Forbidden (" + authz.DeniedReason(refusal) + ")"
	}
	return members, 0, ""
}

// watch asks authz whether watcher may see user id, and its calls' peers.
func (sb *Subscriptions) watch(ctx context.Context, watcher *authz.Subject, id int64) (bool, error) {
	ta, err := sb.store.Access(ctx, id)
	if err != nil {
		return false, fmt.Errorf("access of user %d: %w", id, err)
	}
	return authz.Watch(watcher, authz.NewSubject(ta))
}

// seedPresence gives the table what it may not know yet of ext: whether a
// phone is registered and whether it is in do not disturb.
func (sb *Subscriptions) seedPresence(ext string) {
	sb.pres.SetRegistered(ext, len(sb.parts.Loc.Current(ext)) > 0)
	if c, ok := sb.parts.Creds.Lookup(ext); ok {
		sb.pres.SetDND(ext, c.Forward.DND)
	}
}

// sendNotify sends one NOTIFY of a subscription (presence.Sender).
func (sb *Subscriptions) sendNotify(ctx context.Context, n presence.Notify) error {
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
	req.AppendHeader(sip.NewHeader("User-Agent", sb.rp.Agent))
	req.AppendHeader(sip.NewHeader("Content-Type", n.ContentType))
	req.SetBody(n.Body)
	ctx, cancel := context.WithTimeout(ctx, notifyTimeout)
	defer cancel()
	res, err := sb.parts.Client.Do(ctx, req)
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

// watchOrbit decides a subscription to an orbit's busy lamp: whoever may
// park may watch orbits, and sees who is parked there when it may take
// any parked call.
func watchOrbit(watcher *authz.Subject, orbit string) ([]presence.Member, int, string) {
	if err := authz.CanDo(watcher, authz.CallsPark); err != nil {
		return nil, 403, "Forbidden (" + authz.DeniedReason(err) + ")"
	}
	info := authz.Can(watcher, authz.CallsPark, authz.Resource{Kind: authz.KindCall}) == nil
	return []presence.Member{{Ext: orbit, Info: info}}, 0, ""
}
