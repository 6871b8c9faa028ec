package directory

import "context"

// KeyedStore writes call history and recording rows under keys chosen by
// their writer, so that a write repeated after an outage or a restart
// changes nothing more: a write held while the database was away is
// replayed through it exactly once in effect.
type KeyedStore interface {
	// SaveCall creates the call named c.Key, or rewrites every field of it
	// but its SIP Call-ID and start, and sets c.ID. c.Key must not be empty.
	SaveCall(ctx context.Context, c *Call) error
	// SaveCalls writes the calls cs as SaveCall does, in their order, in
	// one transaction: all of them or none. A call that is invalid or that
	// the store refuses refuses the batch with a *RowError naming it; IDs
	// are set only when the batch is written.
	SaveCalls(ctx context.Context, cs []*Call) error
	// SaveRecording creates the recording at r.Path of the call named
	// callKey, or rewrites its size, duration, hash, state and error, and
	// fills in r as UpdateRecording does. An unknown call is ErrInvalid.
	SaveRecording(ctx context.Context, callKey string, r *Recording) error
}

// validateKey checks the key of SaveCall and SaveRecording.
func validateKey(key string) error {
	if key == "" {
		return invalid("key", "is required")
	}
	return nil
}

// ValidateSave checks a call for SaveCall.
func (c *Call) ValidateSave() error {
	if err := validateKey(c.Key); err != nil {
		return err
	}
	return c.Validate()
}

// ValidateSaveRecording checks a recording for SaveRecording.
func ValidateSaveRecording(callKey string, r *Recording) error {
	if err := validateKey(callKey); err != nil {
		return err
	}
	if r.Path == "" {
		return invalid("path", "is required")
	}
	return nil
}
