package paging

import (
	"context"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/call"
	"github.com/switchboard-pbx/switchboard/sip/dial"
	"github.com/switchboard-pbx/switchboard/sip/leg"
	"github.com/switchboard-pbx/switchboard/sip/sdpneg"
	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// A page's dialogs: our 200 to the talker and its ACK, the requests the
// talker and the listeners send inside their dialogs, and our BYEs.

// answerTalker sends our 200 to the talker: we only receive.
func (ps *pageSession) answerTalker() {
	req := ps.req
	src := req.Source()
	ps.dlg = ps.b.UASDialog(req)
	ps.sdp = sdpneg.G711SDP(ps.b.MediaIP(src), ps.fan.Local().Port(), ps.codec, "recvonly")
	res := sip.NewResponseFromRequest(req, 200, "OK", ps.sdp)
	res.AppendHeader(sip.HeaderClone(&ps.dlg.Contact))
	res.AppendHeader(sip.NewHeader("Allow", dial.Allowed))
	res.AppendHeader(sip.NewHeader("Server", ps.b.UserAgent))
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	ps.answered, ps.finished = true, true
	ps.cdr.AnsweredAt = time.Now().UTC()
	ps.cdr.Disposition = directory.Answered
	ps.fan.Arm()
	if err := ps.tx.Respond(res); err != nil {
		ps.log.Info("200 to talker not sent", "err", err)
		ps.final <- nil
		ps.end("system", "; talker unreachable")
		return
	}
	ps.final <- res
	ps.log.Info("page answered")
}

// hangUpMember sends BYE to m's phone and takes their listener leg off.
func (ps *pageSession) hangUpMember(m *pageMember) {
	m.left = true
	if m.l != nil {
		ps.fan.Remove(m.l)
		m.l = nil
	}
	bye := m.dlg.Request(sip.BYE)
	ps.wg.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), leg.ByeTimeout)
		defer cancel()
		if _, err := ps.b.SendAndWait(ctx, bye); err != nil {
			ps.log.Debug("bye not answered", "ext", m.cred.Ext, "err", err)
		}
	})
}

// onRequest answers a BYE or re-INVITE of the talker or of a listener.
func (ps *pageSession) onRequest(ev *call.ReqEvent) {
	req, tx := ev.Req, ev.Tx
	cid := req.CallID().Value()
	if cid == ps.id && ps.answered && ps.peerOf(&ps.dlg, req) {
		switch req.Method {
		case sip.BYE:
			ps.b.Responder.Respond(tx, req, 200, "OK")
			ps.end("caller", "")
		case sip.INVITE:
			if _, m, err := sdpneg.Parse(req.Body()); err == nil {
				ps.fan.SetRemote(m.RTP, m.RTCP)
			}
			ps.answerSDP(tx, req, ps.sdp, &ps.dlg)
		default:
			ps.b.Responder.Respond(tx, req, 405, "Method Not Allowed")
		}
		return
	}
	for _, m := range ps.members {
		if !m.joined || m.left || m.dlg.CallID != cid || !ps.peerOf(&m.dlg, req) {
			continue
		}
		switch req.Method {
		case sip.BYE:
			ps.b.Responder.Respond(tx, req, 200, "OK")
			m.left = true
			ps.fan.Remove(m.l)
			m.l = nil
			ps.log.Info("page member left", "ext", m.cred.Ext)
			ps.checkListeners()
		case sip.INVITE:
			if _, md, err := sdpneg.Parse(req.Body()); err == nil {
				m.l.SetRemote(md.RTP, md.RTCP)
			}
			ps.answerSDP(tx, req, m.offer, &m.dlg)
		default:
			ps.b.Responder.Respond(tx, req, 405, "Method Not Allowed")
		}
		return
	}
	ps.b.Counters.Drop("not the dialog's peer")
	ps.b.Responder.Respond(tx, req, 481, "Call/Transaction Does Not Exist")
}

// peerOf reports whether req comes from d's peer: its tags, and the IP the
// dialog's requests go to.
func (ps *pageSession) peerOf(d *leg.Dialog, req *sip.Request) bool {
	return wire.Tag(req.From().Params) == d.RemoteTag && wire.Tag(req.To().Params) == d.LocalTag && call.SameIP(req.Source(), d.Dest)
}

// answerSDP answers a re-INVITE with our SDP of that dialog again.
func (ps *pageSession) answerSDP(tx sip.ServerTransaction, req *sip.Request, body []byte, d *leg.Dialog) {
	res := sip.NewResponseFromRequest(req, 200, "OK", body)
	res.AppendHeader(sip.HeaderClone(&d.Contact))
	res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	ps.b.Responder.Send(tx, res)
}

// waitAck retransmits our 200 to the talker over UDP (T1 doubling to T2)
// until the ACK comes; with none within 64·T1 the page ends.
func (ps *pageSession) waitAck(tx sip.ServerTransaction, res *sip.Response) {
	if !call.ResendUntilAcked(ps.b.Ctx, tx, res, sip.IsReliable(ps.req.Transport()), ps.acked, nil) {
		ps.Post(pageNoAck{})
	}
}

// OnAck takes the talker's ACK of our 200.
func (ps *pageSession) OnAck(req *sip.Request) {
	if req.CallID().Value() == ps.id {
		ps.ackOnce.Do(func() { close(ps.acked) })
	}
}

// InDialog passes a request inside one of the page's dialogs to the page
// and waits until it is answered.
func (ps *pageSession) InDialog(req *sip.Request, tx sip.ServerTransaction) {
	done := make(chan struct{})
	if !ps.Post(&call.ReqEvent{Req: req, Tx: tx, Done: done}) {
		ps.b.Responder.Respond(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	<-done
}

// Session returns the page a request belongs to, or nil.
func (pg *Pager) Session(req *sip.Request) *pageSession {
	if req.CallID() == nil {
		return nil
	}
	if v, ok := pg.pages.Load(req.CallID().Value()); ok {
		return v.(*pageSession)
	}
	return nil
}
