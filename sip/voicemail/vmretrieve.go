package voicemail

import (
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/media"
	"github.com/switchboard-pbx/switchboard/sip/call"
	"github.com/switchboard-pbx/switchboard/sip/dial"
	"github.com/switchboard-pbx/switchboard/sip/leg"
	"github.com/switchboard-pbx/switchboard/sip/sdpneg"
	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// Voicemail by phone: the voicemail feature code (*97) answers the
// extension's own mailbox. The PBX answers the INVITE itself with a media
// endpoint facing the phone (no relay, no far party), plays a prompt and
// collects the PIN as DTMF (RFC 4733 telephone events, or SIP INFO
// application/dtmf-relay) up to '#'; the right PIN plays the messages
// newest first, each after a beep ('#' skips to the next), marks them
// heard, offers the menu (vmpin.go: 8 changes the PIN) and hangs up.
// Three wrong PINs hang up. The code followed by a
// group's number (*97GROUP) answers the group's mailbox, with the group's
// PIN, for the members recordings.listen lets hear it (vmgroup.go).

const (
	vmPINTries    = 3
	vmDigitWait   = 10 * time.Second // the most between two digits
	vmMaxMessages = 50
)

var (
	vmPrompt  = media.Concat(media.Tone(440, 150, -12), media.Silence(100), media.Tone(440, 150, -12))
	vmWrong   = media.Tone(300, 600, -10)
	vmNoneMsg = media.Concat(media.Tone(600, 200, -12), media.Silence(100), media.Tone(400, 300, -12))
)

// vmSession is a phone's dialog with its mailbox.
type vmSession struct {
	b    *call.Core
	vm   *Service
	id   string // Call-ID
	dlg  leg.Dialog
	ep   *media.Endpoint
	res  *sip.Response
	user *call.Credential
	mbox mailboxOwner // whose mailbox: the user's or a group's
	pin  string       // the PIN hash
	told bool         // the lamps know of the messages heard
	log  *slog.Logger

	info   chan rune     // digits from SIP INFO
	ended  chan struct{} // the phone's BYE
	endOne sync.Once
	acked  chan struct{}
	ackOne sync.Once
}

// Retrieve answers an extension's INVITE to the voicemail code.
// group is the group number dialed after the code; "" for one's own.
func (vm *Service) Retrieve(req *sip.Request, tx sip.ServerTransaction, caller *call.Credential, group string) {
	b := vm.Core
	log := b.Log.With("call_id", req.CallID().Value(), "ext", caller.Ext, "feature", "voicemail")
	sd, offer, codec, refusal := sdpneg.G711Endpoint(req.Body())
	if refusal != "" {
		b.Responder.Respond(tx, req, 488, refusal)
		return
	}
	event := uint8(0)
	if md := sdpneg.Audio(sd); md != nil {
		for _, c := range sdpneg.CodecsOf(md) {
			if c.Name == "TELEPHONE-EVENT" && c.Rate == 8000 {
				event = c.PT
				break
			}
		}
	}
	owner, ok := vm.mailboxToHear(req, tx, caller, group)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.StoreTimeout)
	mb, err := b.Store.Mailbox(ctx, owner.userID, owner.groupID)
	cancel()
	switch {
	case err != nil:
		b.Responder.Respond(tx, req, 503, "Service Unavailable")
		return
	case !mb.Enabled || mb.PINHash == "":
		b.Responder.Respond(tx, req, 403, "Forbidden (No Voicemail PIN)")
		return
	}
	mip := b.Config.MediaIP
	if !mip.IsValid() {
		mip = netip.IPv4Unspecified()
	}
	ep, err := media.NewEndpoint(media.EndpointConfig{Pool: b.Pool, IP: mip, Codec: codec, EventType: event, Logger: log})
	if err != nil {
		log.Info("voicemail refused: no rtp ports", "err", err)
		b.Responder.Respond(tx, req, 503, "Service Unavailable")
		return
	}
	src := req.Source()
	ep.SetRemote(offer.RTP)
	ep.SetPeer(leg.PeerIP(src))
	vs := &vmSession{b: b, vm: vm, id: req.CallID().Value(), ep: ep, user: caller, mbox: owner, pin: mb.PINHash, log: log,
		info: make(chan rune, 16), ended: make(chan struct{}), acked: make(chan struct{})}
	vs.dlg = leg.Dialog{CallID: vs.id, LocalURI: req.To().Address, LocalTag: sip.GenerateTagN(16),
		RemoteURI: req.From().Address, RemoteTag: wire.Tag(req.From().Params),
		Target: req.Contact().Address, Dest: src, Transport: req.Transport(),
		Contact: b.ContactFor(src, req.Transport())}
	body := sdpneg.EndpointSDP(b.MediaIP(src), ep.Local().Port(), codec, event)
	tagged := req.Clone()
	tagged.To().Params.Add("tag", vs.dlg.LocalTag)
	vs.res = sip.NewResponseFromRequest(tagged, 200, "OK", body)
	vs.res.AppendHeader(sip.HeaderClone(&vs.dlg.Contact))
	vs.res.AppendHeader(sip.NewHeader("Allow", dial.Allowed))
	vs.res.AppendHeader(sip.NewHeader("Server", b.UserAgent))
	vs.res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	if _, loaded := vm.sessions.LoadOrStore(vs.id, vs); loaded {
		ep.Close()
		b.Responder.Respond(tx, req, 482, "Loop Detected")
		return
	}
	b.WG.Go(func() { vs.run(b.Ctx) })
	log.Info("voicemail retrieval answered")
	if err := tx.Respond(vs.res); err != nil {
		vs.end()
		return
	}
	vs.waitAck(tx)
}

// SessionOf returns the mailbox dialog a request belongs to.
func (vm *Service) SessionOf(req *sip.Request) *vmSession {
	if req.CallID() == nil {
		return nil
	}
	if vs, ok := vm.sessions.Load(req.CallID().Value()); ok {
		return vs.(*vmSession)
	}
	return nil
}

func (vs *vmSession) end()   { vs.endOne.Do(func() { close(vs.ended) }) }
func (vs *vmSession) OnAck() { vs.ackOne.Do(func() { close(vs.acked) }) }
func (vs *vmSession) isAcked() bool {
	select {
	case <-vs.acked:
		return true
	default:
		return false
	}
}

// waitAck retransmits our 200 over UDP until the ACK, and ends the
// session when none comes within 64·T1.
func (vs *vmSession) waitAck(tx sip.ServerTransaction) {
	if !call.ResendUntilAcked(vs.b.Ctx, tx, vs.res, sip.IsReliable(vs.dlg.Transport), vs.acked, vs.ended) {
		vs.log.Info("voicemail retrieval ended: no ack")
		vs.end()
	}
}

// InDialog answers the phone's BYE, INFO (DTMF) or re-INVITE.
func (vs *vmSession) InDialog(req *sip.Request, tx sip.ServerTransaction) {
	s := vs.b
	if wire.Tag(req.From().Params) != vs.dlg.RemoteTag || wire.Tag(req.To().Params) != vs.dlg.LocalTag || !call.SameIP(req.Source(), vs.dlg.Dest) {
		s.Counters.Drop("not the dialog's peer")
		s.Responder.Respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	switch req.Method {
	case sip.BYE:
		s.Responder.Respond(tx, req, 200, "OK")
		vs.end()
	case sip.INFO:
		d, ok := wire.DTMFRelay(req)
		if !ok {
			s.Responder.Respond(tx, req, 415, "Unsupported Media Type")
			return
		}
		s.Responder.Respond(tx, req, 200, "OK")
		select {
		case vs.info <- d:
		default:
		}
	case sip.INVITE:
		if _, m, err := sdpneg.Parse(req.Body()); err == nil {
			vs.ep.SetRemote(m.RTP)
		}
		res := sip.NewResponseFromRequest(req, 200, "OK", vs.res.Body())
		res.AppendHeader(sip.HeaderClone(&vs.dlg.Contact))
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		s.Responder.Send(tx, res)
	default:
		s.Responder.Respond(tx, req, 405, "Method Not Allowed")
	}
}

// run is the session: the PIN, the messages, the BYE.
func (vs *vmSession) run(ctx context.Context) {
	defer vs.vm.sessions.Delete(vs.id)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-vs.ended:
			cancel()
		case <-ctx.Done():
		}
	}()
	done := make(chan struct{})
	go func() { _ = vs.ep.Run(ctx); close(done) }()
	defer func() { vs.ep.Close(); <-done }()
	select {
	case <-vs.acked:
	case <-ctx.Done():
		return
	}
	heard := vs.script(ctx)
	if heard > 0 && !vs.told {
		vs.vm.MailboxChanged(vs.mbox.userID, vs.mbox.groupID)
	}
	select {
	case <-vs.ended:
		vs.log.Info("voicemail retrieval ended", "by", "phone", "heard", heard)
		return
	default:
	}
	if vs.isAcked() {
		bctx, bcancel := context.WithTimeout(context.Background(), leg.ByeTimeout)
		_, _ = vs.b.SendAndWait(bctx, vs.dlg.Request(sip.BYE))
		bcancel()
	}
	vs.log.Info("voicemail retrieval ended", "by", "pbx", "heard", heard)
}

// play plays clip and waits for its end; a '#' stops it when skip is
// set. It reports false when the session ended.
func (vs *vmSession) play(ctx context.Context, clip *media.Clip, skip bool) bool {
	p := vs.ep.Play(clip, false)
	defer p.Stop()
	var digits, info <-chan rune // without skip, digits wait: the PIN may be typed ahead
	if skip {
		digits, info = vs.ep.Digits(), vs.info
	}
	for {
		select {
		case <-p.Done():
			return true
		case <-ctx.Done():
			return false
		case d := <-digits:
			if d == '#' {
				return true
			}
		case d := <-info:
			if d == '#' {
				return true
			}
		}
	}
}

// readPIN collects digits up to '#'; ok is false when the session ended
// or no digit came in time.
func (vs *vmSession) readPIN(ctx context.Context) (string, bool) {
	var b strings.Builder
	t := time.NewTimer(vmDigitWait)
	defer t.Stop()
	for {
		var d rune
		select {
		case d = <-vs.ep.Digits():
		case d = <-vs.info:
		case <-t.C:
			return "", false
		case <-ctx.Done():
			return "", false
		}
		if d == '#' {
			return b.String(), true
		}
		if b.Len() < 16 {
			b.WriteRune(d)
		}
		t.Reset(vmDigitWait)
	}
}

// script asks for the PIN and plays the messages; it returns how many
// were marked heard.
func (vs *vmSession) script(ctx context.Context) int {
	ok := false
	for try := 0; try < vmPINTries && !ok; try++ {
		if !vs.play(ctx, vmPrompt, false) {
			return 0
		}
		pin, got := vs.readPIN(ctx)
		if !got {
			return 0
		}
		if ok = directory.CheckPIN(vs.pin, pin); !ok {
			vs.log.Info("voicemail: wrong pin", "try", try+1)
			if !vs.play(ctx, vmWrong, false) {
				return 0
			}
		}
	}
	if !ok {
		vs.b.Audit(context.Background(), vs.user, "voicemail.pin_failed", vs.mbox.object(), "three wrong PINs by phone")
		return 0
	}
	sctx, cancel := context.WithTimeout(ctx, vs.b.StoreTimeout)
	msgs, err := vs.b.Store.Voicemails(sctx, directory.VoicemailFilter{UserID: vs.mbox.userID, GroupID: vs.mbox.groupID,
		Vis: directory.Visibility{All: true}, Page: directory.Page{Size: vmMaxMessages}})
	cancel()
	if err != nil {
		vs.log.Warn("voicemail: messages unknown", "err", err)
		return 0
	}
	if len(msgs) == 0 {
		if vs.play(ctx, vmNoneMsg, false) {
			vs.menu(ctx)
		}
		return 0
	}
	heard := 0
	for _, m := range msgs {
		clip, err := media.LoadWAV(m.Path)
		if err != nil {
			vs.log.Warn("voicemail message not played", "voicemail_id", m.ID, "err", err)
			continue
		}
		if !vs.play(ctx, vmBeep, false) || !vs.play(ctx, clip, true) {
			return heard
		}
		if !m.Heard {
			sctx, cancel := context.WithTimeout(context.Background(), vs.b.StoreTimeout)
			if err := vs.b.Store.SetVoicemailHeard(sctx, m.ID, true); err != nil {
				vs.log.Warn("voicemail not marked heard", "voicemail_id", m.ID, "err", err)
			} else {
				heard++
			}
			cancel()
		}
	}
	if heard > 0 { // the lamps learn of it before the menu
		vs.vm.MailboxChanged(vs.mbox.userID, vs.mbox.groupID)
		vs.told = true
	}
	vs.menu(ctx)
	return heard
}
