package voicemail

import (
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/pion/sdp/v3"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/media"
	"github.com/switchboard-pbx/switchboard/sip/call"
	"github.com/switchboard-pbx/switchboard/sip/record"
	"github.com/switchboard-pbx/switchboard/sip/route"
	"github.com/switchboard-pbx/switchboard/sip/sdpneg"
)

// Voicemail deposit: a call to a user who does not answer (ring time
// over, or every phone busy) goes to the user's mailbox when it is
// enabled. The PBX answers the caller itself: leg B is a media.Endpoint
// (a leg without a dialog) on the call's relay, which plays the greeting
// (the user's, or a short silence when none), a beep, and then records
// what the caller says until the caller hangs up or the mailbox's length
// limit. The message is a mono WAV under the recordings directory and a
// row in the store.

// vmBeep is the tone before recording starts.
var vmBeep = media.Tone(1000, 400, -10)

// vmNoGreeting is played when the user recorded no greeting: the beep
// follows it at once.
var vmNoGreeting = media.Silence(300)

// voicemail is the b2bua's voicemail service: a callee's mailbox stands
// in for them (standIn) when they cannot take a call or do not answer it;
// vmretrieve.go plays users their messages.
type Service struct {
	Core     *call.Core
	sessions sync.Map // Call-ID → *vmSession: phones in their mailbox (vmretrieve.go)
	// MailboxChanged tells the phones watching a mailbox (a user's, or a
	// group's) its counts now.
	MailboxChanged func(userID, groupID int64)
	// OnLeft hears of each message stored (a test's hook), nil when none.
	OnLeft func(directory.Voicemail)
}

// vmDeposit is the voicemail leg of one call, a room standing on leg B
// in place of a dialog: the endpoint the relay's leg B talks to and the
// recording of the message.
type vmDeposit struct {
	vm     *Service
	c      *call.Call
	ep     *media.Endpoint
	rec    *media.MonoRecorder
	row    directory.Voicemail
	email  bool // send a copy by e-mail
	Cancel context.CancelFunc
	done   chan struct{} // the greeting/recording script ended
	Ready  chan struct{} // the caller's media is known: the greeting may start
	ended  bool
}

func (d *vmDeposit) RoomName() string { return "voicemail" }

// vmFull ends a call whose message reached its length limit.
type vmFull struct{ d *vmDeposit }

func (ev vmFull) HandleOn(c *call.Call) {
	if !ev.d.ended && c.State == call.StAnswered {
		c.Log.Info("voicemail length limit reached")
		c.Hangup("system", "voicemail length limit")
	}
}

// Refusal: the mailbox takes any call, with an offer or without.
func (vm *Service) Refusal(*call.Call) *route.Refusal { return nil }

// AnswerCall answers a call the mailbox took in beginOn (takes).
func (vm *Service) AnswerCall(c *call.Call) { vm.deposit(c) }

// AnswerRinging answers a ringing call its callee did not answer.
func (vm *Service) AnswerRinging(c *call.Call) bool { return vm.deposit(c) }

// deposit answers a ringing call for the callee's mailbox, when the
// callee is a user with voicemail enabled. It reports whether it took the
// call over. (No transfer is under way: the call is new, or its ringing
// ends without one, forwardOnFailure.)
func (vm *Service) deposit(c *call.Call) bool {
	rt := c.Rt
	if rt == nil || vm.Core.RecordingsDir == "" {
		return false
	}
	// The mailbox: the user's who did not answer, else the group's.
	var userID, groupID int64
	var ownerExt, dir string
	switch {
	case rt.ForwardUser != nil:
		userID, ownerExt, dir = rt.ForwardUser.UserID, rt.ForwardUser.Ext, strconv.FormatInt(rt.ForwardUser.UserID, 10)
	case rt.GroupID != 0:
		groupID, ownerExt, dir = rt.GroupID, rt.To, "g"+strconv.FormatInt(rt.GroupID, 10)
	default:
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.Core.StoreTimeout)
	mb, err := vm.Core.Store.Mailbox(ctx, userID, groupID)
	cancel()
	if err != nil {
		c.Log.Warn("voicemail not offered: mailbox unknown", "user_id", userID, "group_id", groupID, "err", err)
		return false
	}
	if !mb.Enabled {
		return false
	}
	codec, event := media.PCMU, uint8(0)
	var offer *sdp.SessionDescription
	if c.Late { // the caller's INVITE had no offer: ours goes in the 200 (vmlate.go)
		event = vmLateEvent
	} else if offer, _, err = sdpneg.Parse(c.AReq.Body()); err != nil {
		return false
	}
	var md *sdp.MediaDescription
	if offer != nil {
		md = sdpneg.Audio(offer)
	}
	if md != nil {
		found := false
		for _, sc := range sdpneg.CodecsOf(md) {
			if mc, ok := sc.MediaCodec(); ok && !found && (mc == media.PCMU || mc == media.PCMA) {
				codec, found = mc, true
			}
			if sc.Name == "TELEPHONE-EVENT" && sc.Rate == 8000 && event == 0 {
				event = sc.PT
			}
		}
	}
	ip := c.Core.Config.MediaIP
	if !ip.IsValid() || ip.IsUnspecified() {
		ip = netip.MustParseAddr("127.0.0.1")
	}
	ep, err := media.NewEndpoint(media.EndpointConfig{Pool: c.Core.Pool, IP: ip, Codec: codec, EventType: event, Logger: c.Log})
	if err != nil {
		c.Log.Warn("voicemail not offered: no rtp ports", "err", err)
		return false
	}
	caller := rt.From
	if c.Caller != nil {
		caller = c.Caller.Ext
	}
	d, greeting, err := vm.NewDeposit(c, mb, userID, groupID, dir, caller, ep)
	if err != nil {
		ep.Close()
		c.Log.Error("voicemail not offered: message file", "err", err)
		return false
	}
	rec, path, now := d.rec, d.row.Path, d.row.StartedAt
	ep.SetRemote(netip.AddrPortFrom(ip, c.Relay.Local(media.LegB).Port()))
	epSDP := sdpneg.EndpointSDP(ep.Local().Addr(), ep.Local().Port(), codec, event)
	sdpBody, err := c.AnswerSDP(epSDP)
	if err != nil {
		ep.Close()
		rec.Close()
		os.Remove(path)
		c.Log.Info("voicemail not offered: sdp", "err", err)
		return false
	}

	// The callee's phones ring no more.
	exts := c.Ring.StopRinging(rt.First, c.CallerExt())
	c.Ring.CancelAll(nil)
	c.Core.Release(c, exts...)

	c.Rooms.Open(d)
	if c.Late {
		c.BOffer, c.NeedAnswer = epSDP, true // the greeting waits for the answer in the ACK
	} else {
		close(d.Ready)
	}
	rctx, rcancel := context.WithCancel(c.Core.Ctx)
	d.Cancel = rcancel
	c.WG.Go(func() { _ = ep.Run(rctx) })
	c.WG.Go(func() { d.Script(rctx, greeting) })

	c.State = call.StAnswered
	c.BAcked = true
	c.Relay.Arm()
	c.CDR.AnsweredAt = now
	c.CDR.Disposition = directory.Answered
	if userID != 0 {
		c.CDR.CalleeID = userID
	}
	c.CDR.To = ownerExt
	c.Legs[0].Dialog = c.Core.UASDialog(c.AReq)
	ok200 := c.OKResponse(c.AReq, sdpBody, c.Legs[0].Dialog.Contact)
	c.AAnswered = true
	if err := c.ATx.Respond(ok200); err != nil {
		c.Log.Info("200 to caller not sent", "err", err)
		c.Hangup("system", "caller unreachable")
		c.CloseAFinal()
		return true
	}
	c.Log.Info("call to voicemail", "user_id", userID, "group_id", groupID, "ext", ownerExt, "codec", codec)
	c.AwaitAck(c.AReq, call.Pending2xx{FromA: true, Tx: c.ATx, Res: ok200, Done: c.AFinal, Initial: true, Offer: c.Late})
	return true
}

// NewDeposit opens a message on call c for mailbox mb (of userID or
// groupID, filed under dir) left by caller on ep, and loads its greeting.
func (vm *Service) NewDeposit(c *call.Call, mb *directory.Mailbox, userID, groupID int64, dir, caller string, ep *media.Endpoint) (*vmDeposit, *media.Clip, error) {
	now := time.Now().UTC()
	path := filepath.Join(vm.Core.RecordingsDir, "voicemail", dir,
		now.Format("20060102-150405")+"-"+record.RandomHex(6)+".wav")
	maxLen := mb.MaxSeconds
	if maxLen == 0 {
		maxLen = directory.DefaultVoicemailSeconds
	}
	var rec *media.MonoRecorder
	err := os.MkdirAll(filepath.Dir(path), 0o750)
	if err == nil {
		rec, err = media.NewMonoRecorder(path, time.Duration(maxLen)*time.Second)
	}
	if err != nil {
		return nil, nil, err
	}
	greeting := vmNoGreeting
	if mb.Greeting != "" {
		if g, err := media.LoadWAV(mb.Greeting); err != nil {
			c.Log.Warn("voicemail greeting not played", "path", mb.Greeting, "err", err)
		} else {
			greeting = g
		}
	}
	d := &vmDeposit{vm: vm, c: c, ep: ep, rec: rec, email: mb.ToEmail, done: make(chan struct{}), Ready: make(chan struct{}),
		row: directory.Voicemail{UserID: userID, GroupID: groupID, Caller: caller, StartedAt: now, Path: path}}
	return d, greeting, nil
}

// TakeRequest answers what a caller leaving a message cannot do: a
// re-INVITE (leg B has no dialog to pass it to) or a transfer. It
// reports whether it answered ev.
func (d *vmDeposit) TakeRequest(ev *call.ReqEvent) bool {
	c := d.c
	switch ev.Req.Method {
	case sip.INVITE:
		c.Core.Responder.Respond(ev.Tx, ev.Req, 488, "Not Acceptable Here (Voicemail)")
	case sip.REFER:
		c.Core.Responder.Respond(ev.Tx, ev.Req, 403, "Forbidden (Voicemail)")
	default:
		return false
	}
	close(ev.Done)
	return true
}

// Takes reports whether a call its callee cannot take (do not disturb,
// not registered, at the call limit) goes to the callee's mailbox
// instead, and makes the callee the call's forwarding user for deposit.
// It runs in begin, before any phone rings.
func (vm *Service) Takes(c *call.Call) bool {
	rt := c.Rt
	if rt == nil || rt.CalleeID == 0 || rt.GroupID != 0 || vm.Core.RecordingsDir == "" {
		return false
	}
	cred, err := vm.Core.Auth.Credential(rt.To)
	if err != nil || cred == nil || cred.UserID != rt.CalleeID {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.Core.StoreTimeout)
	mb, err := vm.Core.Store.Mailbox(ctx, cred.UserID, 0)
	cancel()
	if err != nil || !mb.Enabled {
		return false
	}
	rt.ForwardUser, rt.Targets = cred, nil
	return true
}

// Script plays the greeting and the beep, then records until ctx ends or
// the message is full (which it posts to the call).
func (d *vmDeposit) Script(ctx context.Context, greeting *media.Clip) {
	defer close(d.done)
	select {
	case <-d.Ready:
	case <-ctx.Done():
		return
	}
	for _, clip := range []*media.Clip{greeting, vmBeep} {
		p := d.ep.Play(clip, false)
		select {
		case <-p.Done():
		case <-ctx.Done():
			p.Stop()
			return
		}
	}
	d.ep.SetSink(d.rec)
	// Silence while recording: the relay's media timeout watches this
	// leg too, and a phone's jitter buffer likes a steady stream.
	d.ep.Play(media.Silence(1000), true)
	select {
	case <-d.rec.Full():
		d.c.Post(vmFull{d: d})
	case <-ctx.Done():
	}
}

// EndFarEnd stops the voicemail leg as the call ends (in place of a BYE
// to leg B) and stores the message; a message with no audio (the caller
// hung up during the greeting) is dropped. The room stays open: leg B
// is still the mailbox's.
func (d *vmDeposit) EndFarEnd() {
	c := d.c
	if d.ended {
		return
	}
	d.ended = true
	d.Cancel()
	d.ep.Close()
	<-d.done
	err := d.rec.Close()
	d.row.Duration = d.rec.Duration()
	if err != nil {
		c.Log.Error("voicemail cut short", "path", d.row.Path, "err", err)
	}
	if d.row.Duration == 0 {
		c.Log.Info("voicemail: caller left no message")
		os.Remove(d.row.Path)
		return
	}
	_, sum, err := record.HashFile(d.row.Path)
	if err != nil {
		c.Log.Error("voicemail not readable", "path", d.row.Path, "err", err)
		return
	}
	d.row.SHA256 = sum
	row, b, log := d.row, d.vm.Core, c.Log
	email := d.email
	c.WG.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), b.StoreTimeout)
		defer cancel()
		if err := b.Store.CreateVoicemail(ctx, &row); err != nil {
			log.Error("voicemail row not written; file kept", "path", row.Path, "err", err)
			return
		}
		log.Info("voicemail left", "voicemail_id", row.ID, "user_id", row.UserID, "duration", row.Duration)
		d.vm.left(row, email)
	})
}

// left runs once a message's row is stored: the owner's phones learn of
// it (a group's: its members' phones watching it), and a copy goes by
// e-mail when the mailbox asks for one.
func (vm *Service) left(v directory.Voicemail, email bool) {
	vm.MailboxChanged(v.UserID, v.GroupID)
	if email {
		vm.mail(v)
	}
	if vm.OnLeft != nil {
		vm.OnLeft(v)
	}
}
