package directory

import "time"

// RecordingState is the life state of a recording file.
type RecordingState string

// Recording states.
const (
	RecordingActive   RecordingState = "recording" // being written
	RecordingDone     RecordingState = "done"
	RecordingFailed   RecordingState = "failed" // could not be written; Error says why
	RecordingRepaired RecordingState = "repaired"
	RecordingDeleted  RecordingState = "deleted"
)

// Recording is the metadata of one recorded call's WAV file.
type Recording struct {
	ID        int64
	CallID    int64 // the Call row it belongs to
	Path      string
	Size      int64
	Duration  time.Duration
	SHA256    string
	State     RecordingState
	Error     string
	CreatedAt time.Time
	UpdatedAt time.Time

	// Filled in by the stores from the call, so that authz can decide on a
	// recording without another lookup.
	CallerID int64
	CalleeID int64
}

// RecordingFilter selects recordings; visibility is that of their calls.
type RecordingFilter struct {
	CallID  int64
	CallIDs []int64          // any of these calls (the recordings of a page of history); empty: no bound
	States  []RecordingState // empty: all but deleted
	Before  time.Time        // created before; zero: no bound (retention)
	Vis     Visibility
	Page    Page

	// Filters on the recording's call, as people look for one: the call
	// started in [From, To) (zero: no bound), UserID took part, a member of
	// GroupID took part (direct members), Number is in its numbers (as
	// CallFilter.NumberSearch reads it), its direction; the recording's
	// length within [MinDuration, MaxDuration] (zero: no bound).
	From, To                 time.Time
	UserID, GroupID          int64
	Number                   string
	Direction                Direction
	MinDuration, MaxDuration time.Duration
	Sort                     RecordingSort
}

// RecordingSort is the order of a recording list.
type RecordingSort string

// Orders of a recording list; the empty one is RecordingNewest.
const (
	RecordingNewest   RecordingSort = "newest" // by the recording's start (the call's answer), newest first
	RecordingOldest   RecordingSort = "oldest"
	RecordingLongest  RecordingSort = "longest"
	RecordingShortest RecordingSort = "shortest"
)

// Valid reports whether s is a known order ("" too).
func (s RecordingSort) Valid() bool {
	switch s {
	case "", RecordingNewest, RecordingOldest, RecordingLongest, RecordingShortest:
		return true
	}
	return false
}

// Calls returns the part of f that filters calls, for a store to turn
// into conditions the way it does for CallFilter.
func (f RecordingFilter) Calls() CallFilter {
	return CallFilter{From: f.From, To: f.To, UserID: f.UserID, GroupID: f.GroupID, Number: f.Number, Vis: f.Vis}
}

// Valid reports whether s is a known state.
func (s RecordingState) Valid() bool {
	switch s {
	case RecordingActive, RecordingDone, RecordingFailed, RecordingRepaired, RecordingDeleted:
		return true
	}
	return false
}

// ErrUnknownCall is what CreateRecording says of a call that does not exist.
var ErrUnknownCall error = &InvalidError{Field: "call_id", Rule: "unknown call"}

// Check applies the rules of CreateRecording and UpdateRecording before a
// store writes r: an empty State is "recording", any other must be a
// known state; size and duration are not negative.
func (r *Recording) Check() error {
	var errs fieldErrors
	if r.State == "" {
		r.State = RecordingActive
	}
	if !r.State.Valid() {
		errs.add(invalid("state", "must be recording, done, failed, repaired or deleted"))
	}
	if r.Size < 0 {
		errs.add(invalid("size", "must not be negative"))
	}
	if r.Duration < 0 {
		errs.add(invalid("duration", "must not be negative"))
	}
	return errs.err()
}
