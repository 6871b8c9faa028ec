package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/switchboard-pbx/switchboard/directory"
)

// saveCallSQL writes a call row by its key; SaveCall runs it prepared.
const saveCallSQL = saveCallsHead + saveCallRow + saveCallsTail + ` RETURNING id`

// The call rows of a batch (SaveCalls) are written by multi-row
// statements, which return each row's key with its ID: a statement per
// row cost a round through database/sql (and two goroutines, the watchers
// of its context) for each. SQLite writes the VALUES rows in order, as
// the statements one by one did; the order of RETURNING is not defined,
// hence the key.
const (
	saveCallsHead = `INSERT INTO calls (call_key, sip_call_id, caller_id, callee_id, group_id,
				from_number, to_number, dialed, direction, started_at, answered_at, ended_at, disposition, reason,
				hangup_by, node, queue, queue_wait_ms)
			VALUES `
	saveCallRow   = `(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	saveCallsTail = `
			ON CONFLICT (call_key) WHERE call_key IS NOT NULL DO UPDATE SET caller_id = excluded.caller_id,
				callee_id = excluded.callee_id, group_id = excluded.group_id, from_number = excluded.from_number,
				to_number = excluded.to_number, dialed = excluded.dialed, direction = excluded.direction,
				answered_at = excluded.answered_at, ended_at = excluded.ended_at,
				disposition = excluded.disposition, reason = excluded.reason, hangup_by = excluded.hangup_by,
				node = excluded.node, queue = excluded.queue, queue_wait_ms = excluded.queue_wait_ms`
	savedCallCols = 18
)

// callBatchSizes are the sizes of the prepared multi-row call statements;
// a batch is cut into the largest that fit. Under load the spool's
// batches are a few rows (Gather), hence the small sizes.
var callBatchSizes = [...]int{32, 8, 4, 2}

// prepareSaveCalls prepares the multi-row call statements on the writer.
func (s *Store) prepareSaveCalls(ctx context.Context) error {
	for i, n := range callBatchSizes {
		var err error
		q := rowsSQL(saveCallsHead, n, savedCallCols, saveCallsTail+` RETURNING call_key, id`)
		if s.saveCalls[i], err = s.wdb.PrepareContext(ctx, q); err != nil {
			return fmt.Errorf("prepare: %w", err)
		}
	}
	return nil
}

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
		i, err := s.saveCallRuns(ctx, tx, cs, ids)
		if err == nil {
			return nil
		}
		if err := s.fail(err); errors.Is(err, directory.ErrUnavailable) {
			return err
		}
		// A row at fault failed its statement, which SQLite undid: the
		// rows from that statement on go one by one, to name the row.
		stmt := tx.StmtContext(ctx, s.saveCall)
		for ; i < len(cs); i++ {
			if err := saveCallIn(ctx, stmt, cs[i]).Scan(&ids[i]); err != nil {
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
	return stmt.QueryRowContext(ctx, appendCallArgs(make([]any, 0, savedCallCols), c)...)
}

// appendCallArgs appends the arguments of c's row in saveCallRow.
func appendCallArgs(args []any, c *directory.Call) []any {
	return append(args,
		c.Key, c.SIPCallID, nullID(c.CallerID), nullID(c.CalleeID), nullID(c.GroupID), c.From, c.To, c.Dialed,
		string(c.Direction), micros(c.StartedAt), micros(c.AnsweredAt), micros(c.EndedAt),
		string(c.Disposition), c.Reason, c.HangupBy, c.Node, c.Queue, c.QueueWait.Milliseconds())
}

// saveCallRuns writes cs in tx by the multi-row statements (a last lone
// row by saveCall), filling in ids. On an error it returns the index of
// the first row of the statement that failed: the rows before it are
// written.
func (s *Store) saveCallRuns(ctx context.Context, tx *sql.Tx, cs []*directory.Call, ids []int64) (int, error) {
	args := make([]any, 0, min(len(cs), callBatchSizes[0])*savedCallCols)
	i := 0
	for k, size := range callBatchSizes {
		if len(cs)-i < size {
			continue
		}
		st := tx.StmtContext(ctx, s.saveCalls[k])
		for ; len(cs)-i >= size; i += size {
			run := cs[i : i+size]
			args = args[:0]
			for _, c := range run {
				args = appendCallArgs(args, c)
			}
			rows, err := st.QueryContext(ctx, args...)
			if err == nil {
				err = scanCallIDs(rows, run, ids[i:i+size])
			}
			if err != nil {
				return i, err
			}
		}
	}
	if i < len(cs) {
		if err := saveCallIn(ctx, tx.StmtContext(ctx, s.saveCall), cs[i]).Scan(&ids[i]); err != nil {
			return i, err
		}
	}
	return len(cs), nil
}

// scanCallIDs reads the keys and IDs a multi-row statement returned for
// run and gives each of run its ID in ids; it closes rows.
func scanCallIDs(rows *sql.Rows, run []*directory.Call, ids []int64) error {
	defer rows.Close()
	n := 0
	for rows.Next() {
		var key string
		var id int64
		if err := rows.Scan(&key, &id); err != nil {
			return err
		}
		for j, c := range run {
			if c.Key == key && ids[j] == 0 {
				ids[j] = id
				n++
			}
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if n < len(run) {
		return fmt.Errorf("%d of %d call rows returned an ID", n, len(run))
	}
	return nil
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
