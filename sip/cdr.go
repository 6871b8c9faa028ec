package sip

import (
	"context"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// cdrTimeout bounds the write of one call history row.
const cdrTimeout = 5 * time.Second

// cdrRow is the call's history row as it stands, with the defaults a row
// needs.
func (c *call) cdrRow() directory.Call {
	row := c.cdr
	if row.Disposition == "" {
		row.Disposition = directory.Failed
	}
	if row.Direction == "" {
		row.Direction = directory.Internal
	}
	c.noteForward(&row)
	return row
}

// writeCDR stores the call's history row, or ends the one stored when a
// recorded call was answered. A row the store refuses is logged with what
// it held, so that an operator can find the call.
func (c *call) writeCDR() {
	row := c.cdrRow()
	if row.EndedAt.IsZero() {
		row.EndedAt = time.Now().UTC()
	}
	ctx, cancel := context.WithTimeout(context.Background(), cdrTimeout)
	defer cancel()
	var err error
	if row.ID != 0 {
		err = c.b.s.store.UpdateCall(ctx, &row)
	} else {
		err = c.b.s.store.CreateCall(ctx, &row)
	}
	if err != nil {
		c.log.Error("call history row not written", "err", err, "from", row.From, "to", row.To,
			"disposition", row.Disposition)
	}
	c.b.s.counters.call(row)
	if h := c.b.hooks.ended; h != nil {
		h(row)
	}
}
