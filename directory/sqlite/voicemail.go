package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// ownerCond is the condition on user_id or group_id for a mailbox's owner.
func ownerCond(userID, groupID int64) (string, []any) {
	if userID != 0 {
		return "user_id = ?", []any{userID}
	}
	return "group_id = ?", []any{groupID}
}

func mailboxErr(err error) error {
	if isForeignKey(err) {
		return directory.ErrUnknownMailboxOwner
	}
	return err
}

// Mailbox returns the mailbox of a user or a group; a disabled one when
// none was set.
func (s *Store) Mailbox(ctx context.Context, userID, groupID int64) (*directory.Mailbox, error) {
	m := &directory.Mailbox{UserID: userID, GroupID: groupID}
	if err := m.Check(); err != nil {
		return nil, fmt.Errorf("mailbox: %w", err)
	}
	cond, args := ownerCond(userID, groupID)
	var updated int64
	err := s.rdb.QueryRowContext(ctx, `SELECT enabled, pin_hash, greeting, to_email, max_seconds, updated_at
		FROM voicemail_boxes WHERE `+cond, args...).Scan(&m.Enabled, &m.PINHash, &m.Greeting, &m.ToEmail,
		&m.MaxSeconds, &updated)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return m, nil
	case err != nil:
		return nil, fmt.Errorf("mailbox: %w", s.fail(err))
	}
	m.UpdatedAt = time.UnixMicro(updated).UTC()
	return m, nil
}

// SetMailbox writes a mailbox's setting.
func (s *Store) SetMailbox(ctx context.Context, m *directory.Mailbox) error {
	if err := m.Check(); err != nil {
		return fmt.Errorf("set mailbox: %w", err)
	}
	t := now()
	cond, args := ownerCond(m.UserID, m.GroupID)
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE voicemail_boxes SET enabled = ?, pin_hash = ?, greeting = ?,
			to_email = ?, max_seconds = ?, updated_at = ? WHERE `+cond, append([]any{m.Enabled, m.PINHash,
			m.Greeting, m.ToEmail, m.MaxSeconds, t.UnixMicro()}, args...)...)
		if err := oneRow(res, err); !errors.Is(err, directory.ErrNotFound) {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO voicemail_boxes (user_id, group_id, enabled, pin_hash, greeting,
			to_email, max_seconds, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, nullID(m.UserID), nullID(m.GroupID),
			m.Enabled, m.PINHash, m.Greeting, m.ToEmail, m.MaxSeconds, t.UnixMicro())
		return mailboxErr(err)
	})
	if err != nil {
		return fmt.Errorf("set mailbox: %w", err)
	}
	m.UpdatedAt = t
	return nil
}

const voicemailCols = `id, user_id, group_id, caller, started_at, duration_ms, path, sha256, heard`

func scanVoicemail(sc scanner) (*directory.Voicemail, error) {
	var v directory.Voicemail
	var user, group sql.NullInt64
	var started, ms int64
	if err := sc.Scan(&v.ID, &user, &group, &v.Caller, &started, &ms, &v.Path, &v.SHA256, &v.Heard); err != nil {
		return nil, err
	}
	v.UserID, v.GroupID = user.Int64, group.Int64
	v.StartedAt, v.Duration = time.UnixMicro(started).UTC(), time.Duration(ms)*time.Millisecond
	return &v, nil
}

// CreateVoicemail stores a message.
func (s *Store) CreateVoicemail(ctx context.Context, v *directory.Voicemail) error {
	if err := v.Check(); err != nil {
		return fmt.Errorf("create voicemail: %w", err)
	}
	v.StartedAt = v.StartedAt.UTC().Truncate(time.Microsecond)
	err := s.write(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO voicemail_messages (user_id, group_id, caller, started_at,
			duration_ms, path, sha256, heard) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`, nullID(v.UserID),
			nullID(v.GroupID), v.Caller, v.StartedAt.UnixMicro(), v.Duration.Milliseconds(), v.Path, v.SHA256,
			v.Heard).Scan(&v.ID)
		return mailboxErr(err)
	})
	if err != nil {
		return fmt.Errorf("create voicemail: %w", err)
	}
	return nil
}

// Voicemail returns one message.
func (s *Store) Voicemail(ctx context.Context, id int64) (*directory.Voicemail, error) {
	v, err := scanVoicemail(s.rdb.QueryRowContext(ctx, `SELECT `+voicemailCols+` FROM voicemail_messages WHERE id = ?`, id))
	if err != nil {
		return nil, fmt.Errorf("voicemail %d: %w", id, s.fail(err))
	}
	return v, nil
}

// Voicemails lists the messages f selects, newest first.
func (s *Store) Voicemails(ctx context.Context, f directory.VoicemailFilter) ([]directory.Voicemail, error) {
	cond, args := "1", []any(nil)
	if !f.Vis.All {
		cond, args = inIDs("user_id", f.Vis.UserIDs)
	}
	if f.UserID != 0 || f.GroupID != 0 {
		oc, oa := ownerCond(f.UserID, f.GroupID)
		cond += " AND " + oc
		args = append(args, oa...)
	}
	if f.Unheard {
		cond += " AND heard = 0"
	}
	limit, offset := f.Page.Limit()
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+voicemailCols+` FROM voicemail_messages WHERE `+cond+`
		ORDER BY started_at DESC, id DESC LIMIT ? OFFSET ?`, append(args, limit, offset)...)
	if err != nil {
		return nil, fmt.Errorf("voicemails: %w", s.fail(err))
	}
	defer rows.Close()
	var vs []directory.Voicemail
	for rows.Next() {
		v, err := scanVoicemail(rows)
		if err != nil {
			return nil, fmt.Errorf("voicemails: %w", s.fail(err))
		}
		vs = append(vs, *v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("voicemails: %w", s.fail(err))
	}
	return vs, nil
}

// CountVoicemails counts a mailbox's new and old messages.
func (s *Store) CountVoicemails(ctx context.Context, userID, groupID int64) (directory.VoicemailCount, error) {
	var c directory.VoicemailCount
	cond, args := ownerCond(userID, groupID)
	err := s.rdb.QueryRowContext(ctx, `SELECT COALESCE(SUM(heard = 0), 0), COALESCE(SUM(heard <> 0), 0)
		FROM voicemail_messages WHERE `+cond, args...).Scan(&c.New, &c.Old)
	if err != nil {
		return c, fmt.Errorf("count voicemails: %w", s.fail(err))
	}
	return c, nil
}

// SetVoicemailHeard marks a message heard or not.
func (s *Store) SetVoicemailHeard(ctx context.Context, id int64, heard bool) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE voicemail_messages SET heard = ? WHERE id = ?`, heard, id)
		return oneRow(res, err)
	})
	if err != nil {
		return fmt.Errorf("voicemail %d heard: %w", id, err)
	}
	return nil
}

// DeleteVoicemail removes a message's row (its file is the caller's).
func (s *Store) DeleteVoicemail(ctx context.Context, id int64) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM voicemail_messages WHERE id = ?`, id)
		return oneRow(res, err)
	})
	if err != nil {
		return fmt.Errorf("delete voicemail %d: %w", id, err)
	}
	return nil
}
