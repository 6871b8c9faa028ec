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
	c               directory.Call
	dir, disp       string
	answered, ended *time.Time
	queueWait       int64
}

// callFields is the one list of the columns of calls but its ID.
var callFields = []callField{
	{"sip_call_id", func(c *directory.Call) any { return c.SIPCallID }, func(r *callRow) any { return &r.c.SIPCallID }, true},
	{"caller_id", func(c *directory.Call) any { return nullID(c.CallerID) }, func(r *callRow) any { return zeroNull{&r.c.CallerID} }, false},
	{"callee_id", func(c *directory.Call) any { return nullID(c.CalleeID) }, func(r *callRow) any { return zeroNull{&r.c.CalleeID} }, false},
	{"group_id", func(c *directory.Call) any { return nullID(c.GroupID) }, func(r *callRow) any { return zeroNull{&r.c.GroupID} }, false},
	{"from_number", func(c *directory.Call) any { return c.From }, func(r *callRow) any { return &r.c.From }, false},
	{"to_number", func(c *directory.Call) any { return c.To }, func(r *callRow) any { return &r.c.To }, false},
	{"dialed", func(c *directory.Call) any { return c.Dialed }, func(r *callRow) any { return &r.c.Dialed }, false},
	{"direction", func(c *directory.Call) any { return string(c.Direction) }, func(r *callRow) any { return &r.dir }, false},
	{"started_at", func(c *directory.Call) any { return c.StartedAt }, func(r *callRow) any { return &r.c.StartedAt }, true},
	{"answered_at", func(c *directory.Call) any { return nullTime(c.AnsweredAt) }, func(r *callRow) any { return &r.answered }, false},
	{"ended_at", func(c *directory.Call) any { return nullTime(c.EndedAt) }, func(r *callRow) any { return &r.ended }, false},
	{"disposition", func(c *directory.Call) any { return string(c.Disposition) }, func(r *callRow) any { return &r.disp }, false},
	{"reason", func(c *directory.Call) any { return c.Reason }, func(r *callRow) any { return &r.c.Reason }, false},
	{"hangup_by", func(c *directory.Call) any { return c.HangupBy }, func(r *callRow) any { return &r.c.HangupBy }, false},
	{"node", func(c *directory.Call) any { return c.Node }, func(r *callRow) any { return &r.c.Node }, false},
	{"queue", func(c *directory.Call) any { return c.Queue }, func(r *callRow) any { return &r.c.Queue }, false},
	{"queue_wait_ms", func(c *directory.Call) any { return c.QueueWait.Milliseconds() }, func(r *callRow) any { return &r.queueWait }, false},
}

// callColumns are read by scanCall, from calls aliased c; insertCallSQL
// takes callValues, updateCallSQL the ID and then callUpdateValues.
var callColumns, insertCallSQL, updateCallSQL = func() (string, string, string) {
	var read, cols, vals, set []string
	for i, f := range callFields {
		cols = append(cols, f.col)
		vals = append(vals, "$"+strconv.Itoa(i+1))
		read = append(read, "c."+f.col)
		if !f.fixed {
			set = append(set, f.col+" = $"+strconv.Itoa(len(set)+2))
		}
	}
	return "c.id, " + strings.Join(read, ", "),
		"INSERT INTO calls (" + strings.Join(cols, ", ") + ") VALUES (" + strings.Join(vals, ", ") + ") RETURNING id",
		"UPDATE calls SET " + strings.Join(set, ", ") + " WHERE id = $1"
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

func scanCall(row pgx.Row) (directory.Call, error) {
	var r callRow
	dest := append(make([]any, 0, len(callFields)+1), &r.c.ID)
	for _, f := range callFields {
		dest = append(dest, f.dest(&r))
	}
	err := row.Scan(dest...)
	c := r.c
	c.Direction, c.Disposition = directory.Direction(r.dir), directory.Disposition(r.disp)
	c.StartedAt = c.StartedAt.UTC()
	c.AnsweredAt, c.EndedAt = timeOf(r.answered), timeOf(r.ended)
	c.QueueWait = time.Duration(r.queueWait) * time.Millisecond
	return c, err
}

func scanCallRow(r pgx.CollectableRow) (directory.Call, error) { return scanCall(r) }

// CreateCall stores a call row and sets c.ID.
func (s *Store) CreateCall(ctx context.Context, c *directory.Call) error {
	if err := c.Validate(); err != nil {
		return fmt.Errorf("create call: %w", err)
	}
	err := s.pool.QueryRow(ctx, insertCallSQL, callValues(c)...).Scan(&c.ID)
	return mapErr("create call", err)
}

// UpdateCall rewrites every field of call c.ID but its SIP Call-ID and
// start.
func (s *Store) UpdateCall(ctx context.Context, c *directory.Call) error {
	if err := c.Validate(); err != nil {
		return fmt.Errorf("update call %d: %w", c.ID, err)
	}
	tag, err := s.pool.Exec(ctx, updateCallSQL, append([]any{c.ID}, callUpdateValues(c)...)...)
	if err == nil && tag.RowsAffected() == 0 {
		err = directory.ErrNotFound
	}
	return mapErr(fmt.Sprintf("update call %d", c.ID), err)
}

// Call returns one call row.
func (s *Store) Call(ctx context.Context, id int64) (*directory.Call, error) {
	c, err := scanCall(s.pool.QueryRow(ctx, "SELECT "+callColumns+" FROM calls c WHERE c.id = $1", id))
	if err != nil {
		return nil, mapErr(fmt.Sprintf("call %d", id), err)
	}
	return &c, nil
}

// callConds adds the conditions of f on calls c but the users it is about,
// which are the key of the query (see callPlan); visible adds visibility as
// a condition too.
func callConds(w *where, f directory.CallFilter, visible bool) {
	if !f.From.IsZero() {
		w.add("c.started_at >= " + w.arg(f.From))
	}
	if !f.To.IsZero() {
		w.add("c.started_at < " + w.arg(f.To))
	}
	if visible && !f.Vis.All {
		w.add(fmt.Sprintf("(c.caller_id = ANY(%[1]s) OR c.callee_id = ANY(%[1]s))", w.arg(ids(f.Vis.UserIDs))))
	}
	if f.GroupID != 0 {
		w.add(fmt.Sprintf("(c.caller_id IN (SELECT user_id FROM group_members WHERE group_id = %[1]s)"+
			" OR c.callee_id IN (SELECT user_id FROM group_members WHERE group_id = %[1]s))", w.arg(f.GroupID)))
	}
	if n := f.NumberSearch(); n != "" {
		w.add(fmt.Sprintf("(strpos(c.from_number, %[1]s) > 0 OR strpos(c.to_number, %[1]s) > 0"+
			" OR strpos(c.dialed, %[1]s) > 0)", w.arg(n)))
	}
	if f.Disposition != "" {
		w.add("c.disposition = " + w.arg(string(f.Disposition)))
	}
}

// Thresholds of callPlan. Merging per-user ranges reads up to one page
// (times the page number) per user and side, whatever the share of the
// calls the users have; walking everyone's calls newest first reads about a
// page divided by that share. Measured on a million calls (bench_test.go),
// the merge wins below about one user in twenty, and loses beyond a few
// hundred users whatever the share.
const (
	mergeMaxUsers = 200
	mergeMaxShare = 20 // users * mergeMaxShare < all users
)

// callPlan decides how to find the calls of f: for the calls of users
// (users not nil) by merging their index ranges, or by walking everyone's
// calls newest first (users nil), testing the visibility there.
func (s *Store) callPlan(ctx context.Context, f directory.CallFilter) (users []int64, err error) {
	if f.UserID != 0 {
		return []int64{f.UserID}, nil
	}
	if f.Vis.All {
		return nil, nil
	}
	users = ids(f.Vis.UserIDs)
	switch {
	case len(users) <= 1:
		return users, nil
	case len(users) > mergeMaxUsers:
		return nil, nil
	}
	var all int64
	if err := s.pool.QueryRow(ctx, "SELECT count(*) FROM users").Scan(&all); err != nil {
		return nil, err
	}
	if int64(len(users))*mergeMaxShare < all {
		return users, nil
	}
	return nil, nil
}

// Calls lists calls newest first (started_at, then ID, descending). Both
// ways of finding a page (see callPlan and the indexes in the migration)
// first pick the IDs of the page from the indexes, without reading the
// table, then read only those rows.
//
// The calls of a few users are not found with "caller_id = ANY(…) OR
// callee_id = ANY(…)": the planner would gather every call of every user
// and sort them all. Each user's newest calls as caller and as callee are
// instead read from their index ranges, at most one page deep each, and
// merged; a call between two of the users comes from the caller side only,
// so it is listed once.
func (s *Store) Calls(ctx context.Context, f directory.CallFilter) ([]directory.Call, error) {
	users, err := s.callPlan(ctx, f)
	if err != nil {
		return nil, mapErr("calls", err)
	}
	q, args := callsQuery(f, users)
	rows, err := s.pool.Query(ctx, q, append([]any{customPlan}, args...)...)
	if err != nil {
		return nil, mapErr("calls", err)
	}
	cs, err := pgx.CollectRows(rows, scanCallRow)
	return nilIfEmpty(cs), mapErr("calls", err)
}

// callsQuery returns the SQL and arguments of Calls, merging the index
// ranges of users or, when users is nil, walking everyone's calls.
func callsQuery(f directory.CallFilter, users []int64) (string, []any) {
	limit, offset := f.Page.Limit()
	w := &where{}
	var page string
	if users == nil {
		callConds(w, f, true)
		page = "SELECT c.id FROM calls c" + w.sql() +
			" ORDER BY c.started_at DESC, c.id DESC LIMIT " + w.arg(limit) + " OFFSET " + w.arg(offset)
	} else {
		u := w.arg(users)
		depth := w.arg(limit + offset)
		callConds(w, f, f.UserID != 0)
		and := ""
		for _, c := range w.conds {
			and += " AND " + c
		}
		page = fmt.Sprintf(`SELECT m.id FROM (
				SELECT x.* FROM unnest(%[1]s::int8[]) AS u (id) CROSS JOIN LATERAL (
					SELECT c.id, c.started_at FROM calls c WHERE c.caller_id = u.id%[3]s
					ORDER BY c.started_at DESC, c.id DESC LIMIT %[2]s) x
				UNION ALL
				SELECT x.* FROM unnest(%[1]s::int8[]) AS u (id) CROSS JOIN LATERAL (
					SELECT c.id, c.started_at FROM calls c WHERE c.callee_id = u.id
						AND (c.caller_id IS NULL OR NOT c.caller_id = ANY(%[1]s))%[3]s
					ORDER BY c.started_at DESC, c.id DESC LIMIT %[2]s) x
			) m
			ORDER BY m.started_at DESC, m.id DESC LIMIT %[4]s OFFSET %[5]s`,
			u, depth, and, w.arg(limit), w.arg(offset))
	}
	return "SELECT " + callColumns + " FROM calls c JOIN (" + page + ") p USING (id)" +
		" ORDER BY c.started_at DESC, c.id DESC", w.args
}

// customPlan makes pgx send a call history query unprepared, so that
// PostgreSQL plans it for the users and page at hand. A prepared statement
// switches to a generic plan after five runs, and the best plan for 40
// users is not the best for 400 (measured: a count went from 51 ms to
// 154 ms).
const customPlan = pgx.QueryExecModeExec

// countMaxUsers is the most users whose calls CountCalls counts through
// their index entries (as caller, plus as callee from outside the set);
// beyond, scanning every call is faster.
const countMaxUsers = 1000

// CountCalls counts what Calls would list on all pages.
func (s *Store) CountCalls(ctx context.Context, f directory.CallFilter) (int, error) {
	q, args := countCallsQuery(f, countPlan(f))
	var n int
	err := s.pool.QueryRow(ctx, q, append([]any{customPlan}, args...)...).Scan(&n)
	return n, mapErr("count calls", err)
}

// countPlan returns the users whose index entries CountCalls counts, or nil
// to count by scanning.
func countPlan(f directory.CallFilter) []int64 {
	switch {
	case f.UserID != 0:
		return []int64{f.UserID}
	case !f.Vis.All && len(f.Vis.UserIDs) <= countMaxUsers:
		return ids(f.Vis.UserIDs)
	}
	return nil
}

// countCallsQuery returns the SQL and arguments of CountCalls: the calls
// of users as caller plus their calls as callee from outside the set or,
// when users is nil, every call that passes the filter.
func countCallsQuery(f directory.CallFilter, users []int64) (string, []any) {
	w := &where{}
	if users == nil {
		callConds(w, f, true)
		return "SELECT count(*) FROM calls c" + w.sql(), w.args
	}
	u := w.arg(users)
	callConds(w, f, f.UserID != 0)
	and := ""
	for _, c := range w.conds {
		and += " AND " + c
	}
	return fmt.Sprintf(`SELECT (SELECT count(*) FROM calls c WHERE c.caller_id = ANY(%[1]s)%[2]s)
		+ (SELECT count(*) FROM calls c WHERE c.callee_id = ANY(%[1]s)
			AND (c.caller_id IS NULL OR NOT c.caller_id = ANY(%[1]s))%[2]s)`, u, and), w.args
}
