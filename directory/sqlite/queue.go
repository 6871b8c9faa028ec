package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

const queueCols = `q.id, q.number, q.name, q.group_id, q.strategy, q.ring_seconds, q.max_wait_seconds, q.max_callers,
	q.wrap_up_seconds, q.overflow, q.music, q.service_level_seconds, q.created_at`

func scanQueue(sc scanner) (*directory.Queue, error) {
	var q directory.Queue
	var group sql.NullInt64
	var created int64
	if err := sc.Scan(&q.ID, &q.Number, &q.Name, &group, &q.Strategy, &q.RingSeconds, &q.MaxWaitSeconds,
		&q.MaxCallers, &q.WrapUpSeconds, &q.Overflow, &q.Music, &q.ServiceLevelSeconds, &created); err != nil {
		return nil, err
	}
	q.GroupID, q.CreatedAt = group.Int64, time.UnixMicro(created).UTC()
	return &q, nil
}

// queueErr maps the constraints a queue write can run into.
func queueErr(err error) error {
	switch {
	case isUnique(err):
		return directory.ErrQueueNumberTaken
	case isForeignKey(err):
		return directory.ErrUnknownDept
	}
	return err
}

// writeQueue checks q's number against the extensions of users and groups
// (SQLite has one writer: the check holds until the transaction ends),
// then inserts (q.ID 0) or updates q and replaces its members.
func writeQueue(ctx context.Context, tx *sql.Tx, q *directory.Queue, created time.Time) error {
	var taken bool
	if err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM extensions WHERE number = ?)`,
		q.Number).Scan(&taken); err != nil {
		return err
	}
	if taken {
		return directory.ErrQueueNumberTaken
	}
	args := []any{q.Number, q.Name, nullID(q.GroupID), q.Strategy, q.RingSeconds, q.MaxWaitSeconds, q.MaxCallers,
		q.WrapUpSeconds, q.Overflow, q.Music, q.ServiceLevelSeconds}
	if q.ID == 0 {
		err := tx.QueryRowContext(ctx, `INSERT INTO queues (number, name, group_id, strategy, ring_seconds,
			max_wait_seconds, max_callers, wrap_up_seconds, overflow, music, service_level_seconds, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, append(args, created.UnixMicro())...).Scan(&q.ID)
		if err != nil {
			return queueErr(err)
		}
	} else {
		res, err := tx.ExecContext(ctx, `UPDATE queues SET number = ?, name = ?, group_id = ?, strategy = ?,
			ring_seconds = ?, max_wait_seconds = ?, max_callers = ?, wrap_up_seconds = ?, overflow = ?, music = ?,
			service_level_seconds = ? WHERE id = ?`, append(args, q.ID)...)
		if err := oneRow(res, queueErr(err)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM queue_members WHERE queue_id = ?`, q.ID); err != nil {
			return err
		}
	}
	for i, id := range q.Members {
		_, err := tx.ExecContext(ctx, `INSERT INTO queue_members (queue_id, user_id, position) VALUES (?, ?, ?)`,
			q.ID, id, i)
		if isForeignKey(err) {
			return directory.ErrQueueMember
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// CreateQueue stores q with its members and sets its ID and creation time.
func (s *Store) CreateQueue(ctx context.Context, q *directory.Queue) error {
	if err := q.Validate(); err != nil {
		return fmt.Errorf("create queue: %w", err)
	}
	t := now()
	q.ID = 0
	if err := s.write(ctx, func(tx *sql.Tx) error { return writeQueue(ctx, tx, q, t) }); err != nil {
		q.ID = 0
		return fmt.Errorf("create queue: %w", err)
	}
	q.CreatedAt = t
	return nil
}

// UpdateQueue writes every field of q but its creation time.
func (s *Store) UpdateQueue(ctx context.Context, q *directory.Queue) error {
	if err := q.Validate(); err != nil {
		return fmt.Errorf("update queue %d: %w", q.ID, err)
	}
	if q.ID <= 0 {
		return fmt.Errorf("update queue %d: %w", q.ID, directory.ErrNotFound)
	}
	if err := s.write(ctx, func(tx *sql.Tx) error { return writeQueue(ctx, tx, q, time.Time{}) }); err != nil {
		return fmt.Errorf("update queue %d: %w", q.ID, err)
	}
	return nil
}

// DeleteQueue deletes a queue and its members.
func (s *Store) DeleteQueue(ctx context.Context, id int64) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		return oneRow(tx.ExecContext(ctx, `DELETE FROM queues WHERE id = ?`, id))
	})
	if err != nil {
		return fmt.Errorf("delete queue %d: %w", id, err)
	}
	return nil
}

// Queue returns one queue with its members.
func (s *Store) Queue(ctx context.Context, id int64) (*directory.Queue, error) {
	list, err := s.queues(ctx, `WHERE q.id = ?`, id)
	if err == nil && len(list) == 0 {
		err = directory.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("queue %d: %w", id, err)
	}
	return &list[0], nil
}

// QueueByNumber finds a queue by its number.
func (s *Store) QueueByNumber(ctx context.Context, number string) (*directory.Queue, error) {
	list, err := s.queues(ctx, `WHERE q.number = ?`, number)
	if err == nil && len(list) == 0 {
		err = directory.ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("queue %s: %w", number, err)
	}
	return &list[0], nil
}

// Queues lists every queue by number.
func (s *Store) Queues(ctx context.Context) ([]directory.Queue, error) {
	list, err := s.queues(ctx, ``)
	if err != nil {
		return nil, fmt.Errorf("queues: %w", err)
	}
	return list, nil
}

// queues reads the queues where selects, with their members.
func (s *Store) queues(ctx context.Context, where string, args ...any) ([]directory.Queue, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+queueCols+` FROM queues q `+where+` ORDER BY q.number`, args...)
	if err != nil {
		return nil, s.fail(err)
	}
	var out []directory.Queue
	byID := map[int64]int{}
	for rows.Next() {
		q, err := scanQueue(rows)
		if err != nil {
			rows.Close()
			return nil, s.fail(err)
		}
		byID[q.ID] = len(out)
		out = append(out, *q)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.fail(err)
	}
	if len(out) == 0 {
		return out, nil
	}
	mrows, err := s.rdb.QueryContext(ctx, `SELECT queue_id, user_id FROM queue_members ORDER BY queue_id, position`)
	if err != nil {
		return nil, s.fail(err)
	}
	defer mrows.Close()
	for mrows.Next() {
		var qid, uid int64
		if err := mrows.Scan(&qid, &uid); err != nil {
			return nil, s.fail(err)
		}
		if i, ok := byID[qid]; ok {
			out[i].Members = append(out[i].Members, uid)
		}
	}
	return out, s.fail(mrows.Err())
}

// SetQueueAgent records an agent's login state (nil: logged out).
func (s *Store) SetQueueAgent(ctx context.Context, userID int64, a *directory.QueueAgent) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		if a == nil {
			_, err := tx.ExecContext(ctx, `DELETE FROM queue_agents WHERE user_id = ?`, userID)
			return err
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO queue_agents (user_id, paused, reason) VALUES (?, ?, ?)
			ON CONFLICT (user_id) DO UPDATE SET paused = excluded.paused, reason = excluded.reason`,
			userID, a.Paused, a.Reason)
		if isForeignKey(err) {
			return &directory.InvalidError{Field: "user", Rule: "does not exist"}
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("queue agent %d: %w", userID, err)
	}
	return nil
}

// QueueAgents lists the agents logged in.
func (s *Store) QueueAgents(ctx context.Context) ([]directory.QueueAgent, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT user_id, paused, reason FROM queue_agents ORDER BY user_id`)
	if err != nil {
		return nil, fmt.Errorf("queue agents: %w", s.fail(err))
	}
	defer rows.Close()
	var out []directory.QueueAgent
	for rows.Next() {
		var a directory.QueueAgent
		if err := rows.Scan(&a.UserID, &a.Paused, &a.Reason); err != nil {
			return nil, fmt.Errorf("queue agents: %w", s.fail(err))
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("queue agents: %w", s.fail(err))
	}
	return out, nil
}
