package subscribe

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/auth"
	"github.com/switchboard-pbx/switchboard/sip/leg"
	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// Message waiting indication (RFC 3842): a phone SUBSCRIBEs with Event:
// message-summary to its own extension, authenticated like a REGISTER,
// and gets a NOTIFY with the mailbox's counts at once and on every change
// the SIP side makes (a message left, messages heard by phone). A
// subscription to another extension's mailbox is refused 403: a mailbox
// is its owner's alone. A group's number names the group's mailbox, which
// the members recordings.listen lets hear may watch (Parts.GroupMailbox).

const (
	mwiEvent      = "message-summary"
	mwiMinExpires = 60
	mwiMaxExpires = 3600
	mwiDefExpires = 3600
	// mwiMaxSubs bounds the table: a phone subscribes once per line.
	mwiMaxSubs = 10000
)

// mwiSub is one message-summary subscription.
type mwiSub struct {
	sd      *subDialog
	userID  int64 // the mailbox's owner: a user,
	groupID int64 // or a group
	expires time.Time
	mu      sync.Mutex // one NOTIFY at a time, in order
}

// mwiTable holds the message-summary subscriptions by dialog key and
// sends their NOTIFYs. It authenticates through the digest check; the
// Contact we give a peer and a group's mailbox come as functions of the
// subscriptions' parts.
type mwiTable struct {
	rp    wire.Responder // our responses, with our Server header
	cfg   *Config        // the subscriptions', read only
	parts *Parts         // the subscriptions'

	mu   sync.Mutex
	subs map[string]*mwiSub
}

// isMWI reports whether an Event header value names message-summary.
func isMWI(ev string) bool {
	pkg, _, _ := strings.Cut(ev, ";")
	return strings.EqualFold(strings.TrimSpace(pkg), mwiEvent)
}

// subscribe answers a SUBSCRIBE for message-summary (OnSubscribe sends
// it here).
func (t *mwiTable) subscribe(req *sip.Request, tx sip.ServerTransaction, src netip.AddrPort) {
	secs := int64(mwiDefExpires)
	if h := req.GetHeader("Expires"); h != nil {
		n, ok := wire.ParseDeltaSeconds(strings.TrimSpace(h.Value()))
		if !ok {
			t.rp.Respond(tx, req, 400, "Bad Expires")
			return
		}
		secs = n
	}
	if secs != 0 && secs < mwiMinExpires {
		res := t.rp.Response(req, 423, "Interval Too Brief")
		res.AppendHeader(sip.NewHeader("Min-Expires", strconv.Itoa(mwiMinExpires)))
		t.rp.Send(tx, res)
		return
	}
	secs = min(secs, mwiMaxExpires)
	if wire.Tag(req.To().Params) != "" {
		t.resubscribe(req, tx, secs)
		return
	}
	cred, ok := t.parts.Auth.Check(req, tx, src.Addr(), auth.Registrar)
	if !ok {
		return
	}
	if !t.parts.Auth.Current(req, tx, cred, auth.Registrar) {
		return
	}
	if req.Contact() == nil {
		t.rp.Respond(tx, req, 400, "Missing Contact")
		return
	}
	userID, groupID := cred.UserID, int64(0)
	if entity := wire.UnescapeUser(req.Recipient.User); entity != cred.Ext {
		ctx, cancel := context.WithTimeout(context.Background(), t.cfg.StoreTimeout)
		g, err := t.parts.GroupMailbox(ctx, cred.UserID, entity)
		cancel()
		var de *authz.DeniedError
		switch {
		case err == nil && g == nil, errors.As(err, &de):
			t.parts.Log.Info("mwi subscription refused: not the subscriber's mailbox", "watcher", cred.Ext, "entity", entity, "err", err)
			t.rp.Respond(tx, req, 403, "Forbidden (not your mailbox)")
			return
		case err != nil:
			t.parts.Log.Warn("mwi subscription refused: store", "watcher", cred.Ext, "entity", entity, "err", err)
			t.rp.Respond(tx, req, 503, "Service Unavailable")
			return
		}
		userID, groupID = 0, g.ID
	}
	localTag := sip.GenerateTagN(16)
	ok200 := req.Clone()
	ok200.To().Params.Add("tag", localTag)
	dest, transport := req.Source(), req.Transport()
	sd := &subDialog{watcher: cred.Ext, event: mwiEvent, d: leg.Dialog{
		CallID: req.CallID().Value(), LocalURI: req.To().Address, LocalTag: localTag,
		RemoteURI: req.From().Address, RemoteTag: wire.Tag(req.From().Params), Target: req.Contact().Address,
		Dest: dest, Transport: transport, Contact: t.parts.Contact(dest, transport), CSeq: 1,
	}}
	sub := &mwiSub{sd: sd, userID: userID, groupID: groupID, expires: time.Now().Add(time.Duration(secs) * time.Second)}
	key := subKey(sd.d.CallID, sd.d.RemoteTag, localTag)
	t.mu.Lock()
	t.expire(time.Now())
	full := len(t.subs) >= mwiMaxSubs
	if !full && secs > 0 {
		if t.subs == nil {
			t.subs = make(map[string]*mwiSub)
		}
		t.subs[key] = sub
	}
	t.mu.Unlock()
	if full {
		res := t.rp.Response(req, 503, "Service Unavailable")
		res.AppendHeader(sip.NewHeader("Retry-After", "60"))
		t.rp.Send(tx, res)
		return
	}
	res := t.rp.Response(ok200, 200, "OK")
	res.AppendHeader(sip.NewHeader("Expires", strconv.FormatInt(secs, 10)))
	res.AppendHeader(sip.HeaderClone(&sd.d.Contact))
	t.rp.Send(tx, res)
	t.parts.Log.Debug("mwi subscription", "ext", cred.Ext, "expires", secs)
	go t.notify(sub, secs == 0)
}

// resubscribe refreshes or ends a message-summary subscription; only
// the dialog's peer may.
func (t *mwiTable) resubscribe(req *sip.Request, tx sip.ServerTransaction, secs int64) {
	key := subKey(req.CallID().Value(), wire.Tag(req.From().Params), wire.Tag(req.To().Params))
	t.mu.Lock()
	sub := t.subs[key]
	t.mu.Unlock()
	if sub == nil || !sub.sd.fromPeer(req, t.parts.Loc) {
		t.rp.Respond(tx, req, 481, "Subscription Does Not Exist")
		return
	}
	t.mu.Lock()
	if secs == 0 {
		delete(t.subs, key)
	} else {
		sub.expires = time.Now().Add(time.Duration(secs) * time.Second)
	}
	t.mu.Unlock()
	res := t.rp.Response(req, 200, "OK")
	res.AppendHeader(sip.NewHeader("Expires", strconv.FormatInt(secs, 10)))
	t.rp.Send(tx, res)
	go t.notify(sub, secs == 0)
}

// expire drops subscriptions past their time. t.mu must be held.
func (t *mwiTable) expire(now time.Time) {
	for k, sub := range t.subs {
		if now.After(sub.expires) {
			delete(t.subs, k)
		}
	}
}

// changed sends the current counts to every subscription of the
// mailbox of a user (userID) or a group.
func (t *mwiTable) changed(userID, groupID int64) {
	t.mu.Lock()
	t.expire(time.Now())
	var subs []*mwiSub
	for _, sub := range t.subs {
		if sub.userID == userID && sub.groupID == groupID {
			subs = append(subs, sub)
		}
	}
	t.mu.Unlock()
	for _, sub := range subs {
		t.notify(sub, false)
	}
}

// mwiBody is a message-summary body (RFC 3842 §5.2).
func mwiBody(c directory.VoicemailCount, account string) string {
	waiting := "no"
	if c.New > 0 {
		waiting = "yes"
	}
	return fmt.Sprintf("Messages-Waiting: %s\r\nMessage-Account: %s\r\nVoice-Message: %d/%d\r\n", waiting, account, c.New, c.Old)
}

// notify sends one NOTIFY with the mailbox's counts; final ends the
// subscription. A subscriber that does not take it is dropped.
func (t *mwiTable) notify(sub *mwiSub, final bool) {
	sub.mu.Lock()
	defer sub.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), t.cfg.StoreTimeout)
	counts, err := t.parts.Store.CountVoicemails(ctx, sub.userID, sub.groupID)
	cancel()
	if err != nil {
		t.parts.Log.Warn("mwi: mailbox counts unknown", "user_id", sub.userID, "group_id", sub.groupID, "err", err)
		return
	}
	sd := sub.sd
	sd.mu.Lock()
	req := sd.d.Request(sip.NOTIFY)
	account := sd.d.LocalURI
	sd.mu.Unlock()
	req.AppendHeader(sip.NewHeader("Event", mwiEvent))
	state := "active;expires=" + strconv.Itoa(max(int(time.Until(sub.expires)/time.Second), 0))
	if final {
		state = "terminated;reason=timeout"
	}
	req.AppendHeader(sip.NewHeader("Subscription-State", state))
	req.AppendHeader(sip.NewHeader("User-Agent", t.rp.Agent))
	req.AppendHeader(sip.NewHeader("Content-Type", "application/simple-message-summary"))
	req.SetBody([]byte(mwiBody(counts, account.String())))
	ctx, cancel = context.WithTimeout(context.Background(), notifyTimeout)
	defer cancel()
	res, err := t.parts.Client.Do(ctx, req)
	if err != nil || !res.IsSuccess() {
		t.parts.Log.Debug("mwi notify not taken; subscription ends", "watcher", sd.watcher, "err", err)
		t.mu.Lock()
		for k, v := range t.subs {
			if v == sub {
				delete(t.subs, k)
			}
		}
		t.mu.Unlock()
	}
}
