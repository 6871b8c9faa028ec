package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/switchboard-pbx/switchboard/directory"
)

// saveCallSQL writes a call row by its key; SaveCall runs it prepared.
const saveCallSQL = `INSERT INTO calls (call_key, sip_call_id, caller_id, callee_id, group_id,
				from_number, to_number, dialed, direction, started_at, answered_at, ended_at, disposition, reason,
				hangup_by, node, queue, queue_wait_ms)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (call_key) WHERE call_key IS NOT NULL DO UPDATE SET caller_id = excluded.caller_id,
				callee_id = excluded.callee_id, group_id = excluded.group_id, from_number = excluded.from_number,
				to_number = excluded.to_number, dialed = excluded.dialed, direction = excluded.direction,
				answered_at = excluded.answered_at, ended_at = excluded.ended_at,
				disposition = excluded.disposition, reason = excluded.reason, hangup_by = excluded.hangup_by,
				node = excluded.node, queue = excluded.queue, queue_wait_ms = excluded.queue_wait_ms
			RETURNING id`

// SaveCall creates the call named c.Key or rewrites it (see
// directory.KeyedStore).
func (s *Store) SaveCall(ctx context.Context, c *directory.Call) error {
	if err := c.ValidateSave(); err != nil {
		return fmt.Errorf("save call: %w", err)
	}
	var id int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		return saveCallIn(ctx, tx.StmtContext(ctx, s.saveCall), c).Scan(&id)
	})
	if err != nil {
		return fmt.Errorf("save call %s: %w", c.SIPCallID, err)
	}
	c.ID = id
	return nil
}

// SaveCalls writes the calls cs by their keys in one transaction (see
// directory.KeyedStore): the commit, most of the cost of one row, is paid
// once for the batch.
func (s *Store) SaveCalls(ctx context.Context, cs []*directory.Call) error {
	for i, c := range cs {
		if err := c.ValidateSave(); err != nil {
			return fmt.Errorf("save calls: %w", &directory.RowError{Index: i, Err: err, Item: "call"})
		}
	}
	ids := make([]int64, len(cs))
	err := s.write(ctx, func(tx *sql.Tx) error {
		stmt := tx.StmtContext(ctx, s.saveCall)
		for i, c := range cs {
			if err := saveCallIn(ctx, stmt, c).Scan(&ids[i]); err != nil {
				return &directory.RowError{Index: i, Err: s.fail(err), Item: "call"}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("save calls: %w", err)
	}
	for i, c := range cs {
		c.ID = ids[i]
	}
	return nil
}

// saveCallIn runs saveCallSQL, prepared as stmt, for c.
func saveCallIn(ctx context.Context, stmt *sql.Stmt, c *directory.Call) *sql.Row {
	return stmt.QueryRowContext(ctx,
		c.Key, c.SIPCallID, nullID(c.CallerID), nullID(c.CalleeID), nullID(c.GroupID), c.From, c.To, c.Dialed,
		string(c.Direction), micros(c.StartedAt), micros(c.AnsweredAt), micros(c.EndedAt),
		string(c.Disposition), c.Reason, c.HangupBy, c.Node, c.Queue, c.QueueWait.Milliseconds())
}

// SaveRecording creates the recording at r.Path of the call named callKey
// or rewrites it (see directory.KeyedStore).
func (s *Store) SaveRecording(ctx context.Context, callKey string, r *directory.Recording) error {
	if err := directory.ValidateSaveRecording(callKey, r); err != nil {
		return fmt.Errorf("save recording: %w", err)
	}
	if r.State == "" {
		r.State = directory.RecordingActive
	}
	var got *directory.Recording
	err := s.write(ctx, func(tx *sql.Tx) error {
		var callID int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM calls WHERE call_key = ?`, callKey).Scan(&callID)
		if errors.Is(err, sql.ErrNoRows) {
			return &directory.InvalidError{Field: "call_id", Rule: "unknown call"}
		}
		if err != nil {
			return err
		}
		t := now().UnixMicro()
		var id int64
		err = tx.QueryRowContext(ctx, `SELECT id FROM recordings WHERE path = ? AND call_id = ?`,
			r.Path, callID).Scan(&id)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			err = tx.QueryRowContext(ctx, `INSERT INTO recordings (call_id, path, size, duration_ms, sha256, state,
					error, created_at, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
				callID, r.Path, r.Size, r.Duration.Milliseconds(), r.SHA256, string(r.State), r.Error, t, t).Scan(&id)
		case err == nil:
			_, err = tx.ExecContext(ctx, `UPDATE recordings SET size = ?, duration_ms = ?, sha256 = ?, state = ?,
					error = ?, updated_at = ?
				WHERE id = ?`, r.Size, r.Duration.Milliseconds(), r.SHA256, string(r.State), r.Error, t, id)
		}
		if err != nil {
			return err
		}
		got, err = getRecording(ctx, tx, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("save recording %s: %w", r.Path, err)
	}
	*r = *got
	return nil
}
