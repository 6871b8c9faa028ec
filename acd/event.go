package acd

import "fmt"

// EventKind says what an Event asks of whoever drives the engine.
type EventKind int

const (
	// EventOffer: ring Agent with Caller's call.
	EventOffer EventKind = iota + 1
	// EventCancel: stop ringing Agent for Caller (someone else answered,
	// the caller left, or the agent was taken out of the queue).
	EventCancel
	// EventPosition: Caller is now number Position in Queue (1 is next).
	EventPosition
	// EventOverflow: Caller leaves Queue for Target (Reason: max_wait,
	// full, no_agents); Target is empty when the queue has no overflow.
	EventOverflow
	// EventAgentState: Agent changed state (State, Reason): for wallboards
	// and busy lamps.
	EventAgentState
)

var eventNames = [...]string{"", "offer", "cancel", "position", "overflow", "agent_state"}

func (k EventKind) String() string {
	if k <= 0 || int(k) >= len(eventNames) {
		return fmt.Sprintf("event(%d)", int(k))
	}
	return eventNames[k]
}

// Event is one thing the engine decided.
type Event struct {
	Kind     EventKind
	Queue    string
	Caller   string
	Agent    string
	Position int
	Target   string // overflow
	Reason   string // overflow, or a pause's reason
	State    string // agent state: logged_out, paused, idle, offered, on_call, wrap_up, busy
}

func (ev Event) String() string {
	switch ev.Kind {
	case EventOffer, EventCancel:
		return ev.Kind.String() + " " + ev.Caller + "→" + ev.Agent
	case EventPosition:
		return fmt.Sprintf("position %s=%d", ev.Caller, ev.Position)
	case EventOverflow:
		return "overflow " + ev.Caller + "→" + ev.Target + " (" + ev.Reason + ")"
	case EventAgentState:
		return "agent " + ev.Agent + " " + ev.State
	}
	return ev.Kind.String()
}

// state is the agent's state as events and snapshots name it.
func (a *agent) state() string {
	switch {
	case !a.loggedIn:
		return "logged_out"
	case a.paused && a.activity == idle:
		return "paused"
	}
	return activityNames[a.activity]
}

// changed emits the agent's state. Locked.
func (e *Engine) changed(a *agent) {
	ev := Event{Kind: EventAgentState, Agent: a.id, State: a.state()}
	if a.paused {
		ev.Reason = a.reason
	}
	e.emit(ev)
}
