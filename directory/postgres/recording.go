package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

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
	r     directory.Recording
	ms    int64
	state string
}

// recordingFields is the one list of the columns of recordings that
// UpdateRecording writes; CreateRecording writes the call too, and
// recordingColumns reads them all with the times and the call's parties.
var recordingFields = []recordingField{
	{"path", func(r *directory.Recording) any { return r.Path }, func(row *recordingRow) any { return &row.r.Path }},
	{"size", func(r *directory.Recording) any { return r.Size }, func(row *recordingRow) any { return &row.r.Size }},
	{"duration_ms", func(r *directory.Recording) any { return r.Duration.Milliseconds() },
		func(row *recordingRow) any { return &row.ms }},
	{"sha256", func(r *directory.Recording) any { return r.SHA256 }, func(row *recordingRow) any { return &row.r.SHA256 }},
	{"state", func(r *directory.Recording) any { return string(r.State) }, func(row *recordingRow) any { return &row.state }},
	{"error", func(r *directory.Recording) any { return r.Error }, func(row *recordingRow) any { return &row.r.Error }},
}

// recordingColumns are read by scanRecording, from recordings r joined to
// their calls c; insertRecordingSQL takes the call and recordingValues,
// updateRecordingSQL the ID and recordingValues; both return the call,
// the times and the call's parties.
var recordingColumns, insertRecordingSQL, updateRecordingSQL = func() (string, string, string) {
	var read, cols, vals, set []string
	for i, f := range recordingFields {
		cols = append(cols, f.col)
		read = append(read, "r."+f.col)
		vals = append(vals, "$"+strconv.Itoa(i+2))
		set = append(set, f.col+" = $"+strconv.Itoa(i+2))
	}
	const parties = `)
		SELECT r.call_id, r.created_at, r.updated_at, coalesce(c.caller_id, 0), coalesce(c.callee_id, 0)
		FROM r JOIN calls c ON c.id = r.call_id`
	return "r.id, r.call_id, " + strings.Join(read, ", ") +
			", r.created_at, r.updated_at, coalesce(c.caller_id, 0), coalesce(c.callee_id, 0)",
		"WITH r AS (INSERT INTO recordings (call_id, " + strings.Join(cols, ", ") + ") VALUES ($1, " +
			strings.Join(vals, ", ") + ") RETURNING id, call_id, created_at, updated_at" +
			strings.Replace(parties, "SELECT r.call_id", "SELECT r.id", 1),
		"WITH r AS (UPDATE recordings SET " + strings.Join(set, ", ") + ", updated_at = now() WHERE id = $1" +
			" RETURNING call_id, created_at, updated_at" + parties
}()

// recordingValues are the values of recordingFields for r.
func recordingValues(r *directory.Recording) []any {
	vals := make([]any, len(recordingFields))
	for i, f := range recordingFields {
		vals[i] = f.val(r)
	}
	return vals
}

func scanRecording(row pgx.Row) (directory.Recording, error) {
	var rr recordingRow
	dest := append(make([]any, 0, len(recordingFields)+6), &rr.r.ID, &rr.r.CallID)
	for _, f := range recordingFields {
		dest = append(dest, f.dest(&rr))
	}
	err := row.Scan(append(dest, &rr.r.CreatedAt, &rr.r.UpdatedAt, &rr.r.CallerID, &rr.r.CalleeID)...)
	r := rr.r
	r.Duration = time.Duration(rr.ms) * time.Millisecond
	r.State = directory.RecordingState(rr.state)
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
	err := s.pool.QueryRow(ctx, insertRecordingSQL, append([]any{r.CallID}, recordingValues(r)...)...).
		Scan(&r.ID, &r.CreatedAt, &r.UpdatedAt, &r.CallerID, &r.CalleeID)
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
	err := s.pool.QueryRow(ctx, updateRecordingSQL, append([]any{r.ID}, recordingValues(r)...)...).
		Scan(&r.CallID, &r.CreatedAt, &r.UpdatedAt, &r.CallerID, &r.CalleeID)
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
	if len(f.CallIDs) > 0 {
		w.add("r.call_id = ANY(" + w.arg(ids(f.CallIDs)) + ")")
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
	callConds(w, f.Calls(), false) // visibility is above
	if f.UserID != 0 {
		w.add(fmt.Sprintf("(c.caller_id = %[1]s OR c.callee_id = %[1]s)", w.arg(f.UserID)))
	}
	if f.Direction != "" {
		w.add("c.direction = " + w.arg(string(f.Direction)))
	}
	if f.MinDuration > 0 {
		w.add("r.duration_ms >= " + w.arg(f.MinDuration.Milliseconds()))
	}
	if f.MaxDuration > 0 {
		w.add("r.duration_ms <= " + w.arg(f.MaxDuration.Milliseconds()))
	}
	limit, offset := f.Page.Limit()
	rows, err := s.pool.Query(ctx, "SELECT "+recordingColumns+" FROM recordings r JOIN calls c ON c.id = r.call_id"+
		w.sql()+" ORDER BY "+recordingOrder(f.Sort)+" LIMIT "+w.arg(limit)+" OFFSET "+w.arg(offset), w.args...)
	if err != nil {
		return nil, mapErr("recordings", err)
	}
	rs, err := pgx.CollectRows(rows, scanRecordingRow)
	return nilIfEmpty(rs), mapErr("recordings", err)
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
