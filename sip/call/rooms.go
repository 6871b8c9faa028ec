package call

import "time"

// A Room is one feature's state on one call: a transfer in progress, a
// park, a wait in a queue, a menu, a message being left. The call's core
// (call.go, ringing.go, answer.go, reinvite.go, hangup.go) names no
// feature: a feature opens its Room on the call (call.rooms.open) and closes it
// when done (call.rooms.close), and the core asks the rooms open at a few fixed
// points through the small interfaces below. A Room implements those it
// needs; the core asks them in the order the rooms were opened.
//
// Rooms live on the call's goroutine: they are opened, asked and closed
// only there, like every other field of the call.
type Room interface {
	// RoomName names the feature in logs ("transfer", "park", "queue").
	RoomName() string
}

// RequestTaker sees an in-dialog request from a leg (BYE, re-INVITE,
// REFER, INFO) before the core does. It returns true when it answered the
// request (and closed ev.done); the core then does nothing more with it.
type RequestTaker interface {
	TakeRequest(ev *ReqEvent) bool
}

// CallEnder hears that an answered call ends, from our side or by a leg's
// BYE. gone is the leg (0 A, 1 B) that has already left the call, as far
// as the rooms asked before knew, or -1; it returns the same, adding its
// own knowledge: the core then sends no BYE to a leg that has left.
type CallEnder interface {
	CallEnding(gone int) int
}

// FarEnd is a room that stands on leg B in place of a dialog: a menu, a
// mailbox. The core ends it where it would send leg B a BYE.
type FarEnd interface {
	EndFarEnd()
}

// TimedRoom has a deadline: expire runs on the call's goroutine once it
// has passed (and the room is still open).
type TimedRoom interface {
	Deadline() time.Time
	Expire()
}

// ReinviteGate refuses a leg's re-INVITE the room cannot let through now
// (a transfer under way, nobody on the other leg). It is asked twice: of
// every re-INVITE (passOn false), and again of one whose offer would go
// on to the other leg (passOn true; one without SDP we answer alone). It
// returns the status to answer, or 0 to let the re-INVITE through.
type ReinviteGate interface {
	RefuseReinvite(passOn bool) (code int, reason string)
}

// ForkHolder is a room whose own dialer rings someone: the call's actor
// stays until those forks have their final responses (or the linger time
// is up).
type ForkHolder interface {
	ForksRinging() bool
}

// roomSet is the rooms open on a call, in the order they were opened
// (call.rooms); the core asks them through its methods.
type roomSet []Room

// Open puts r on the call.
func (rs *roomSet) Open(r Room) {
	*rs = append(*rs, r)
}

// Close takes r off the call; closing a room not open does nothing.
func (rs *roomSet) Close(r Room) {
	for i, o := range *rs {
		if o == r {
			*rs = append((*rs)[:i], (*rs)[i+1:]...)
			return
		}
	}
}

// TakeRequest offers ev to the rooms, and reports whether one answered it.
func (rs *roomSet) TakeRequest(ev *ReqEvent) bool {
	for _, r := range *rs {
		if t, ok := r.(RequestTaker); ok && t.TakeRequest(ev) {
			return true
		}
	}
	return false
}

// ending tells the rooms that the call ends; see callEnder.
func (rs *roomSet) ending(gone int) int {
	// A room may close itself as it hears the news: ask a copy.
	for _, r := range append([]Room(nil), *rs...) {
		if e, ok := r.(CallEnder); ok {
			gone = e.CallEnding(gone)
		}
	}
	return gone
}

// farEnd returns the room that stands on leg B, if any.
func (rs *roomSet) farEnd() FarEnd {
	for _, r := range *rs {
		if f, ok := r.(FarEnd); ok {
			return f
		}
	}
	return nil
}

// Deadline returns the earliest deadline of the rooms, zero when none.
func (rs *roomSet) Deadline() time.Time {
	var next time.Time
	for _, r := range *rs {
		if t, ok := r.(TimedRoom); ok {
			if d := t.Deadline(); !d.IsZero() && (next.IsZero() || d.Before(next)) {
				next = d
			}
		}
	}
	return next
}

// Expire runs expire on the rooms whose deadline has passed.
func (rs *roomSet) Expire() {
	now := time.Now()
	for _, r := range append([]Room(nil), *rs...) {
		if t, ok := r.(TimedRoom); ok {
			if d := t.Deadline(); !d.IsZero() && !now.Before(d) {
				t.Expire()
			}
		}
	}
}

// RefuseReinvite returns the status a room refuses a re-INVITE with, or
// 0: the rooms are asked of every re-INVITE, then, when its offer would go
// on to the other leg (passesOn), again (reinviteGate).
func (rs *roomSet) RefuseReinvite(passesOn bool) (int, string) {
	code, reason := rs.askGates(false)
	if code == 0 && passesOn {
		code, reason = rs.askGates(true)
	}
	return code, reason
}

// askGates asks the rooms' reinviteGates with passOn.
func (rs *roomSet) askGates(passOn bool) (int, string) {
	for _, r := range *rs {
		if g, ok := r.(ReinviteGate); ok {
			if code, reason := g.RefuseReinvite(passOn); code != 0 {
				return code, reason
			}
		}
	}
	return 0, ""
}

// ForksRinging reports whether a room's dialer still waits for a
// final response.
func (rs *roomSet) ForksRinging() bool {
	for _, r := range *rs {
		if h, ok := r.(ForkHolder); ok && h.ForksRinging() {
			return true
		}
	}
	return false
}

// RoomOf returns the room of type T open in rs, the zero T when none is.
func RoomOf[T Room](rs roomSet) T {
	for _, r := range rs {
		if t, ok := r.(T); ok {
			return t
		}
	}
	var none T
	return none
}
