package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/switchboard-pbx/switchboard/directory"
)

const queueCols = `q.id, q.number, q.name, q.group_id, q.strategy, q.ring_seconds, q.max_wait_seconds, q.max_callers,
	q.wrap_up_seconds, q.overflow, q.music, q.service_level_seconds, q.created_at`

// queueConstraints are the constraints of migration 00017, by name.
var queueConstraints = map[string]error{
	"queues_number_key":          directory.ErrQueueNumberTaken,
	"queues_group_id_fkey":       directory.ErrUnknownDept,
	"queue_members_user_id_fkey": directory.ErrQueueMember,
}

func queueErr(op string, err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "23505" || pe.Code == "23503") {
		if known := queueConstraints[pe.ConstraintName]; known != nil {
			return fmt.Errorf("%s: %w", op, known)
		}
	}
	return mapErr(op, err)
}

func scanQueue(row pgx.Row) (directory.Queue, error) {
	var q directory.Queue
	var group *int64
	err := row.Scan(&q.ID, &q.Number, &q.Name, &group, &q.Strategy, &q.RingSeconds, &q.MaxWaitSeconds,
		&q.MaxCallers, &q.WrapUpSeconds, &q.Overflow, &q.Music, &q.ServiceLevelSeconds, &q.CreatedAt)
	if group != nil {
		q.GroupID = *group
	}
	q.CreatedAt = q.CreatedAt.UTC()
	return q, err
}

// writeQueue inserts (q.ID 0) or updates q and replaces its members; the
// trigger of migration 00017 keeps its number off the extensions.
func writeQueue(ctx context.Context, tx pgx.Tx, q *directory.Queue) error {
	args := []any{q.Number, q.Name, nullID(q.GroupID), q.Strategy, q.RingSeconds, q.MaxWaitSeconds, q.MaxCallers,
		q.WrapUpSeconds, q.Overflow, q.Music, q.ServiceLevelSeconds}
	if q.ID == 0 {
		if err := tx.QueryRow(ctx, `INSERT INTO queues (number, name, group_id, strategy, ring_seconds,
			max_wait_seconds, max_callers, wrap_up_seconds, overflow, music, service_level_seconds)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id, created_at`, args...).Scan(&q.ID,
			&q.CreatedAt); err != nil {
			return err
		}
		q.CreatedAt = q.CreatedAt.UTC()
	} else {
		tag, err := tx.Exec(ctx, `UPDATE queues SET number = $1, name = $2, group_id = $3, strategy = $4,
			ring_seconds = $5, max_wait_seconds = $6, max_callers = $7, wrap_up_seconds = $8, overflow = $9,
			music = $10, service_level_seconds = $11 WHERE id = $12`, append(args, q.ID)...)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return directory.ErrNotFound
		}
		if _, err := tx.Exec(ctx, `DELETE FROM queue_members WHERE queue_id = $1`, q.ID); err != nil {
			return err
		}
	}
	for i, id := range q.Members {
		if _, err := tx.Exec(ctx, `INSERT INTO queue_members (queue_id, user_id, position) VALUES ($1, $2, $3)`,
			q.ID, id, i); err != nil {
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
	q.ID = 0
	if err := s.inTx(ctx, func(tx pgx.Tx) error { return writeQueue(ctx, tx, q) }); err != nil {
		q.ID = 0
		return queueErr("create queue", err)
	}
	return nil
}

// UpdateQueue writes every field of q but its creation time.
func (s *Store) UpdateQueue(ctx context.Context, q *directory.Queue) error {
	if err := q.Validate(); err != nil {
		return fmt.Errorf("update queue %d: %w", q.ID, err)
	}
	op := fmt.Sprintf("update queue %d", q.ID)
	if q.ID <= 0 {
		return fmt.Errorf("%s: %w", op, directory.ErrNotFound)
	}
	return queueErr(op, s.inTx(ctx, func(tx pgx.Tx) error { return writeQueue(ctx, tx, q) }))
}

// DeleteQueue deletes a queue and its members.
func (s *Store) DeleteQueue(ctx context.Context, id int64) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM queues WHERE id = $1`, id)
	if err == nil && tag.RowsAffected() == 0 {
		err = directory.ErrNotFound
	}
	return mapErr(fmt.Sprintf("delete queue %d", id), err)
}

// Queue returns one queue with its members.
func (s *Store) Queue(ctx context.Context, id int64) (*directory.Queue, error) {
	list, err := s.queues(ctx, `WHERE q.id = $1`, id)
	if err == nil && len(list) == 0 {
		err = directory.ErrNotFound
	}
	if err != nil {
		return nil, mapErr(fmt.Sprintf("queue %d", id), err)
	}
	return &list[0], nil
}

// QueueByNumber finds a queue by its number.
func (s *Store) QueueByNumber(ctx context.Context, number string) (*directory.Queue, error) {
	list, err := s.queues(ctx, `WHERE q.number = $1`, number)
	if err == nil && len(list) == 0 {
		err = directory.ErrNotFound
	}
	if err != nil {
		return nil, mapErr("queue "+number, err)
	}
	return &list[0], nil
}

// Queues lists every queue by number.
func (s *Store) Queues(ctx context.Context) ([]directory.Queue, error) {
	list, err := s.queues(ctx, ``)
	return list, mapErr("queues", err)
}

// queues reads the queues where selects, with their members, in one
// snapshot.
func (s *Store) queues(ctx context.Context, where string, args ...any) ([]directory.Queue, error) {
	var out []directory.Queue
	err := s.inSnapshot(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT `+queueCols+` FROM queues q `+where+` ORDER BY q.number COLLATE "C"`, args...)
		if err != nil {
			return err
		}
		if out, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (directory.Queue, error) { return scanQueue(r) }); err != nil {
			return err
		}
		if len(out) == 0 {
			return nil
		}
		byID := map[int64]int{}
		ids := make([]int64, len(out))
		for i, q := range out {
			byID[q.ID], ids[i] = i, q.ID
		}
		mrows, err := tx.Query(ctx, `SELECT queue_id, user_id FROM queue_members WHERE queue_id = ANY($1)
			ORDER BY queue_id, position`, ids)
		if err != nil {
			return err
		}
		defer mrows.Close()
		for mrows.Next() {
			var qid, uid int64
			if err := mrows.Scan(&qid, &uid); err != nil {
				return err
			}
			out[byID[qid]].Members = append(out[byID[qid]].Members, uid)
		}
		return mrows.Err()
	})
	return out, err
}

// SetQueueAgent records an agent's login state (nil: logged out).
func (s *Store) SetQueueAgent(ctx context.Context, userID int64, a *directory.QueueAgent) error {
	op := fmt.Sprintf("queue agent %d", userID)
	if a == nil {
		_, err := s.pool.Exec(ctx, `DELETE FROM queue_agents WHERE user_id = $1`, userID)
		return mapErr(op, err)
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO queue_agents (user_id, paused, reason) VALUES ($1, $2, $3)
		ON CONFLICT (user_id) DO UPDATE SET paused = excluded.paused, reason = excluded.reason`, userID, a.Paused, a.Reason)
	return mapErr(op, err)
}

// QueueAgents lists the agents logged in.
func (s *Store) QueueAgents(ctx context.Context) ([]directory.QueueAgent, error) {
	rows, err := s.pool.Query(ctx, `SELECT user_id, paused, reason FROM queue_agents ORDER BY user_id`)
	if err != nil {
		return nil, mapErr("queue agents", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (directory.QueueAgent, error) {
		var a directory.QueueAgent
		return a, r.Scan(&a.UserID, &a.Paused, &a.Reason)
	})
	return out, mapErr("queue agents", err)
}
