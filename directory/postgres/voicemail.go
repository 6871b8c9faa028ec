package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/switchboard-pbx/switchboard/directory"
)

// ownerCond is the condition on user_id or group_id for a mailbox's owner.
func ownerCond(w *where, userID, groupID int64) {
	if userID != 0 {
		w.add("user_id = " + w.arg(userID))
	} else {
		w.add("group_id = " + w.arg(groupID))
	}
}

func mailboxErr(op string, err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23503" {
		return fmt.Errorf("%s: %w", op, directory.ErrUnknownMailboxOwner)
	}
	return mapErr(op, err)
}

// Mailbox returns the mailbox of a user or a group; a disabled one when
// none was set.
func (s *Store) Mailbox(ctx context.Context, userID, groupID int64) (*directory.Mailbox, error) {
	m := &directory.Mailbox{UserID: userID, GroupID: groupID}
	if err := m.Check(); err != nil {
		return nil, fmt.Errorf("mailbox: %w", err)
	}
	w := &where{}
	ownerCond(w, userID, groupID)
	err := s.pool.QueryRow(ctx, `SELECT enabled, pin_hash, greeting, to_email, max_seconds, updated_at
		FROM voicemail_boxes`+w.sql(), w.args...).Scan(&m.Enabled, &m.PINHash, &m.Greeting, &m.ToEmail,
		&m.MaxSeconds, &m.UpdatedAt)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return m, nil
	case err != nil:
		return nil, mapErr("mailbox", err)
	}
	m.UpdatedAt = m.UpdatedAt.UTC()
	return m, nil
}

// SetMailbox writes a mailbox's setting.
func (s *Store) SetMailbox(ctx context.Context, m *directory.Mailbox) error {
	if err := m.Check(); err != nil {
		return fmt.Errorf("set mailbox: %w", err)
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		w := &where{args: []any{m.Enabled, m.PINHash, m.Greeting, m.ToEmail, m.MaxSeconds}}
		ownerCond(w, m.UserID, m.GroupID)
		err := tx.QueryRow(ctx, `UPDATE voicemail_boxes SET enabled = $1, pin_hash = $2, greeting = $3,
			to_email = $4, max_seconds = $5, updated_at = now()`+w.sql()+` RETURNING updated_at`, w.args...).Scan(&m.UpdatedAt)
		if !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		return tx.QueryRow(ctx, `INSERT INTO voicemail_boxes (user_id, group_id, enabled, pin_hash, greeting,
			to_email, max_seconds) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING updated_at`, nullID(m.UserID),
			nullID(m.GroupID), m.Enabled, m.PINHash, m.Greeting, m.ToEmail, m.MaxSeconds).Scan(&m.UpdatedAt)
	})
	if err != nil {
		return mailboxErr("set mailbox", err)
	}
	m.UpdatedAt = m.UpdatedAt.UTC()
	return nil
}

const voicemailCols = `id, user_id, group_id, caller, started_at, duration_ms, path, sha256, heard`

func scanVoicemail(row pgx.Row) (directory.Voicemail, error) {
	var v directory.Voicemail
	var user, group *int64
	var ms int64
	err := row.Scan(&v.ID, &user, &group, &v.Caller, &v.StartedAt, &ms, &v.Path, &v.SHA256, &v.Heard)
	if user != nil {
		v.UserID = *user
	}
	if group != nil {
		v.GroupID = *group
	}
	v.StartedAt, v.Duration = v.StartedAt.UTC(), time.Duration(ms)*time.Millisecond
	return v, err
}

func scanVoicemailRow(r pgx.CollectableRow) (directory.Voicemail, error) { return scanVoicemail(r) }

// CreateVoicemail stores a message.
func (s *Store) CreateVoicemail(ctx context.Context, v *directory.Voicemail) error {
	if err := v.Check(); err != nil {
		return fmt.Errorf("create voicemail: %w", err)
	}
	v.StartedAt = v.StartedAt.UTC().Truncate(time.Microsecond)
	err := s.pool.QueryRow(ctx, `INSERT INTO voicemail_messages (user_id, group_id, caller, started_at,
		duration_ms, path, sha256, heard) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`, nullID(v.UserID),
		nullID(v.GroupID), v.Caller, v.StartedAt, v.Duration.Milliseconds(), v.Path, v.SHA256, v.Heard).Scan(&v.ID)
	if err != nil {
		return mailboxErr("create voicemail", err)
	}
	return nil
}

// Voicemail returns one message.
func (s *Store) Voicemail(ctx context.Context, id int64) (*directory.Voicemail, error) {
	v, err := scanVoicemail(s.pool.QueryRow(ctx, `SELECT `+voicemailCols+` FROM voicemail_messages WHERE id = $1`, id))
	if err != nil {
		return nil, mapErr(fmt.Sprintf("voicemail %d", id), err)
	}
	return &v, nil
}

// Voicemails lists the messages f selects, newest first.
func (s *Store) Voicemails(ctx context.Context, f directory.VoicemailFilter) ([]directory.Voicemail, error) {
	w := &where{}
	if !f.Vis.All {
		w.add("user_id = ANY(" + w.arg(ids(f.Vis.UserIDs)) + ")")
	}
	if f.UserID != 0 || f.GroupID != 0 {
		ownerCond(w, f.UserID, f.GroupID)
	}
	if f.Unheard {
		w.add("NOT heard")
	}
	limit, offset := f.Page.Limit()
	rows, err := s.pool.Query(ctx, `SELECT `+voicemailCols+` FROM voicemail_messages`+w.sql()+
		` ORDER BY started_at DESC, id DESC LIMIT `+w.arg(limit)+` OFFSET `+w.arg(offset), w.args...)
	if err != nil {
		return nil, mapErr("voicemails", err)
	}
	vs, err := pgx.CollectRows(rows, scanVoicemailRow)
	return nilIfEmpty(vs), mapErr("voicemails", err)
}

// CountVoicemails counts a mailbox's new and old messages.
func (s *Store) CountVoicemails(ctx context.Context, userID, groupID int64) (directory.VoicemailCount, error) {
	var c directory.VoicemailCount
	w := &where{}
	ownerCond(w, userID, groupID)
	err := s.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE NOT heard), count(*) FILTER (WHERE heard)
		FROM voicemail_messages`+w.sql(), w.args...).Scan(&c.New, &c.Old)
	return c, mapErr("count voicemails", err)
}

// SetVoicemailHeard marks a message heard or not.
func (s *Store) SetVoicemailHeard(ctx context.Context, id int64, heard bool) error {
	tag, err := s.pool.Exec(ctx, `UPDATE voicemail_messages SET heard = $1 WHERE id = $2`, heard, id)
	if err == nil && tag.RowsAffected() == 0 {
		err = directory.ErrNotFound
	}
	return mapErr(fmt.Sprintf("voicemail %d heard", id), err)
}

// DeleteVoicemail removes a message's row (its file is the caller's).
func (s *Store) DeleteVoicemail(ctx context.Context, id int64) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM voicemail_messages WHERE id = $1`, id)
	if err == nil && tag.RowsAffected() == 0 {
		err = directory.ErrNotFound
	}
	return mapErr(fmt.Sprintf("delete voicemail %d", id), err)
}
