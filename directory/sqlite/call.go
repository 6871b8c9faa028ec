package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// callField is one column of calls: what a write stores from a
// directory.Call and where a read scans it.
type callField struct {
	col   string
	val   func(c *directory.Call) any
	dest  func(r *callRow) any
	fixed bool // set by CreateCall only; UpdateCall keeps it
}

// callRow is a call as scanned, with the columns that need converting.
type callRow struct {
	c                                               directory.Call
	caller, callee, group, started, answered, ended sql.NullInt64
	queueWait                                       int64
}

// callFields is the one list of the columns of calls but its ID.
var callFields = []callField{
	{"sip_call_id", func(c *directory.Call) any { return c.SIPCallID }, func(r *callRow) any { return &r.c.SIPCallID }, true},
	{"caller_id", func(c *directory.Call) any { return nullID(c.CallerID) }, func(r *callRow) any { return &r.caller }, false},
	{"callee_id", func(c *directory.Call) any { return nullID(c.CalleeID) }, func(r *callRow) any { return &r.callee }, false},
	{"group_id", func(c *directory.Call) any { return nullID(c.GroupID) }, func(r *callRow) any { return &r.group }, false},
	{"from_number", func(c *directory.Call) any { return c.From }, func(r *callRow) any { return &r.c.From }, false},
	{"to_number", func(c *directory.Call) any { return c.To }, func(r *callRow) any { return &r.c.To }, false},
	{"dialed", func(c *directory.Call) any { return c.Dialed }, func(r *callRow) any { return &r.c.Dialed }, false},
	{"direction", func(c *directory.Call) any { return string(c.Direction) }, func(r *callRow) any { return &r.c.Direction }, false},
	{"started_at", func(c *directory.Call) any { return micros(c.StartedAt) }, func(r *callRow) any { return &r.started }, true},
	{"answered_at", func(c *directory.Call) any { return micros(c.AnsweredAt) }, func(r *callRow) any { return &r.answered }, false},
	{"ended_at", func(c *directory.Call) any { return micros(c.EndedAt) }, func(r *callRow) any { return &r.ended }, false},
	{"disposition", func(c *directory.Call) any { return string(c.Disposition) },
		func(r *callRow) any { return &r.c.Disposition }, false},
	{"reason", func(c *directory.Call) any { return c.Reason }, func(r *callRow) any { return &r.c.Reason }, false},
	{"hangup_by", func(c *directory.Call) any { return c.HangupBy }, func(r *callRow) any { return &r.c.HangupBy }, false},
	{"node", func(c *directory.Call) any { return c.Node }, func(r *callRow) any { return &r.c.Node }, false},
	{"queue", func(c *directory.Call) any { return c.Queue }, func(r *callRow) any { return &r.c.Queue }, false},
	{"queue_wait_ms", func(c *directory.Call) any { return c.QueueWait.Milliseconds() }, func(r *callRow) any { return &r.queueWait }, false},
}

// callCols are the columns scanCall reads, from calls c; insertCallSQL
// takes callValues, updateCallSQL callUpdateValues and then the ID.
var callCols, insertCallSQL, updateCallSQL = func() (string, string, string) {
	var read, cols, set []string
	for _, f := range callFields {
		cols = append(cols, f.col)
		read = append(read, "c."+f.col)
		if !f.fixed {
			set = append(set, f.col+" = ?")
		}
	}
	return "c.id, " + strings.Join(read, ", "),
		"INSERT INTO calls (" + strings.Join(cols, ", ") + ") VALUES (" +
			strings.TrimSuffix(strings.Repeat("?, ", len(cols)), ", ") + ") RETURNING id",
		"UPDATE calls SET " + strings.Join(set, ", ") + " WHERE id = ?"
}()

// callValues are the values of callFields for c; callUpdateValues leaves
// out the fixed ones.
func callValues(c *directory.Call) []any {
	vals := make([]any, 0, len(callFields))
	for _, f := range callFields {
		vals = append(vals, f.val(c))
	}
	return vals
}

func callUpdateValues(c *directory.Call) []any {
	vals := make([]any, 0, len(callFields))
	for _, f := range callFields {
		if !f.fixed {
			vals = append(vals, f.val(c))
		}
	}
	return vals
}

func scanCall(sc scanner) (*directory.Call, error) {
	var r callRow
	dest := append(make([]any, 0, len(callFields)+1), &r.c.ID)
	for _, f := range callFields {
		dest = append(dest, f.dest(&r))
	}
	if err := sc.Scan(dest...); err != nil {
		return nil, err
	}
	c := &r.c
	c.CallerID, c.CalleeID, c.GroupID = r.caller.Int64, r.callee.Int64, r.group.Int64
	c.StartedAt, c.AnsweredAt, c.EndedAt = fromMicros(r.started), fromMicros(r.answered), fromMicros(r.ended)
	c.QueueWait = time.Duration(r.queueWait) * time.Millisecond
	return c, nil
}

// CreateCall stores a call row and sets c.ID.
func (s *Store) CreateCall(ctx context.Context, c *directory.Call) error {
	if err := c.Validate(); err != nil {
		return fmt.Errorf("create call: %w", err)
	}
	var id int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		return insertCall(ctx, tx, c).Scan(&id)
	})
	if err != nil {
		return fmt.Errorf("create call %s: %w", c.SIPCallID, err)
	}
	c.ID = id
	return nil
}

// UpdateCall rewrites every field of call c.ID but its SIP Call-ID and
// start.
func (s *Store) UpdateCall(ctx context.Context, c *directory.Call) error {
	if err := c.Validate(); err != nil {
		return fmt.Errorf("update call %d: %w", c.ID, err)
	}
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, updateCallSQL, append(callUpdateValues(c), c.ID)...)
		return oneRow(res, err)
	})
	if err != nil {
		return fmt.Errorf("update call %d: %w", c.ID, s.fail(err))
	}
	return nil
}

func insertCall(ctx context.Context, q querier, c *directory.Call) *sql.Row {
	return q.QueryRowContext(ctx, insertCallSQL, callValues(c)...)
}

// Call returns a call row.
func (s *Store) Call(ctx context.Context, id int64) (*directory.Call, error) {
	c, err := scanCall(s.rdb.QueryRowContext(ctx, `SELECT `+callCols+` FROM calls c WHERE c.id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("call %d: %w", id, s.fail(err))
	}
	return c, nil
}

// callVis is the visibility condition of calls c.
func callVis(vis directory.Visibility) (string, []any) {
	if vis.All {
		return "1", nil
	}
	a, aargs := inIDs("c.caller_id", vis.UserIDs)
	b, bargs := inIDs("c.callee_id", vis.UserIDs)
	return "(" + a + " OR " + b + ")", append(aargs, bargs...)
}

// callConds turns f, but for its visibility, into conditions over calls c.
func callConds(f directory.CallFilter) ([]string, []any) {
	var conds []string
	var args []any
	if !f.From.IsZero() {
		conds = append(conds, "c.started_at >= ?")
		args = append(args, f.From.UnixMicro())
	}
	if !f.To.IsZero() {
		conds = append(conds, "c.started_at < ?")
		args = append(args, f.To.UnixMicro())
	}
	if f.UserID != 0 {
		conds = append(conds, "(c.caller_id = ? OR c.callee_id = ?)")
		args = append(args, f.UserID, f.UserID)
	}
	if f.GroupID != 0 {
		conds = append(conds, `(c.caller_id IN (SELECT user_id FROM group_members WHERE group_id = ?)
			OR c.callee_id IN (SELECT user_id FROM group_members WHERE group_id = ?))`)
		args = append(args, f.GroupID, f.GroupID)
	}
	if n := f.NumberSearch(); n != "" {
		conds = append(conds, `(instr(c.from_number, ?) > 0 OR instr(c.to_number, ?) > 0 OR instr(c.dialed, ?) > 0)`)
		args = append(args, n, n, n)
	}
	if f.Disposition != "" {
		conds = append(conds, "c.disposition = ?")
		args = append(args, string(f.Disposition))
	}
	return conds, args
}

// callWhere turns f into a WHERE clause over calls c.
func callWhere(f directory.CallFilter) (string, []any) {
	vis, args := callVis(f.Vis)
	conds, cargs := callConds(f)
	return strings.Join(append([]string{vis}, conds...), " AND "), append(args, cargs...)
}

// Calls lists the calls f selects, newest first.
func (s *Store) Calls(ctx context.Context, f directory.CallFilter) ([]directory.Call, error) {
	where, args := callWhere(f)
	limit, offset := f.Page.Limit()
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+callCols+` FROM calls c WHERE `+where+`
		ORDER BY c.started_at DESC, c.id DESC LIMIT ? OFFSET ?`, append(args, limit, offset)...)
	if err != nil {
		return nil, fmt.Errorf("calls: %w", s.fail(err))
	}
	defer rows.Close()
	var cs []directory.Call
	for rows.Next() {
		c, err := scanCall(rows)
		if err != nil {
			return nil, fmt.Errorf("calls: %w", s.fail(err))
		}
		cs = append(cs, *c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("calls: %w", s.fail(err))
	}
	return cs, nil
}

// CountCalls counts the calls f selects, ignoring its page.
func (s *Store) CountCalls(ctx context.Context, f directory.CallFilter) (int, error) {
	where, args := callWhere(f)
	var n int
	if err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM calls c WHERE `+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("count calls: %w", s.fail(err))
	}
	return n, nil
}
