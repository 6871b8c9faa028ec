package queue

import (
	"context"
	"fmt"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/media"
	"github.com/switchboard-pbx/switchboard/sip/call"
	"github.com/switchboard-pbx/switchboard/sip/dial"
	"github.com/switchboard-pbx/switchboard/sip/route"
)

// A queue's overflow (queuecall.go): the engine gives up on a caller (the
// queue's wait or length limit, nobody logged in) and the caller leaves
// for the queue's overflow number through the dial plan, whose phones
// ring into leg B, which nobody is on; another queue enqueues them there.

// maxQueueHops is how many times a caller may overflow from one queue to
// another before the PBX gives up (two queues overflowing to each other
// while nobody is logged in would pass the caller back and forth).
const maxQueueHops = 4

// onOverflow sends the caller to the queue's overflow number.
func (qc *queueCall) onOverflow(target, reason string) {
	c := qc.c
	if c.State != call.StAnswered {
		return
	}
	qc.waiting = false
	now := time.Now().UTC()
	c.CDR.QueueWait = now.Sub(qc.joined)
	why := fmt.Sprintf("queue %s: overflow (%s)", qc.q.Number, reason)
	if target == "" {
		c.Log.Info("queue gives up; no overflow", "queue", qc.q.Number, "reason", reason)
		c.CDR.Disposition = directory.Unavailable
		c.Hangup("system", why)
		return
	}
	rt := &route.Route{Dir: c.Rt.Dir, Dialed: target, CallerID: c.Rt.CallerID, From: c.Rt.From, FromUser: c.Rt.FromUser,
		FromName: c.Rt.FromName}
	ctx, cancel := context.WithTimeout(context.Background(), c.Core.StoreTimeout)
	ref := c.Core.RouteExtension(ctx, rt, target, "")
	cancel()
	c.CDR.Reason = qc.via + why + " to " + target
	c.Log.Info("queue overflow", "queue", qc.q.Number, "reason", reason, "to", target)
	next, toQueue := rt.Answer.(Answer)
	if ref == nil && toQueue && qc.hops >= maxQueueHops {
		ref = &route.Refusal{Code: 482, Reason: "Loop Detected", Disp: directory.Failed, Why: "overflow loop between queues"}
	}
	if ref == nil && toQueue { // another queue: wait there
		qc.hops++
		qc.q, qc.key = *next.Queue, Key(next.Queue.ID)
		c.CDR.Queue = qc.q.Number
		qc.join()
		return
	}
	if ref != nil {
		c.CDR.Disposition = ref.Disp
		c.Hangup("system", why+" to "+target+": "+ref.Why)
		return
	}
	d := qc.emptyLegDialer(func(d *dial.Dialer, f *dial.Fork, res *sip.Response) {
		if queueOf(c) != qc || qc.over != d || c.State != call.StAnswered {
			f.AckAndBye(res)
			return
		}
		qc.over = nil
		if !qc.fill(d, f, res, qc.via+why+" to "+target+", answered by "+f.Target.Ext) {
			c.Hangup("system", why+": bad sdp")
		}
	}, func(d *dial.Dialer) {
		if queueOf(c) == qc && qc.over == d {
			c.Hangup("system", why+" to "+target+": not answered")
		}
	})
	qc.over = d
	if !qc.ringEmptyLeg(d, rt) {
		c.Hangup("system", why+" to "+target+": nobody to ring")
		return
	}
	c.WG.Go(func() {
		t := time.NewTimer(c.Core.Config.RingTime)
		defer t.Stop()
		select {
		case <-t.C:
			c.Post(queueOverTimeout{d: d})
		case <-qc.ctx.Done():
		}
	})
}

// emptyLegDialer is a dialer that rings phones into leg B, which nobody
// is on: answered is told of the first 2xx, failed once every fork failed.
func (qc *queueCall) emptyLegDialer(answered func(*dial.Dialer, *dial.Fork, *sip.Response), failed func(*dial.Dialer)) *dial.Dialer {
	c := qc.c
	d := &dial.Dialer{Env: c.Env, OnFork: func(f *dial.Fork) { c.XForks = append(c.XForks, f) },
		Source: c.AReq.Body(), Origin: &c.Legs[1].Origin, Leg: media.LegB, SendRecv: true}
	d.OnResponse = func(f *dial.Fork, tx sip.ClientTransaction, res *sip.Response) {
		if !f.Settle(tx, res) {
			return
		}
		switch {
		case res.IsSuccess():
			answered(d, f, res)
		case d.AllFailed():
			failed(d)
		}
	}
	d.OnFailed = func(*dial.Fork) {
		if d.AllFailed() {
			failed(d)
		}
	}
	return d
}

// ringEmptyLeg rings rt's targets that are not at their call limit with
// d, and reports whether any rings.
func (qc *queueCall) ringEmptyLeg(d *dial.Dialer, rt *route.Route) bool {
	c := qc.c
	targets, _ := dial.Pick(rt, c.Core.Busy)
	if len(targets) == 0 {
		return false
	}
	if err := d.Address(targets[0].Dest); err != nil {
		c.Log.Info("queue: no sdp for the phones", "err", err)
		return false
	}
	d.DialAll(rt, targets)
	return !d.AllFailed()
}
