package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-pbx/switchboard/directory"
)

// recordingColumns are read by scanRecording, from recordings r joined to
// their calls c.
const recordingColumns = `r.id, r.call_id, r.path, r.size, r.duration_ms, r.sha256, r.state, r.error,
	r.created_at, r.updated_at, coalesce(c.caller_id, 0), coalesce(c.callee_id, 0)`

func scanRecording(row pgx.Row) (directory.Recording, error) {
	var r directory.Recording
	var ms int64
	var state string
	err := row.Scan(&r.ID, &r.CallID, &r.Path, &r.Size, &ms, &r.SHA256, &state, &r.Error,
		&r.CreatedAt, &r.UpdatedAt, &r.CallerID, &r.CalleeID)
	r.Duration = time.Duration(ms) * time.Millisecond
	r.State = directory.RecordingState(state)
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return r, err
}

func scanRecordingRow(r pgx.CollectableRow) (directory.Recording, error) { return scanRecording(r) }

// CreateRecording stores the metadata of a recording of call r.CallID and
// sets its ID, times, caller and callee. An empty state is "recording".
func (s *Store) CreateRecording(ctx context.Context, r *directory.Recording) error {
	if err := r.Check(); err != nil {
		return fmt.Errorf("create recording of call %d: %w", r.CallID, err)
	}
	err := s.pool.QueryRow(ctx, `WITH r AS (
			INSERT INTO recordings (call_id, path, size, duration_ms, sha256, state, error)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id, call_id, created_at, updated_at
		)
		SELECT r.id, r.created_at, r.updated_at, coalesce(c.caller_id, 0), coalesce(c.callee_id, 0)
		FROM r JOIN calls c ON c.id = r.call_id`,
		r.CallID, r.Path, r.Size, r.Duration.Milliseconds(), r.SHA256, string(r.State), r.Error,
	).Scan(&r.ID, &r.CreatedAt, &r.UpdatedAt, &r.CallerID, &r.CalleeID)
	if err != nil {
		return mapErr("create recording", err)
	}
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return nil
}

// UpdateRecording replaces path, size, duration, hash, state and error of
// recording r.ID and sets r.UpdatedAt.
func (s *Store) UpdateRecording(ctx context.Context, r *directory.Recording) error {
	if err := r.Check(); err != nil {
		return fmt.Errorf("update recording %d: %w", r.ID, err)
	}
	err := s.pool.QueryRow(ctx, `WITH r AS (
			UPDATE recordings SET path = $2, size = $3, duration_ms = $4, sha256 = $5, state = $6, error = $7,
				updated_at = now()
			WHERE id = $1 RETURNING call_id, created_at, updated_at
		)
		SELECT r.call_id, r.created_at, r.updated_at, coalesce(c.caller_id, 0), coalesce(c.callee_id, 0)
		FROM r JOIN calls c ON c.id = r.call_id`,
		r.ID, r.Path, r.Size, r.Duration.Milliseconds(), r.SHA256, string(r.State), r.Error,
	).Scan(&r.CallID, &r.CreatedAt, &r.UpdatedAt, &r.CallerID, &r.CalleeID)
	if err != nil {
		return mapErr(fmt.Sprintf("update recording %d", r.ID), err)
	}
	r.CreatedAt, r.UpdatedAt = r.CreatedAt.UTC(), r.UpdatedAt.UTC()
	return nil
}

// Recording returns one recording with its call's caller and callee.
func (s *Store) Recording(ctx context.Context, id int64) (*directory.Recording, error) {
	r, err := scanRecording(s.pool.QueryRow(ctx, "SELECT "+recordingColumns+
		" FROM recordings r JOIN calls c ON c.id = r.call_id WHERE r.id = $1", id))
	if err != nil {
		return nil, mapErr(fmt.Sprintf("recording %d", id), err)
	}
	return &r, nil
}

// Recordings lists recordings newest first; a recording is visible when
// its call is.
func (s *Store) Recordings(ctx context.Context, f directory.RecordingFilter) ([]directory.Recording, error) {
	w := &where{}
	if f.CallID != 0 {
		w.add("r.call_id = " + w.arg(f.CallID))
	}
	if len(f.States) > 0 {
		states := make([]string, 0, len(f.States))
		for _, st := range f.States {
			states = append(states, string(st))
		}
		w.add("r.state = ANY(" + w.arg(states) + ")")
	} else {
		w.add("r.state <> 'deleted'")
	}
	if !f.Vis.All {
		w.add(fmt.Sprintf("(c.caller_id = ANY(%[1]s) OR c.callee_id = ANY(%[1]s))", w.arg(ids(f.Vis.UserIDs))))
	}
	if !f.Before.IsZero() {
		w.add("r.created_at < " + w.arg(f.Before))
	}
	limit, offset := f.Page.Limit()
	rows, err := s.pool.Query(ctx, "SELECT "+recordingColumns+" FROM recordings r JOIN calls c ON c.id = r.call_id"+
		w.sql()+" ORDER BY r.created_at DESC, r.id DESC LIMIT "+w.arg(limit)+" OFFSET "+w.arg(offset), w.args...)
	if err != nil {
		return nil, mapErr("recordings", err)
	}
	rs, err := pgx.CollectRows(rows, scanRecordingRow)
	return nilIfEmpty(rs), mapErr("recordings", err)
}
