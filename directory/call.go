package directory

import (
	"strings"
	"time"
)

// Direction of a call.
type Direction string

// Directions: between extensions, out through a trunk, in from a trunk.
const (
	Internal Direction = "internal"
	Outbound Direction = "outbound"
	Inbound  Direction = "inbound"
)

// Disposition is how a call attempt ended.
type Disposition string

// Dispositions of a call attempt.
const (
	Answered    Disposition = "answered"
	Busy        Disposition = "busy"
	NoAnswer    Disposition = "no_answer"
	Unavailable Disposition = "unavailable"
	Cancelled   Disposition = "cancelled"
	Failed      Disposition = "failed"
	Denied      Disposition = "denied" // refused by an outbound rule
)

// Valid reports whether d is a known disposition.
func (d Disposition) Valid() bool {
	switch d {
	case Answered, Busy, NoAnswer, Unavailable, Cancelled, Failed, Denied:
		return true
	}
	return false
}

// Call is one call attempt (a CDR row).
type Call struct {
	ID          int64
	SIPCallID   string // Call-ID of the A leg
	CallerID    int64  // user ID of the caller, 0 when external
	CalleeID    int64  // user ID of the callee (who answered, or the single target), 0 when external
	GroupID     int64  // group dialed, 0 when none
	From        string // caller number (extension or E.164)
	To          string // callee number (extension or E.164)
	Dialed      string // what the caller dialed
	Direction   Direction
	StartedAt   time.Time
	AnsweredAt  time.Time // zero when not answered
	EndedAt     time.Time
	Disposition Disposition
	Reason      string // why it was refused or failed
	HangupBy    string // "caller", "callee", "system"
	Node        string
	// Queue is the number of the call queue the call waited in, ""
	// when none; QueueWait how long it waited there. Answered by
	// is CalleeID/To; abandoned is a queue call cancelled by the caller.
	Queue     string
	QueueWait time.Duration
	// Key names the call for SaveCall, chosen by a writer that may repeat
	// its write; empty for rows written by CreateCall. Stores do not read
	// it back.
	Key string
}

// Duration is the talk time: answer to end, zero when not answered.
func (c *Call) Duration() time.Duration {
	if c.AnsweredAt.IsZero() || c.EndedAt.Before(c.AnsweredAt) {
		return 0
	}
	return c.EndedAt.Sub(c.AnsweredAt)
}

// Validate checks what a backend must not store.
func (c *Call) Validate() error {
	var errs fieldErrors
	if !c.Disposition.Valid() {
		errs.add(invalid("disposition", "must be one of answered, busy, no_answer, unavailable, cancelled, failed, denied"))
	}
	switch c.Direction {
	case Internal, Outbound, Inbound:
	default:
		errs.add(invalid("direction", "must be internal, outbound or inbound"))
	}
	if c.StartedAt.IsZero() {
		errs.add(invalid("started_at", "is required"))
	}
	if !c.EndedAt.IsZero() && c.EndedAt.Before(c.StartedAt) {
		errs.add(invalid("ended_at", "must not be before started_at"))
	}
	return errs.err()
}

// CallFilter selects call history rows; lists are newest first.
type CallFilter struct {
	From        time.Time // started at or after; zero: no bound
	To          time.Time // started before; zero: no bound
	UserID      int64     // caller or callee
	GroupID     int64     // caller or callee is a member of this group
	Number      string    // substring of from, to or dialed, as NumberSearch reads it
	Disposition Disposition
	Vis         Visibility
	Page        Page
}

// NumberSearch is what a store looks for in the numbers of a call for
// f.Number: a number as people type it without its spaces and punctuation
// ("+48 22-123" is "+4822123", see NumberTerm), anything else trimmed of
// spaces and compared as it is; "" means no number filter.
func (f CallFilter) NumberSearch() string {
	if n := NumberTerm(f.Number); n != "" {
		return n
	}
	return strings.TrimSpace(f.Number)
}
