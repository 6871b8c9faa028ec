package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// recordingCols are the columns of recordings r joined with calls c.
const recordingCols = `r.id, r.call_id, r.path, r.size, r.duration_ms, r.sha256, r.state, r.error, r.created_at,
	r.updated_at, c.caller_id, c.callee_id`

func scanRecording(sc scanner) (*directory.Recording, error) {
	var r directory.Recording
	var ms int64
	var created, updated, caller, callee sql.NullInt64
	err := sc.Scan(&r.ID, &r.CallID, &r.Path, &r.Size, &ms, &r.SHA256, &r.State, &r.Error, &created, &updated,
		&caller, &callee)
	if err != nil {
		return nil, err
	}
	r.Duration = time.Duration(ms) * time.Millisecond
	r.CreatedAt, r.UpdatedAt = fromMicros(created), fromMicros(updated)
	r.CallerID, r.CalleeID = caller.Int64, callee.Int64
	return &r, nil
}

func getRecording(ctx context.Context, q querier, id int64) (*directory.Recording, error) {
	return scanRecording(q.QueryRowContext(ctx, `SELECT `+recordingCols+`
		FROM recordings r JOIN calls c ON c.id = r.call_id WHERE r.id = ?`, id))
}

// CreateRecording stores the metadata of a recording of an existing call
// and sets r.ID, the times and the call's caller and callee.
func (s *Store) CreateRecording(ctx context.Context, r *directory.Recording) error {
	if err := r.Check(); err != nil {
		return fmt.Errorf("create recording of call %d: %w", r.CallID, err)
	}
	t := now()
	var got *directory.Recording
	err := s.write(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `INSERT INTO recordings (call_id, path, size, duration_ms, sha256, state, error,
				created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			r.CallID, r.Path, r.Size, r.Duration.Milliseconds(), r.SHA256, string(r.State), r.Error,
			t.UnixMicro(), t.UnixMicro()).Scan(&id)
		if isForeignKey(err) {
			return directory.ErrUnknownCall
		}
		if err != nil {
			return err
		}
		got, err = getRecording(ctx, tx, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("create recording of call %d: %w", r.CallID, err)
	}
	*r = *got
	return nil
}

// UpdateRecording writes every field of r but its call and creation time,
// which it fills in.
func (s *Store) UpdateRecording(ctx context.Context, r *directory.Recording) error {
	if err := r.Check(); err != nil {
		return fmt.Errorf("update recording %d: %w", r.ID, err)
	}
	var got *directory.Recording
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE recordings SET path = ?, size = ?, duration_ms = ?, sha256 = ?,
				state = ?, error = ?, updated_at = ?
			WHERE id = ?`, r.Path, r.Size, r.Duration.Milliseconds(), r.SHA256, string(r.State), r.Error,
			now().UnixMicro(), r.ID)
		if err := oneRow(res, err); err != nil {
			return err
		}
		got, err = getRecording(ctx, tx, r.ID)
		return err
	})
	if err != nil {
		return fmt.Errorf("update recording %d: %w", r.ID, err)
	}
	*r = *got
	return nil
}

// Recording returns the metadata of a recording.
func (s *Store) Recording(ctx context.Context, id int64) (*directory.Recording, error) {
	r, err := getRecording(ctx, s.rdb, id)
	if err != nil {
		return nil, fmt.Errorf("recording %d: %w", id, s.fail(err))
	}
	return r, nil
}

// Recordings lists the recordings f selects, newest first.
func (s *Store) Recordings(ctx context.Context, f directory.RecordingFilter) ([]directory.Recording, error) {
	where, args := callVis(f.Vis)
	conds := []string{where}
	if f.CallID != 0 {
		conds = append(conds, "r.call_id = ?")
		args = append(args, f.CallID)
	}
	if len(f.States) == 0 {
		conds = append(conds, "r.state <> ?")
		args = append(args, string(directory.RecordingDeleted))
	} else {
		conds = append(conds, "r.state IN ("+strings.TrimSuffix(strings.Repeat("?, ", len(f.States)), ", ")+")")
		for _, st := range f.States {
			args = append(args, string(st))
		}
	}
	if !f.Before.IsZero() {
		conds = append(conds, "r.created_at < ?")
		args = append(args, f.Before.UnixMicro())
	}
	limit, offset := f.Page.Limit()
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+recordingCols+` FROM recordings r JOIN calls c ON c.id = r.call_id
		WHERE `+strings.Join(conds, " AND ")+`
		ORDER BY r.created_at DESC, r.id DESC LIMIT ? OFFSET ?`, append(args, limit, offset)...)
	if err != nil {
		return nil, fmt.Errorf("recordings: %w", s.fail(err))
	}
	defer rows.Close()
	var rs []directory.Recording
	for rows.Next() {
		r, err := scanRecording(rows)
		if err != nil {
			return nil, fmt.Errorf("recordings: %w", s.fail(err))
		}
		rs = append(rs, *r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("recordings: %w", s.fail(err))
	}
	return rs, nil
}
