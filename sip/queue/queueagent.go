package queue

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/acd"
	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/call"
)

// Agents of call queues: the feature codes (queue.login *60, queue.logout
// *61, queue.pause *62 with an optional reason code, queue.unpause *63)
// and what the web shows and does (QueueAgent, QueueBoard). An agent acts
// on themself by phone; the web decides who may act on whom (queues.manage).

// Feature answers an agent's feature code: 603 with what was done
// in the reason phrase, as the other feature codes.
func (r *Runtime) Feature(req *sip.Request, tx sip.ServerTransaction, caller *call.Credential, f directory.FeatureCode, arg string) {
	b := r.b
	action := map[directory.Feature]string{directory.FeatureQueueLogin: QueueLogin,
		directory.FeatureQueueLogout: QueueLogout, directory.FeatureQueuePause: QueuePause,
		directory.FeatureQueueUnpause: QueueUnpause}[f.Feature]
	ctx, cancel := context.WithTimeout(context.Background(), b.StoreTimeout)
	defer cancel()
	err := r.SetAgent(ctx, caller.UserID, action, arg)
	switch {
	case errors.Is(err, ErrNotQueueAgent):
		b.Responder.Respond(tx, req, 403, "Forbidden (Not A Queue Agent)")
		return
	case errors.Is(err, ErrNotLoggedIn):
		b.Responder.Respond(tx, req, 403, "Forbidden (Not Logged In To Queues)")
		return
	case err != nil:
		b.Log.Warn("queue feature not applied", "ext", caller.Ext, "feature", string(f.Feature), "err", err)
		res := b.Responder.Response(req, 503, "Service Unavailable")
		res.AppendHeader(sip.NewHeader("Retry-After", call.StoreRetryAfter))
		b.Responder.Send(tx, res)
		return
	}
	done := map[string]string{QueueLogin: "Logged In To Queues", QueueLogout: "Logged Out Of Queues",
		QueuePause: "Paused", QueueUnpause: "Unpaused"}[action]
	if action == QueuePause && arg != "" {
		done += " (Reason " + arg + ")"
	}
	b.Audit(ctx, caller, "queue.agent", fmt.Sprintf("user:%d", caller.UserID), "feature code "+f.Code+": "+action)
	b.Log.Info("feature code", "ext", caller.Ext, "feature", string(f.Feature), "reason", arg)
	b.Responder.Respond(tx, req, 603, "Decline ("+done+")")
}

// QueueStatus is a queue as a wallboard shows it now.
type QueueStatus struct {
	Queue   directory.Queue
	Stats   acd.Stats
	Waiting []QueueCaller
	Agents  []acd.AgentState // members, by user ID
}

// QueueCaller is a caller waiting in a queue.
type QueueCaller struct {
	CallID   string
	From     string
	Since    time.Time
	Position int
}

// Board is every queue's state now, by number (Server.QueueBoard).
func (r *Runtime) Board(ctx context.Context) ([]QueueStatus, error) {
	if err := r.ensure(ctx); err != nil {
		return nil, err
	}
	if err := r.syncAll(ctx); err != nil {
		return nil, err
	}
	agents := r.Engine.Agents()
	r.mu.Lock()
	var out []QueueStatus
	for key, q := range r.queues {
		st := QueueStatus{Queue: q}
		for id, e := range r.calls {
			if e.queue == key {
				st.Waiting = append(st.Waiting, QueueCaller{CallID: id, From: e.from, Since: e.joined})
			}
		}
		for _, a := range agents {
			if slices.Contains(a.Queues, key) {
				st.Agents = append(st.Agents, a)
			}
		}
		out = append(out, st)
	}
	r.mu.Unlock()
	for i := range out {
		out[i].Stats, _ = r.Engine.Stats(Key(out[i].Queue.ID))
		for j := range out[i].Waiting {
			if _, pos, err := r.Engine.Position(out[i].Waiting[j].CallID); err == nil {
				out[i].Waiting[j].Position = pos
			}
		}
		slices.SortFunc(out[i].Waiting, func(a, b QueueCaller) int { return a.Since.Compare(b.Since) })
	}
	slices.SortFunc(out, func(a, b QueueStatus) int { return cmpStr(a.Queue.Number, b.Queue.Number) })
	return out, nil
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
