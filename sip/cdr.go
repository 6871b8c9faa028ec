package sip

import (
	"context"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// cdrTimeout bounds the write of one call history row.
const cdrTimeout = 5 * time.Second

// cdrRow is the call's history row as it stands, with the defaults a row
// needs and its key, made on the first write (a transfer starts a new row).
func (c *call) cdrRow() directory.Call {
	if c.cdr.Key == "" {
		c.cdr.Key = newRowKey()
	}
	row := c.cdr
	if row.Disposition == "" {
		row.Disposition = directory.Failed
	}
	if row.Direction == "" {
		row.Direction = directory.Internal
	}
	c.rt.noteForwards(&row)
	return row
}

// writeCDR stores the call's history row, or ends the one stored when a
// recorded call was answered; while the store does not answer, the spool
// holds the write. A row the store refuses is logged with what it held, so
// that an operator can find the call.
func (c *call) writeCDR() {
	row := c.cdrRow()
	if row.EndedAt.IsZero() {
		row.EndedAt = time.Now().UTC()
	}
	if err := c.b.s.history.SaveCall(context.Background(), &row); err != nil {
		c.log.Error("call history row not written", "err", err, "from", row.From, "to", row.To,
			"disposition", row.Disposition)
	}
	c.b.s.counters.call(row)
	if h := c.b.hooks.ended; h != nil {
		h(row)
	}
}

// writeRow stores a history row other than the call's own (a transfer
// attempt), as writeCDR does.
func (c *call) writeRow(row directory.Call) {
	row.Key = newRowKey()
	if err := c.b.s.history.SaveCall(context.Background(), &row); err != nil {
		c.log.Error("call history row not written", "err", err, "from", row.From, "to", row.To,
			"disposition", row.Disposition)
	}
	c.b.s.counters.call(row)
	if h := c.b.hooks.ended; h != nil {
		h(row)
	}
}

// fillCDR copies what the route knows into the CDR row.
func (c *call) fillCDR() {
	rt := c.rt
	if rt == nil {
		return
	}
	c.cdr.Direction = rt.dir
	c.cdr.Dialed = rt.dialed
	c.cdr.CallerID = rt.callerID
	c.cdr.CalleeID = rt.calleeID
	c.cdr.GroupID = rt.groupID
	c.cdr.From = rt.from
	c.cdr.To = rt.to
	if c.cdr.To == "" {
		c.cdr.To = rt.dialed
	}
}
