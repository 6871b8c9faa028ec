package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// CreateInvite stores a new invitation and sets its ID.
func (s *Store) CreateInvite(ctx context.Context, i *directory.Invite) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO invites (token_hash, user_id, created_by, created_at, expires_at)
			VALUES (?, ?, ?, ?, ?) RETURNING id`, i.TokenHash, i.UserID, i.CreatedBy, i.CreatedAt.UnixMicro(),
			i.ExpiresAt.UnixMicro()).Scan(&i.ID)
		switch {
		case isUnique(err):
			return directory.Conflict("invite", "already exists")
		case isForeignKey(err):
			return &directory.InvalidError{Field: "user", Rule: "does not exist"}
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("create invite: %w", err)
	}
	return nil
}

// InviteByToken returns the invitation with the token hash.
func (s *Store) InviteByToken(ctx context.Context, tokenHash string) (*directory.Invite, error) {
	var i directory.Invite
	var created, expires, used sql.NullInt64
	err := s.rdb.QueryRowContext(ctx, `SELECT id, token_hash, user_id, created_by, created_at, expires_at, used_at
		FROM invites WHERE token_hash = ?`, tokenHash).Scan(&i.ID, &i.TokenHash, &i.UserID, &i.CreatedBy,
		&created, &expires, &used)
	if err != nil {
		return nil, fmt.Errorf("invite: %w", s.fail(err))
	}
	i.CreatedAt, i.ExpiresAt, i.UsedAt = fromMicros(created), fromMicros(expires), fromMicros(used)
	return &i, nil
}

// UseInvite marks a usable invitation used.
func (s *Store) UseInvite(ctx context.Context, id int64, now time.Time) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE invites SET used_at = ? WHERE id = ? AND used_at IS NULL AND expires_at > ?`,
			now.UnixMicro(), id, now.UnixMicro())
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n != 1 {
			return directory.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("use invite %d: %w", id, err)
	}
	return nil
}
