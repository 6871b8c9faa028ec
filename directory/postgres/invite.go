package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// CreateInvite stores a new invitation and sets its ID.
func (s *Store) CreateInvite(ctx context.Context, i *directory.Invite) error {
	err := s.pool.QueryRow(ctx, `INSERT INTO invites (token_hash, user_id, created_by, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5) RETURNING id`, i.TokenHash, i.UserID, i.CreatedBy, i.CreatedAt, i.ExpiresAt).Scan(&i.ID)
	return mapErr("create invite", err)
}

// InviteByToken returns the invitation with the token hash.
func (s *Store) InviteByToken(ctx context.Context, tokenHash string) (*directory.Invite, error) {
	var i directory.Invite
	var used *time.Time
	err := s.pool.QueryRow(ctx, `SELECT id, token_hash, user_id, created_by, created_at, expires_at, used_at
		FROM invites WHERE token_hash = $1`, tokenHash).Scan(&i.ID, &i.TokenHash, &i.UserID, &i.CreatedBy,
		&i.CreatedAt, &i.ExpiresAt, &used)
	if err != nil {
		return nil, mapErr("invite", err)
	}
	i.CreatedAt, i.ExpiresAt = i.CreatedAt.UTC(), i.ExpiresAt.UTC()
	if used != nil {
		i.UsedAt = used.UTC()
	}
	return &i, nil
}

// UseInvite marks a usable invitation used.
func (s *Store) UseInvite(ctx context.Context, id int64, now time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE invites SET used_at = $2 WHERE id = $1 AND used_at IS NULL AND expires_at > $3`,
		id, now, now)
	if err != nil {
		return mapErr(fmt.Sprintf("use invite %d", id), err)
	}
	if tag.RowsAffected() != 1 {
		return fmt.Errorf("use invite %d: %w", id, directory.ErrNotFound)
	}
	return nil
}
