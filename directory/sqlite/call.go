package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/switchboard-pbx/switchboard/directory"
)

const callCols = `c.id, c.sip_call_id, c.caller_id, c.callee_id, c.group_id, c.from_number, c.to_number, c.dialed,
	c.direction, c.started_at, c.answered_at, c.ended_at, c.disposition, c.reason, c.hangup_by, c.node`

func scanCall(sc scanner) (*directory.Call, error) {
	var c directory.Call
	var caller, callee, group, started, answered, ended sql.NullInt64
	err := sc.Scan(&c.ID, &c.SIPCallID, &caller, &callee, &group, &c.From, &c.To, &c.Dialed,
		&c.Direction, &started, &answered, &ended, &c.Disposition, &c.Reason, &c.HangupBy, &c.Node)
	if err != nil {
		return nil, err
	}
	c.CallerID, c.CalleeID, c.GroupID = caller.Int64, callee.Int64, group.Int64
	c.StartedAt, c.AnsweredAt, c.EndedAt = fromMicros(started), fromMicros(answered), fromMicros(ended)
	return &c, nil
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
		res, err := tx.ExecContext(ctx, `UPDATE calls SET caller_id = ?, callee_id = ?, group_id = ?,
				from_number = ?, to_number = ?, dialed = ?, direction = ?, answered_at = ?, ended_at = ?,
				disposition = ?, reason = ?, hangup_by = ?, node = ?
			WHERE id = ?`,
			nullID(c.CallerID), nullID(c.CalleeID), nullID(c.GroupID), c.From, c.To, c.Dialed,
			string(c.Direction), micros(c.AnsweredAt), micros(c.EndedAt), string(c.Disposition),
			c.Reason, c.HangupBy, c.Node, c.ID)
		return oneRow(res, err)
	})
	if err != nil {
		return fmt.Errorf("update call %d: %w", c.ID, s.fail(err))
	}
	return nil
}

func insertCall(ctx context.Context, q querier, c *directory.Call) *sql.Row {
	return q.QueryRowContext(ctx, `INSERT INTO calls (sip_call_id, caller_id, callee_id, group_id, from_number,
			to_number, dialed, direction, started_at, answered_at, ended_at, disposition, reason, hangup_by, node)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		c.SIPCallID, nullID(c.CallerID), nullID(c.CalleeID), nullID(c.GroupID), c.From, c.To, c.Dialed,
		string(c.Direction), micros(c.StartedAt), micros(c.AnsweredAt), micros(c.EndedAt), string(c.Disposition),
		c.Reason, c.HangupBy, c.Node)
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
