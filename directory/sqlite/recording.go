package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// recordingField is one column of recordings: what a write stores from a
// directory.Recording and where a read scans it.
type recordingField struct {
	col  string
	val  func(r *directory.Recording) any
	dest func(row *recordingRow) any
}

// recordingRow is a recording as scanned, with the columns that need
// converting.
type recordingRow struct {
	r                                directory.Recording
	ms                               int64
	created, updated, caller, callee sql.NullInt64
}

// recordingFields is the one list of the columns of recordings that
// UpdateRecording writes; CreateRecording writes the call and the times
// too, and recordingCols reads them all with the call's parties.
var recordingFields = []recordingField{
	{"path", func(r *directory.Recording) any { return r.Path }, func(row *recordingRow) any { return &row.r.Path }},
	{"size", func(r *directory.Recording) any { return r.Size }, func(row *recordingRow) any { return &row.r.Size }},
	{"duration_ms", func(r *directory.Recording) any { return r.Duration.Milliseconds() },
		func(row *recordingRow) any { return &row.ms }},
	{"sha256", func(r *directory.Recording) any { return r.SHA256 }, func(row *recordingRow) any { return &row.r.SHA256 }},
	{"state", func(r *directory.Recording) any { return string(r.State) }, func(row *recordingRow) any { return &row.r.State }},
	{"error", func(r *directory.Recording) any { return r.Error }, func(row *recordingRow) any { return &row.r.Error }},
}

// recordingCols are the columns of recordings r joined with calls c that
// scanRecording reads; insertRecordingSQL takes the call, recordingValues
// and the two times; updateRecordingSQL recordingValues, the time and the
// ID.
var recordingCols, insertRecordingSQL, updateRecordingSQL = func() (string, string, string) {
	var read, cols, set []string
	for _, f := range recordingFields {
		cols = append(cols, f.col)
		read = append(read, "r."+f.col)
		set = append(set, f.col+" = ?")
	}
	return "r.id, r.call_id, " + strings.Join(read, ", ") + ", r.created_at, r.updated_at, c.caller_id, c.callee_id",
		"INSERT INTO recordings (call_id, " + strings.Join(cols, ", ") + ", created_at, updated_at) VALUES (?, " +
			strings.Repeat("?, ", len(cols)) + "?, ?) RETURNING id",
		"UPDATE recordings SET " + strings.Join(set, ", ") + ", updated_at = ? WHERE id = ?"
}()

// recordingValues are the values of recordingFields for r.
func recordingValues(r *directory.Recording) []any {
	vals := make([]any, len(recordingFields))
	for i, f := range recordingFields {
		vals[i] = f.val(r)
	}
	return vals
}

func scanRecording(sc scanner) (*directory.Recording, error) {
	var row recordingRow
	dest := append(make([]any, 0, len(recordingFields)+6), &row.r.ID, &row.r.CallID)
	for _, f := range recordingFields {
		dest = append(dest, f.dest(&row))
	}
	if err := sc.Scan(append(dest, &row.created, &row.updated, &row.caller, &row.callee)...); err != nil {
		return nil, err
	}
	r := &row.r
	r.Duration = time.Duration(row.ms) * time.Millisecond
	r.CreatedAt, r.UpdatedAt = fromMicros(row.created), fromMicros(row.updated)
	r.CallerID, r.CalleeID = row.caller.Int64, row.callee.Int64
	return r, nil
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
		args := append(append([]any{r.CallID}, recordingValues(r)...), t.UnixMicro(), t.UnixMicro())
		err := tx.QueryRowContext(ctx, insertRecordingSQL, args...).Scan(&id)
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
		res, err := tx.ExecContext(ctx, updateRecordingSQL, append(recordingValues(r), now().UnixMicro(), r.ID)...)
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
	if len(f.CallIDs) > 0 {
		c, a := inIDs("r.call_id", f.CallIDs)
		conds, args = append(conds, c), append(args, a...)
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
	cc, cargs := callConds(f.Calls())
	conds, args = append(conds, cc...), append(args, cargs...)
	if f.Direction != "" {
		conds = append(conds, "c.direction = ?")
		args = append(args, string(f.Direction))
	}
	if f.MinDuration > 0 {
		conds = append(conds, "r.duration_ms >= ?")
		args = append(args, f.MinDuration.Milliseconds())
	}
	if f.MaxDuration > 0 {
		conds = append(conds, "r.duration_ms <= ?")
		args = append(args, f.MaxDuration.Milliseconds())
	}
	limit, offset := f.Page.Limit()
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+recordingCols+` FROM recordings r JOIN calls c ON c.id = r.call_id
		WHERE `+strings.Join(conds, " AND ")+`
		ORDER BY `+recordingOrder(f.Sort)+` LIMIT ? OFFSET ?`, append(args, limit, offset)...)
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

// recordingOrder is the ORDER BY of a recording list.
func recordingOrder(s directory.RecordingSort) string {
	switch s {
	case directory.RecordingOldest:
		return "r.created_at, r.id"
	case directory.RecordingLongest:
		return "r.duration_ms DESC, r.id DESC"
	case directory.RecordingShortest:
		return "r.duration_ms, r.id"
	}
	return "r.created_at DESC, r.id DESC"
}
