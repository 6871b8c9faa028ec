package dial

import (
	"bytes"
	"context"
	"sync"

	"github.com/emiago/sipgo/sip"
	"github.com/switchboard-pbx/switchboard/sip/leg"
	"github.com/switchboard-pbx/switchboard/sip/sdpneg"
	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// What follows a fork's final response: the dialog its 2xx set up, the
// ACK (and its retransmissions), and the CANCEL of a fork still ringing.

// ForkDialog is the dialog a fork's 2xx res set up.
func ForkDialog(f *Fork, res *sip.Response) leg.Dialog {
	d := leg.Dialog{CallID: f.Req.CallID().Value(), LocalURI: f.Req.From().Address, LocalTag: wire.Tag(f.Req.From().Params),
		RemoteURI: res.To().Address, RemoteTag: wire.Tag(res.To().Params), Target: f.Req.Recipient,
		Dest: f.Target.Dest, Transport: f.Target.Transport, Contact: *f.Req.Contact(), CSeq: f.Req.CSeq().SeqNo}
	if ct := res.Contact(); ct != nil {
		d.Target = ct.Address
	}
	return d
}

// Ack sends ack, the ACK of f's 2xx, and sends it again on each
// retransmission of the 2xx that f's transaction catches (RFC 6026 §7.2:
// until Timer M, 64·T1 after the 2xx). What it keeps for them goes with
// the transaction, so that a long call keeps no ACK; it is the ACK on the
// wire, a third of the message sipgo would clone, parsed again only when
// a 2xx comes again (an ACK was lost).
func (f *Fork) Ack(ack *sip.Request) error {
	client := f.Dialer.Env.Client
	if f.Tx != nil {
		wire, tr, dest := ackWire(ack), ack.Transport(), ack.Destination()
		f.Tx.OnRetransmission(func(r *sip.Response) {
			if !r.IsSuccess() {
				return
			}
			if msg, err := sip.ParseMessage(wire); err == nil {
				if again, ok := msg.(*sip.Request); ok {
					again.SetTransport(tr)
					again.SetDestination(dest)
					_ = client.WriteRequest(again)
				}
			}
		})
	}
	return client.WriteRequest(ack)
}

// ackBufs are the buffers ackWire writes ACKs in.
var ackBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// ackWire is ack as it goes on the wire, in a slice of its own size:
// written to a pooled buffer, not grown in a strings.Builder and copied.
func ackWire(ack *sip.Request) []byte {
	buf := ackBufs.Get().(*bytes.Buffer)
	buf.Reset()
	ack.StringWrite(buf)
	b := bytes.Clone(buf.Bytes())
	ackBufs.Put(buf)
	return b
}

// AckAndBye ends a fork that answered too late: another fork won, or its
// user gave up. A 2xx to an INVITE without an offer carries one, and the
// ACK must answer it: with every stream refused (port 0).
func (f *Fork) AckAndBye(res *sip.Response) {
	env := f.Dialer.Env
	d := ForkDialog(f, res)
	ack := d.Request(sip.ACK)
	if len(f.Req.Body()) == 0 {
		if sd, _, err := sdpneg.Parse(res.Body()); err == nil {
			if body, err := sdpneg.Rewrite(sd, &sdpneg.Origin{ID: f.Dialer.Origin.ID}, env.MediaIP(d.Dest), 0); err == nil {
				ack.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
				ack.SetBody(body)
			}
		}
	}
	_ = env.Client.WriteRequest(ack)
	bye := d.Request(sip.BYE)
	env.WG.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), leg.ByeTimeout)
		defer cancel()
		if _, err := env.SendAndWait(ctx, bye); err != nil {
			env.Log.Debug("bye not answered", "err", err)
		}
	})
}

// CancelInvite cancels a fork that has no final answer. A CANCEL may go
// only after a provisional response (RFC 3261 §9.1); until one comes the
// fork is marked, and cancelled when it does.
func (f *Fork) CancelInvite() {
	if f.Final != nil || f.Cancelled || f.Tx == nil {
		return
	}
	f.Cancelled = true
	if f.Provis {
		f.SendCancel()
	}
}

// SendCancel sends the CANCEL of a fork that had a provisional response.
func (f *Fork) SendCancel() {
	env := f.Dialer.Env
	req := sip.NewRequest(sip.CANCEL, f.Req.Recipient)
	req.AppendHeader(sip.HeaderClone(f.Req.Via()))
	req.AppendHeader(sip.HeaderClone(f.Req.From()))
	req.AppendHeader(sip.HeaderClone(f.Req.To()))
	req.AppendHeader(sip.HeaderClone(f.Req.CallID()))
	req.AppendHeader(&sip.CSeqHeader{SeqNo: f.Req.CSeq().SeqNo, MethodName: sip.CANCEL})
	mf := sip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
	req.SetTransport(f.Req.Transport())
	req.SetDestination(f.Req.Destination())
	env.WG.Go(func() {
		ctx, cancel := context.WithTimeout(context.Background(), leg.ByeTimeout)
		defer cancel()
		if _, err := env.SendAndWait(ctx, req); err != nil {
			env.Log.Debug("cancel not answered", "err", err)
		}
	})
}
