package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-pbx/switchboard/directory"
)

// saveCallSQL writes a call row by its key; saveCallArgs are its
// arguments.
const saveCallSQL = `INSERT INTO calls (call_key, sip_call_id, caller_id, callee_id, group_id,
		from_number, to_number, dialed, direction, started_at, answered_at, ended_at, disposition, reason,
		hangup_by, node, queue, queue_wait_ms)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
	ON CONFLICT (call_key) WHERE call_key IS NOT NULL DO UPDATE SET caller_id = excluded.caller_id,
		callee_id = excluded.callee_id, group_id = excluded.group_id, from_number = excluded.from_number,
		to_number = excluded.to_number, dialed = excluded.dialed, direction = excluded.direction,
		answered_at = excluded.answered_at, ended_at = excluded.ended_at,
		disposition = excluded.disposition, reason = excluded.reason, hangup_by = excluded.hangup_by,
		node = excluded.node, queue = excluded.queue, queue_wait_ms = excluded.queue_wait_ms
	RETURNING id`

func saveCallArgs(c *directory.Call) []any {
	return []any{c.Key, c.SIPCallID, nullID(c.CallerID), nullID(c.CalleeID), nullID(c.GroupID), c.From, c.To,
		c.Dialed, string(c.Direction), c.StartedAt, nullTime(c.AnsweredAt), nullTime(c.EndedAt),
		string(c.Disposition), c.Reason, c.HangupBy, c.Node, c.Queue, c.QueueWait.Milliseconds()}
}

// SaveCall creates the call named c.Key or rewrites it (see
// directory.KeyedStore).
func (s *Store) SaveCall(ctx context.Context, c *directory.Call) error {
	if err := c.ValidateSave(); err != nil {
		return fmt.Errorf("save call: %w", err)
	}
	err := s.pool.QueryRow(ctx, saveCallSQL, saveCallArgs(c)...).Scan(&c.ID)
	return mapErr("save call "+c.SIPCallID, err)
}

// SaveCalls writes the calls cs by their keys in one transaction (see
// directory.KeyedStore): they go as one pgx batch, which the server runs
// in one implicit transaction, in one round trip.
func (s *Store) SaveCalls(ctx context.Context, cs []*directory.Call) error {
	for i, c := range cs {
		if err := c.ValidateSave(); err != nil {
			return fmt.Errorf("save calls: %w", &directory.RowError{Index: i, Err: err, Item: "call"})
		}
	}
	var b pgx.Batch
	for _, c := range cs {
		b.Queue(saveCallSQL, saveCallArgs(c)...)
	}
	ids := make([]int64, len(cs))
	br := s.pool.SendBatch(ctx, &b)
	var err error
	for i, c := range cs {
		if err = br.QueryRow().Scan(&ids[i]); err != nil {
			err = &directory.RowError{Index: i, Err: mapErr("save call "+c.SIPCallID, err), Item: "call"}
			break
		}
	}
	// Close ends the implicit transaction: it commits, or reports why not.
	if cerr := br.Close(); err == nil && cerr != nil {
		err = mapErr("save calls", cerr)
	}
	if err != nil {
		return fmt.Errorf("save calls: %w", err)
	}
	for i, c := range cs {
		c.ID = ids[i]
	}
	return nil
}

// SaveRecording creates the recording at r.Path of the call named callKey
// or rewrites it (see directory.KeyedStore): the recording of that call at
// that path is updated, or inserted when there is none.
func (s *Store) SaveRecording(ctx context.Context, callKey string, r *directory.Recording) error {
	if err := directory.ValidateSaveRecording(callKey, r); err != nil {
		return fmt.Errorf("save recording: %w", err)
	}
	if r.State == "" {
		r.State = directory.RecordingActive
	}
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return mapErr("save recording "+r.Path, err)
	}
	defer tx.Rollback(ctx)
	var callID, callerID, calleeID int64
	err = tx.QueryRow(ctx, `SELECT id, coalesce(caller_id, 0), coalesce(callee_id, 0) FROM calls
		WHERE call_key = $1`, callKey).Scan(&callID, &callerID, &calleeID)
	if err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("save recording %s: %w", r.Path, &directory.InvalidError{Field: "call_id", Rule: "unknown call"})
		}
		return mapErr("save recording "+r.Path, err)
	}
	// Serialises two writers of one recording (the spool and a direct
	// write cannot overlap, but two nodes replaying could).
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, r.Path); err != nil {
		return mapErr("save recording "+r.Path, err)
	}
	err = tx.QueryRow(ctx, `UPDATE recordings SET size = $3, duration_ms = $4, sha256 = $5, state = $6, error = $7,
			updated_at = now()
		WHERE call_id = $1 AND path = $2 RETURNING id, created_at, updated_at`,
		callID, r.Path, r.Size, r.Duration.Milliseconds(), r.SHA256, string(r.State), r.Error,
	).Scan(&r.ID, &r.CreatedAt, &r.UpdatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		err = tx.QueryRow(ctx, `INSERT INTO recordings (call_id, path, size, duration_ms, sha256, state, error)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, created_at, updated_at`,
			callID, r.Path, r.Size, r.Duration.Milliseconds(), r.SHA256, string(r.State), r.Error,
		).Scan(&r.ID, &r.CreatedAt, &r.UpdatedAt)
	}
	if err == nil {
		err = tx.Commit(ctx)
	}
	if err != nil {
		return mapErr("save recording "+r.Path, err)
	}
	r.CallID, r.CallerID, r.CalleeID = callID, callerID, calleeID
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return nil
}
