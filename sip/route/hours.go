package route

import (
	"context"
	"errors"

	"github.com/switchboard-pbx/switchboard/directory"
)

// Office hours of inbound numbers. A number of the dids setting
// may follow a schedule (directory.DIDHours): while the schedule is open
// the number rings the extension the setting maps it to, otherwise the
// schedule's outside-hours target. The schedule is read from the store at
// each inbound call, so an edit in the web UI counts from the next call on
// every node, and evaluated at the server's clock.

// hoursTarget returns the extension an inbound call to dialed rings now:
// ext, the number's mapping, or its outside-hours target when its schedule
// is closed. A number without hours rings ext at all times, and so does
// one whose hours the store cannot tell.
func (r *Router) hoursTarget(ctx context.Context, dialed, ext string) string {
	key := dialed
	if _, ok := r.Trunks.DID(dialed); !ok {
		if n, err := directory.NormalizePhone(dialed, r.defaultCountry(ctx)); err == nil {
			key = n
		}
	}
	h, err := r.Store.DIDHours(ctx, key)
	if errors.Is(err, directory.ErrNotFound) {
		return ext
	}
	if err != nil {
		// Better the usual target than no answer: the number rang it
		// before it had hours.
		r.Log.Warn("office hours unknown, ringing the number's target", "did", key, "err", err)
		return ext
	}
	oh, err := h.Schedule.Compile()
	if err != nil { // validated when written; a zone the binary no longer knows
		r.Log.Error("office hours ignored", "did", key, "schedule", h.Schedule.Name, "err", err)
		return ext
	}
	if oh.Open(r.Clock.Now()) {
		return ext
	}
	r.Log.Debug("outside office hours", "did", key, "schedule", h.Schedule.Name, "to", h.Outside)
	return h.Outside
}
