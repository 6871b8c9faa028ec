package queue

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/switchboard-pbx/switchboard/acd"
	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/media"
	"github.com/switchboard-pbx/switchboard/sip/call"
)

// Call queues. The decisions are package acd's: one Engine
// for the server, driven as acd/doc.go says. This file is the driver: it
// keeps the engine's queues and agents in step with the directory, runs
// the one goroutine that acts on the engine's deadlines, and turns the
// engine's events into events of the calls they concern (queuecall.go
// acts on those: answer, ring an agent, join, overflow).
//
// IDs in the engine: a queue is its directory ID, an agent their user ID,
// a caller the Call-ID of their leg A.
//
// Agents' login state lives in the engine and in the store (queue_agents,
// written on every login, logout, pause and unpause): after a restart the
// agents logged in before are logged in again, paused as they were. Busy
// (an agent whose phone cannot ring: do not disturb, at the call limit, not
// registered) is the engine's alone, and ends when the runtime sees the
// phone free again (pollBusy, every queueBusyPoll).

// queueBusyPoll is how often agents marked busy are looked at again.
const queueBusyPoll = 2 * time.Second

// queueRuntime owns the engine.
type Runtime struct {
	b      *call.Core
	Engine *acd.Engine
	wake   chan struct{}

	mu     sync.Mutex
	loaded bool
	queues map[string]directory.Queue // by engine ID
	calls  map[string]*queueEntry     // waiting callers, by Call-ID
	busy   map[string]bool            // agents the runtime marked busy
	clips  map[string]*media.Clip     // queues' music, by path

	Prompts promptSet // spoken positions (queueprompts.go)
	// MOH is the music on hold of a queue without music of its own (the
	// park's), nil when none.
	MOH func() *media.Clip
}

// queueEntry is a caller waiting in a queue.
type queueEntry struct {
	c      *call.Call
	queue  string
	from   string
	joined time.Time
}

func NewRuntime(b *call.Core) *Runtime {
	return &Runtime{b: b, Engine: acd.New(nil), wake: make(chan struct{}, 1),
		queues: map[string]directory.Queue{}, calls: map[string]*queueEntry{}, busy: map[string]bool{},
		clips: map[string]*media.Clip{}}
}

func Key(id int64) string      { return strconv.FormatInt(id, 10) }
func AgentKey(id int64) string { return strconv.FormatInt(id, 10) }
func agentUser(a string) int64 { id, _ := strconv.ParseInt(a, 10, 64); return id }

// engineQueue is what the engine knows of q.
func engineQueue(q directory.Queue) acd.Queue {
	st, err := acd.ParseStrategy(q.Strategy)
	if err != nil {
		st = acd.RingAll
	}
	members := make([]string, 0, len(q.Members))
	for _, id := range q.Members {
		members = append(members, AgentKey(id))
	}
	sec := func(n int) time.Duration { return time.Duration(max(n, 0)) * time.Second }
	return acd.Queue{ID: Key(q.ID), Strategy: st, Members: members, MaxWait: sec(q.MaxWaitSeconds),
		MaxCallers: max(q.MaxCallers, 0), Overflow: q.Overflow, LeaveWhenEmpty: true, WrapUp: sec(q.WrapUpSeconds),
		RingTimeout: sec(q.RingSeconds), ServiceLevel: sec(q.ServiceLevelSeconds)}
}

// Run acts on the engine's deadlines until ctx ends.
func (r *Runtime) Run(ctx context.Context) {
	t := time.NewTimer(queueBusyPoll)
	defer t.Stop()
	for {
		wait := queueBusyPoll
		if at, ok := r.Engine.NextDeadline(); ok {
			wait = min(wait, max(time.Until(at), time.Millisecond))
		}
		t.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-r.wake:
		case <-t.C:
			r.act(r.Engine.Tick())
			r.pollBusy()
		}
		if !t.Stop() {
			select {
			case <-t.C:
			default:
			}
		}
	}
}

// poke has run look at the deadlines again.
func (r *Runtime) poke() {
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// ensure loads the queues and the agents logged in from the store, once.
func (r *Runtime) ensure(ctx context.Context) error {
	r.mu.Lock()
	done := r.loaded
	r.mu.Unlock()
	if done {
		return nil
	}
	if err := r.syncAll(ctx); err != nil {
		return err
	}
	agents, err := r.b.Store.QueueAgents(ctx)
	if err != nil {
		return fmt.Errorf("queue agents: %w", err)
	}
	r.mu.Lock()
	if r.loaded {
		r.mu.Unlock()
		return nil
	}
	r.loaded = true
	r.mu.Unlock()
	for _, a := range agents {
		id := AgentKey(a.UserID)
		r.act(r.Engine.Login(id))
		if a.Paused {
			evs, _ := r.Engine.Pause(id, a.Reason)
			r.act(evs)
		}
	}
	return nil
}

// syncAll gives the engine every queue of the store.
func (r *Runtime) syncAll(ctx context.Context) error {
	list, err := r.b.Store.Queues(ctx)
	if err != nil {
		return fmt.Errorf("queues: %w", err)
	}
	keep := map[string]bool{}
	for _, q := range list {
		keep[Key(q.ID)] = true
		r.sync(q)
	}
	r.mu.Lock()
	var gone []string
	for key := range r.queues {
		if !keep[key] {
			gone = append(gone, key)
			delete(r.queues, key)
		}
	}
	r.mu.Unlock()
	for _, key := range gone { // deleted: no agent takes its calls any more
		evs, err := r.Engine.SetQueue(acd.Queue{ID: key, LeaveWhenEmpty: true})
		if err == nil {
			r.act(evs)
		}
	}
	return nil
}

// sync gives the engine q as the store has it now.
func (r *Runtime) sync(q directory.Queue) {
	evs, err := r.Engine.SetQueue(engineQueue(q))
	if err != nil {
		r.b.Log.Warn("queue not usable", "queue", q.Number, "err", err)
		return
	}
	r.mu.Lock()
	r.queues[Key(q.ID)] = q
	r.mu.Unlock()
	r.act(evs)
}

// music is the clip a queue's callers hear: its own WAV, else the park
// music on hold, else a soft tone every few seconds (never silence, so
// that a caller knows the line is alive).
func (r *Runtime) music(q directory.Queue) *media.Clip {
	if q.Music != "" {
		r.mu.Lock()
		clip := r.clips[q.Music]
		r.mu.Unlock()
		if clip != nil {
			return clip
		}
		clip, err := media.LoadWAV(q.Music)
		if err == nil {
			r.mu.Lock()
			r.clips[q.Music] = clip
			r.mu.Unlock()
			return clip
		}
		r.b.Log.Warn("queue music not played", "queue", q.Number, "path", q.Music, "err", err)
	}
	if clip := r.MOH(); clip != nil {
		return clip
	}
	return queueComfort
}

// queueComfort is the music of a queue without any: a soft two-tone every
// three seconds.
var queueComfort = media.Concat(media.Tone(523, 300, -24), media.Tone(659, 300, -24), media.Silence(2400))

// staffed reports whether a member of the queue is logged in.
func (r *Runtime) staffed(queue string) bool {
	for _, a := range r.Engine.Agents() {
		if a.State != "logged_out" && slices.Contains(a.Queues, queue) {
			return true
		}
	}
	return false
}

// enqueue puts the call in its queue; the events follow.
func (r *Runtime) enqueue(c *call.Call, queue, from string, joined time.Time) error {
	r.mu.Lock()
	r.calls[c.ID] = &queueEntry{c: c, queue: queue, from: from, joined: joined}
	r.mu.Unlock()
	evs, err := r.Engine.Enqueue(queue, c.ID)
	if err != nil {
		r.mu.Lock()
		delete(r.calls, c.ID)
		r.mu.Unlock()
		return err
	}
	r.act(evs)
	return nil
}

// leave forgets a caller who is no longer waiting.
func (r *Runtime) leave(callID string) {
	r.mu.Lock()
	delete(r.calls, callID)
	r.mu.Unlock()
}

// abandon: the caller hung up while waiting.
func (r *Runtime) abandon(callID string) {
	r.leave(callID)
	evs, err := r.Engine.Abandon(callID)
	if err == nil {
		r.act(evs)
	}
}

// missed: the offer to agent of callID rang out, was declined or failed.
func (r *Runtime) missed(agent, callID string) {
	evs, err := r.Engine.AgentMissed(agent, callID)
	if err == nil {
		r.act(evs)
	}
}

// markBusy takes an agent whose phone cannot ring out of the rotation
// until pollBusy finds it free.
func (r *Runtime) markBusy(agent string) {
	r.mu.Lock()
	r.busy[agent] = true
	r.mu.Unlock()
	evs, err := r.Engine.AgentBusy(agent)
	if err == nil {
		r.act(evs)
	}
}

// callEnded starts the agent's wrap-up.
func (r *Runtime) callEnded(agent string) {
	evs, err := r.Engine.CallEnded(agent)
	if err == nil {
		r.act(evs)
	}
}

// ringable reports whether an agent's phone may be rung now: a user not
// in do not disturb, on no call, with a phone registered.
func (r *Runtime) ringable(agent string) (*call.Credential, bool) {
	cred, ok := r.b.Creds.ByID(agentUser(agent))
	if !ok || cred.Forward.DND || r.b.InCall(cred.Ext) || len(r.b.UserTargets(cred)) == 0 {
		return cred, false
	}
	return cred, true
}

// pollBusy frees the agents marked busy whose phones may ring again.
func (r *Runtime) pollBusy() {
	r.mu.Lock()
	agents := make([]string, 0, len(r.busy))
	for a := range r.busy {
		agents = append(agents, a)
	}
	r.mu.Unlock()
	slices.Sort(agents)
	for _, a := range agents {
		if _, ok := r.ringable(a); !ok {
			continue
		}
		r.mu.Lock()
		delete(r.busy, a)
		r.mu.Unlock()
		evs, err := r.Engine.AgentFree(a)
		if err == nil {
			r.act(evs)
		}
	}
}

// act turns the engine's events into events of the calls they concern,
// in order.
func (r *Runtime) act(evs []acd.Event) {
	for _, ev := range evs {
		switch ev.Kind {
		case acd.EventAgentState:
			r.b.Log.Debug("queue agent", "agent", ev.Agent, "state", ev.State, "reason", ev.Reason)
			continue
		case acd.EventOverflow:
			r.mu.Lock()
			e := r.calls[ev.Caller]
			delete(r.calls, ev.Caller)
			r.mu.Unlock()
			if e != nil {
				e.c.Post(queueOverflowEvent{target: ev.Target, reason: ev.Reason})
			}
			continue
		}
		r.mu.Lock()
		e := r.calls[ev.Caller]
		r.mu.Unlock()
		var posted bool
		if e != nil {
			switch ev.Kind {
			case acd.EventOffer:
				posted = e.c.Post(queueOfferEvent{rtm: r, agent: ev.Agent})
			case acd.EventCancel:
				posted = e.c.Post(queueCancelEvent{agent: ev.Agent})
			case acd.EventPosition:
				posted = e.c.Post(queuePositionEvent{pos: ev.Position})
			}
		}
		if !posted && ev.Kind == acd.EventOffer { // the call is gone already
			r.abandon(ev.Caller)
		}
	}
	r.poke()
}

// Agent actions, by feature code (feature) or the API (QueueAgent).
const (
	QueueLogin   = "login"
	QueueLogout  = "logout"
	QueuePause   = "pause"
	QueueUnpause = "unpause"
)

// Errors of agent actions.
var (
	ErrNotQueueAgent = errors.New("not an agent of any queue")
	ErrNotLoggedIn   = errors.New("not logged in to the queues")
)

// SetAgent logs user in or out, or pauses or unpauses them, and keeps it in
// the store. It refuses a user who is a member of no queue.
func (r *Runtime) SetAgent(ctx context.Context, userID int64, action, reason string) error {
	if err := r.ensure(ctx); err != nil {
		return err
	}
	if err := r.syncAll(ctx); err != nil { // membership as it is now
		return err
	}
	member := false
	r.mu.Lock()
	for _, q := range r.queues {
		member = member || slices.Contains(q.Members, userID)
	}
	r.mu.Unlock()
	if !member && action != QueueLogout {
		return ErrNotQueueAgent
	}
	id := AgentKey(userID)
	var evs []acd.Event
	var err error
	var row *directory.QueueAgent
	switch action {
	case QueueLogin:
		evs, row = r.Engine.Login(id), &directory.QueueAgent{UserID: userID}
	case QueueLogout:
		if evs, err = r.Engine.Logout(id); errors.Is(err, acd.ErrUnknownAgent) {
			err = nil
		}
	case QueuePause:
		evs, err = r.Engine.Pause(id, reason)
		row = &directory.QueueAgent{UserID: userID, Paused: true, Reason: reason}
	case QueueUnpause:
		evs, err = r.Engine.Unpause(id)
		row = &directory.QueueAgent{UserID: userID}
	default:
		return fmt.Errorf("queue agent action %q", action)
	}
	if errors.Is(err, acd.ErrUnknownAgent) {
		return ErrNotLoggedIn
	}
	if err != nil {
		return err
	}
	r.act(evs)
	if err := r.b.Store.SetQueueAgent(ctx, userID, row); err != nil {
		r.b.Log.Warn("queue agent state not stored", "user_id", userID, "action", action, "err", err)
	}
	return nil
}
