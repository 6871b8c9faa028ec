package main

import (
	"context"
	"errors"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip"
	"github.com/switchboard-pbx/switchboard/web"
)

// QueueBoard gives the web the live state of the call queues.
func (l liveState) QueueBoard(ctx context.Context) ([]web.QueueStatus, error) {
	board, err := l.sip.QueueBoard(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]web.QueueStatus, 0, len(board))
	for _, b := range board {
		st := web.QueueStatus{Queue: b.Queue, Stats: b.Stats, Agents: b.Agents}
		for _, c := range b.Waiting {
			st.Waiting = append(st.Waiting, web.QueueCaller{CallID: c.CallID, From: c.From, Since: c.Since, Position: c.Position})
		}
		out = append(out, st)
	}
	return out, nil
}

// QueueAgent logs an agent in or out or pauses them for the web; the
// refusals become the directory's invalid input, which the web answers
// with 400 and the reason.
func (l liveState) QueueAgent(ctx context.Context, userID int64, action, reason string) error {
	err := l.sip.QueueAgent(ctx, userID, action, reason)
	switch {
	case errors.Is(err, sip.ErrNotQueueAgent):
		return &directory.InvalidError{Field: "user", Rule: "is not an agent of any queue"}
	case errors.Is(err, sip.ErrNotLoggedIn):
		return &directory.InvalidError{Field: "user", Rule: "is not logged in to the queues"}
	}
	return err
}
