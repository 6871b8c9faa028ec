package acd

import (
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Strategy chooses which available member of a queue is offered a caller.
type Strategy int

const (
	// RingAll offers the caller at the head of the queue to every
	// available member at once; the first to answer takes it.
	RingAll Strategy = iota
	// LongestIdle offers to the available member idle the longest (since
	// their last queue call ended, or they logged in).
	LongestIdle
	// RoundRobin offers to the next available member after the one last
	// offered, in the queue's member order.
	RoundRobin
	// FewestCalls offers to the available member who answered the fewest
	// queue calls since logging in; ties go to the longest idle.
	FewestCalls
)

var strategyNames = [...]string{"ring_all", "longest_idle", "round_robin", "fewest_calls"}

// String is the strategy's name as settings write it: ring_all,
// longest_idle, round_robin, fewest_calls.
func (s Strategy) String() string {
	if s < 0 || int(s) >= len(strategyNames) {
		return fmt.Sprintf("strategy(%d)", int(s))
	}
	return strategyNames[s]
}

// ParseStrategy reads a strategy's name.
func ParseStrategy(name string) (Strategy, error) {
	if i := slices.Index(strategyNames[:], name); i >= 0 {
		return Strategy(i), nil
	}
	return 0, fmt.Errorf("strategy %q: want ring_all, longest_idle, round_robin or fewest_calls", name)
}

// Queue describes one queue. Durations of 0 mean "none".
type Queue struct {
	ID       string
	Strategy Strategy
	// Members are the agents that take this queue's calls, in the order
	// RoundRobin follows.
	Members []string
	// MaxWait is how long a caller waits before overflowing to Overflow.
	MaxWait time.Duration
	// MaxCallers is how many may wait; the next one overflows at once.
	MaxCallers int
	// Overflow is where a caller goes when the queue gives up on them: a
	// route the caller of the engine understands (an extension, a
	// voicemail box). Empty: callers wait until they hang up, and a
	// full queue or one without agents refuses with an EventOverflow whose
	// Target is empty.
	Overflow string
	// LeaveWhenEmpty sends callers to Overflow while no member is logged
	// in (paused members count as logged in).
	LeaveWhenEmpty bool
	// WrapUp is the time after a call of this queue before its agent is
	// offered the next one.
	WrapUp time.Duration
	// RingTimeout ends an offer nobody answered, as AgentMissed does.
	RingTimeout time.Duration
	// ServiceLevel is the N of "answered within N seconds".
	ServiceLevel time.Duration
}

// Errors of the engine's inputs.
var (
	ErrUnknownQueue  = errors.New("unknown queue")
	ErrUnknownAgent  = errors.New("unknown agent")
	ErrUnknownCaller = errors.New("unknown caller")
	ErrNoOffer       = errors.New("no such offer")
	ErrCallerWaiting = errors.New("caller already queued")
	ErrBadQueue      = errors.New("invalid queue")
)

// Clock tells the engine the time.
type Clock interface{ Now() time.Time }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// Engine is the state of every queue, agent and waiting caller. Its zero
// value is not usable; call New.
type Engine struct {
	mu      sync.Mutex
	clock   Clock
	queues  map[string]*queue
	agents  map[string]*agent
	callers map[string]*caller
	ev      []Event // events of the method running, returned by it
}

// New returns an empty engine reading time from clock (nil: the system
// clock).
func New(clock Clock) *Engine {
	if clock == nil {
		clock = realClock{}
	}
	return &Engine{clock: clock, queues: map[string]*queue{}, agents: map[string]*agent{},
		callers: map[string]*caller{}}
}

// queue is a Queue and its waiting callers, oldest first.
type queue struct {
	Queue
	members []*agent
	waiting []*caller
	rr      int // index in members of the last one RoundRobin offered to; -1 none
	stats   Stats
}

// agent is one agent's state across their queues.
type agent struct {
	id        string
	queues    []*queue
	loggedIn  bool
	paused    bool
	reason    string
	activity  activity
	offer     *caller   // while offered
	call      *queue    // the queue of the call they are on or wrapping up
	until     time.Time // end of wrap-up, or of the ring timeout while offered
	idleSince time.Time
	answered  int // queue calls answered since logging in
}

type activity int

const (
	idle activity = iota
	offered
	onCall
	wrapUp
	busy // on a call that is not the queue's
)

var activityNames = [...]string{"idle", "offered", "on_call", "wrap_up", "busy"}

func (a *agent) available() bool { return a.loggedIn && !a.paused && a.activity == idle }

// caller is one waiting caller.
type caller struct {
	id       string
	q        *queue
	joined   time.Time
	position int
	offers   []*agent       // agents ringing for them
	tried    map[*agent]int // missed offers since the last full round
}

// SetQueue adds a queue or replaces one's settings and members. Agents
// named for the first time are created logged out. Members removed while
// ringing for a caller of this queue have their offer cancelled.
func (e *Engine) SetQueue(cfg Queue) ([]Event, error) {
	if cfg.ID == "" || cfg.Strategy < RingAll || cfg.Strategy > FewestCalls || cfg.MaxWait < 0 ||
		cfg.MaxCallers < 0 || cfg.WrapUp < 0 || cfg.RingTimeout < 0 || cfg.ServiceLevel < 0 {
		return nil, fmt.Errorf("queue %q: %w", cfg.ID, ErrBadQueue)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	q := e.queues[cfg.ID]
	if q == nil {
		q = &queue{rr: -1}
		e.queues[cfg.ID] = q
	}
	q.Queue = cfg
	q.Members = slices.Clone(cfg.Members)
	old := q.members
	q.members = q.members[:0:0]
	for _, id := range cfg.Members {
		a := e.agent(id)
		if slices.Contains(q.members, a) {
			continue
		}
		q.members = append(q.members, a)
		if !slices.Contains(a.queues, q) {
			a.queues = append(a.queues, q)
		}
	}
	for _, a := range old {
		if !slices.Contains(q.members, a) {
			a.queues = slices.DeleteFunc(a.queues, func(x *queue) bool { return x == q })
			if a.activity == offered && a.offer.q == q {
				e.withdraw(a, idle)
			}
		}
	}
	if q.Strategy != RingAll { // no longer ring all: one agent rings per caller
		for _, c := range q.waiting {
			for len(c.offers) > 1 {
				e.withdraw(c.offers[len(c.offers)-1], idle)
			}
		}
	}
	q.rr = min(q.rr, len(q.members)-1)
	e.dispatch(q)
	return e.flush(), nil
}

// agent returns the agent id, created logged out if new. Locked.
func (e *Engine) agent(id string) *agent {
	a := e.agents[id]
	if a == nil {
		a = &agent{id: id}
		e.agents[id] = a
	}
	return a
}

// emit records an event of the running method. Locked.
func (e *Engine) emit(ev Event) { e.ev = append(e.ev, ev) }

// flush hands the events over and clears them. Locked.
func (e *Engine) flush() []Event {
	ev := e.ev
	e.ev = nil
	return ev
}
