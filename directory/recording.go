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
	CallID int64
	States []RecordingState // empty: all but deleted
	Before time.Time        // created before; zero: no bound (retention)
	Vis    Visibility
	Page   Page
}
