package monitor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/media"
	"github.com/switchboard-pbx/switchboard/sip/call"
	"github.com/switchboard-pbx/switchboard/sip/dial"
	"github.com/switchboard-pbx/switchboard/sip/leg"
	"github.com/switchboard-pbx/switchboard/sip/sdpneg"
	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// monitorRequest tells whether a dialed number is a monitoring feature
// code of the default table (features.go: *31 listens, *32 whispers, *33
// barges in), and which extension it names.
func ParseRequest(dialed string) (media.MonitorMode, string, bool) {
	f, ext, ok := directory.MatchFeature(defaultCodes, wire.UnescapeUser(dialed))
	mode, mon := Modes[f.Feature]
	if !ok || !mon {
		return 0, "", false
	}
	return mode, ext, true
}

// defaultCodes is the default table of feature codes.
var defaultCodes = directory.DefaultFeatureCodes()

// monitorModes maps the monitoring features to their modes.
var Modes = map[directory.Feature]media.MonitorMode{
	directory.FeatureMonitorListen:  media.Listen,
	directory.FeatureMonitorWhisper: media.Whisper,
	directory.FeatureMonitorBarge:   media.Barge,
}

// Monitoring is the b2bua's monitoring service: it joins a supervisor to
// the relay of the call an extension is in, and keeps the supervisors'
// dialogs while they run.
type Monitoring struct {
	Core     *call.Core
	Sessions sync.Map // Call-ID → *monitorSession: supervisors' dialogs
}

// monitorSession is a supervisor's dialog with the PBX while they monitor
// a call. The PBX is the supervisor's UAS; the audio is a media.Monitor on
// the monitored call's relay.
type monitorSession struct {
	b    *call.Core
	mo   *Monitoring
	id   string // Call-ID of the supervisor's dialog
	dlg  leg.Dialog
	mon  *media.Monitor
	res  *sip.Response // our 200, retransmitted until the ACK (UDP)
	sdp  []byte
	log  *slog.Logger
	once sync.Once

	acked chan struct{}
	ended chan string // who ended it: "supervisor"
	// lamp is the supervisor's leg as busy lamps see it: answered while
	// the session runs, ended with it (run raises both).
	lamp call.LegEvent
	mu   sync.Mutex
	ack  bool
}

// MonitorCall answers a supervisor's INVITE to a feature code: it finds
// the call the extension is in, asks authz (calls.monitor) and joins the
// supervisor to its relay. It returns once the INVITE has its final
// response and, for a 200, its ACK; the session then runs on its own.
func (mo *Monitoring) MonitorCall(req *sip.Request, tx sip.ServerTransaction, sup *call.Credential, mode media.MonitorMode, ext string) {
	b := mo.Core
	log := b.Log.With("call_id", req.CallID().Value(), "supervisor", sup.Ext, "mode", mode.String(), "ext", ext)
	_, offer, codec, refusal := sdpneg.G711Endpoint(req.Body())
	if refusal != "" {
		b.Responder.Respond(tx, req, 488, refusal)
		return
	}
	c, agent, parties := mo.Monitored(ext)
	if c == nil {
		b.Responder.Respond(tx, req, 480, "Temporarily Unavailable (No Call To Monitor)")
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.StoreTimeout)
	defer cancel()
	acc, err := b.Store.Access(ctx, sup.UserID)
	if err != nil {
		b.Responder.Respond(tx, req, 503, "Service Unavailable")
		return
	}
	if err := authz.Can(authz.NewSubject(acc), authz.CallsMonitor, authz.Resource{Kind: authz.KindCall, UserIDs: parties}); err != nil {
		reason := "monitoring refused"
		var de *authz.DeniedError
		if errors.As(err, &de) {
			reason = de.Reason
		}
		log.Info("monitoring refused", "reason", reason)
		b.Responder.Respond(tx, req, 403, "Forbidden ("+reason+")")
		return
	}
	mip := b.Config.MediaIP
	if !mip.IsValid() {
		mip = netip.IPv4Unspecified()
	}
	mon, err := c.Relay.AddMonitor(media.MonitorConfig{Mode: mode, Agent: agent, Codec: codec, IP: mip})
	switch {
	case errors.Is(err, media.ErrMonitored):
		b.Responder.Respond(tx, req, 486, "Busy Here (Already Monitored)")
		return
	case errors.Is(err, media.ErrClosed):
		b.Responder.Respond(tx, req, 480, "Temporarily Unavailable (No Call To Monitor)")
		return
	case err != nil:
		log.Info("monitoring refused: no rtp ports", "err", err)
		b.Responder.Respond(tx, req, 503, "Service Unavailable")
		return
	}
	mon.SetRemote(offer.RTP)
	mon.SetPeer(leg.PeerIP(req.Source()))

	src := req.Source()
	ms := &monitorSession{b: b, mo: mo, id: req.CallID().Value(), mon: mon, log: log,
		acked: make(chan struct{}), ended: make(chan string, 1),
		lamp: call.LegEvent{CallID: c.ID, LegID: req.CallID().Value(), Ext: sup.Ext, UserID: sup.UserID, Initiator: true,
			State: call.LegAnswered, Peer: ext}}
	ms.dlg = leg.Dialog{CallID: ms.id, LocalURI: req.To().Address, LocalTag: sip.GenerateTagN(16),
		RemoteURI: req.From().Address, RemoteTag: wire.Tag(req.From().Params),
		Target: req.Contact().Address, Dest: src, Transport: req.Transport(),
		Contact: b.ContactFor(src, req.Transport()), CSeq: 0}
	// One G.711 stream; in Listen mode we only send.
	dir := "sendrecv"
	if mode == media.Listen {
		dir = "sendonly"
	}
	ms.sdp = sdpneg.G711SDP(b.MediaIP(src), mon.Local().Port(), codec, dir)
	tagged := req.Clone()
	tagged.To().Params.Add("tag", ms.dlg.LocalTag)
	ms.res = sip.NewResponseFromRequest(tagged, 200, "OK", ms.sdp)
	ms.res.AppendHeader(sip.HeaderClone(&ms.dlg.Contact))
	ms.res.AppendHeader(sip.NewHeader("Allow", dial.Allowed))
	ms.res.AppendHeader(sip.NewHeader("Server", b.UserAgent))
	ms.res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	if _, loaded := mo.Sessions.LoadOrStore(ms.id, ms); loaded {
		mon.Close()
		b.Responder.Respond(tx, req, 482, "Loop Detected")
		return
	}
	b.WG.Go(func() { ms.run(b.Ctx) })

	mo.audit(sup, mode, ext, c)
	log.Info("call monitoring started")
	if err := tx.Respond(ms.res); err != nil {
		ms.end("")
		return
	}
	ms.waitAck(tx)
}

// Monitored finds the answered call ext takes part in: the leg that is
// the agent's, and the users of both sides (for authz).
func (mo *Monitoring) Monitored(ext string) (*call.Call, media.Leg, []int64) {
	b := mo.Core
	b.Mu.Lock()
	defer b.Mu.Unlock()
	for id, c := range b.Calls {
		if c.ID != id || c.Relay == nil {
			continue
		}
		legs := c.SharedParties.Load()
		if legs == nil {
			continue // not answered yet
		}
		parties := []int64{legs[0].UserID, legs[1].UserID}
		switch ext {
		case legs[0].Ext:
			return c, media.LegA, parties
		case legs[1].Ext:
			return c, media.LegB, parties
		}
	}
	return nil, 0, nil
}

// waitAck retransmits the 200 over UDP (T1 doubling to T2) until the ACK
// comes, and ends the session when none comes within 64·T1.
func (ms *monitorSession) waitAck(tx sip.ServerTransaction) {
	if !call.ResendUntilAcked(ms.b.Ctx, tx, ms.res, sip.IsReliable(ms.dlg.Transport), ms.acked, nil) {
		ms.log.Info("call monitoring ended: no ack")
		ms.end("")
	}
}

// run waits for the end: the supervisor's BYE, the monitored call's end
// (the monitor stops with its relay) or the PBX shutting down. The PBX
// says BYE unless the supervisor did.
func (ms *monitorSession) run(ctx context.Context) {
	ms.b.LegObservers.Emit(ms.lamp)
	defer func() {
		ms.lamp.State = call.LegEnded
		ms.b.LegObservers.Emit(ms.lamp)
	}()
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan struct{})
	go func() { _ = ms.mon.Run(runCtx); close(done) }()
	by := "pbx"
	select {
	case by = <-ms.ended:
	case <-done:
	case <-ctx.Done():
	}
	cancel()
	<-done
	// The session stays findable until the BYE is through, so that a
	// late ACK still reaches it.
	defer ms.mo.Sessions.Delete(ms.id)
	if by != "supervisor" {
		// A call can end between our 200 and the supervisor's ACK; the
		// BYE waits for that ACK (RFC 3261 §15), as long as the 200 may
		// be retransmitted.
		if ms.ackedWithin(ctx, 64*sip.T1) {
			bctx, bcancel := context.WithTimeout(context.Background(), leg.ByeTimeout)
			_, _ = ms.b.SendAndWait(bctx, ms.dlg.Request(sip.BYE))
			bcancel()
		}
	}
	st := ms.mon.Stats()
	ms.log.Info("call monitoring ended", "by", by, "sent", st.Sent, "received", st.Received)
}

// ackedWithin reports whether the supervisor's ACK has come or comes
// within d.
func (ms *monitorSession) ackedWithin(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ms.acked:
		return true
	case <-t.C:
	case <-ctx.Done():
	}
	ms.mu.Lock()
	defer ms.mu.Unlock()
	return ms.ack
}

func (ms *monitorSession) end(by string) {
	select {
	case ms.ended <- by:
	default:
	}
}

// OnAck takes the supervisor's ACK of our 200.
func (ms *monitorSession) OnAck() {
	ms.mu.Lock()
	first := !ms.ack
	ms.ack = true
	ms.mu.Unlock()
	if first {
		close(ms.acked)
	}
}

// InDialog answers the supervisor's BYE (the end) or re-INVITE (our SDP
// again, with their new address).
func (ms *monitorSession) InDialog(req *sip.Request, tx sip.ServerTransaction) {
	d := &ms.dlg
	if wire.Tag(req.From().Params) != d.RemoteTag || wire.Tag(req.To().Params) != d.LocalTag || !call.SameIP(req.Source(), d.Dest) {
		ms.log.Info("in-dialog request refused: not from the supervisor",
			"method", string(req.Method), "src", req.Source())
		ms.b.Counters.Drop("not the dialog's peer")
		ms.b.Responder.Respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	switch req.Method {
	case sip.BYE:
		ms.b.Responder.Respond(tx, req, 200, "OK")
		ms.end("supervisor")
	case sip.INVITE:
		if _, m, err := sdpneg.Parse(req.Body()); err == nil {
			ms.mon.SetRemote(m.RTP)
		}
		res := sip.NewResponseFromRequest(req, 200, "OK", ms.sdp)
		res.AppendHeader(sip.HeaderClone(&ms.dlg.Contact))
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		ms.b.Responder.Send(tx, res)
	default:
		ms.b.Responder.Respond(tx, req, 405, "Method Not Allowed")
	}
}

// Session returns the monitoring dialog a request belongs to.
func (mo *Monitoring) Session(req *sip.Request) *monitorSession {
	if req.CallID() == nil {
		return nil
	}
	if v, ok := mo.Sessions.Load(req.CallID().Value()); ok {
		return v.(*monitorSession)
	}
	return nil
}

// audit writes who joined which call, and how, to the audit log.
func (mo *Monitoring) audit(sup *call.Credential, mode media.MonitorMode, ext string, c *call.Call) {
	b := mo.Core
	e := &directory.AuditEntry{ActorID: sup.UserID, Actor: "sip:" + sup.Ext, Action: "call.monitor",
		Object: "extension:" + ext,
		Detail: fmt.Sprintf("%s: call %s from %s to %s", mode, c.ID, c.Rt.From, c.Rt.To)}
	ctx, cancel := context.WithTimeout(context.Background(), b.StoreTimeout)
	defer cancel()
	if err := b.Store.Audit(ctx, e); err != nil {
		b.Log.Warn("audit entry not written", "action", e.Action, "err", err)
	}
}
