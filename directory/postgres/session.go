package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-pbx/switchboard/directory"
)

// CreateSession stores a new web session.
func (s *Store) CreateSession(ctx context.Context, se *directory.Session) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO sessions (id_hash, user_id, created_at, seen_at, expires_at, ip, user_agent)
		VALUES ($1, $2, $3, $4, $5, $6, $7)`, se.IDHash, se.UserID, se.CreatedAt, se.SeenAt, se.ExpiresAt, se.IP, se.UserAgent)
	return mapErr("create session", err)
}

// Session returns the session with the ID hash.
func (s *Store) Session(ctx context.Context, idHash string) (*directory.Session, error) {
	var se directory.Session
	err := s.pool.QueryRow(ctx, `SELECT id_hash, user_id, created_at, seen_at, expires_at, ip, user_agent
		FROM sessions WHERE id_hash = $1`, idHash).Scan(&se.IDHash, &se.UserID, &se.CreatedAt, &se.SeenAt,
		&se.ExpiresAt, &se.IP, &se.UserAgent)
	if err != nil {
		return nil, mapErr("session", err)
	}
	se.CreatedAt, se.SeenAt, se.ExpiresAt = se.CreatedAt.UTC(), se.SeenAt.UTC(), se.ExpiresAt.UTC()
	return &se, nil
}

// TouchSession records a request and moves the expiry.
func (s *Store) TouchSession(ctx context.Context, idHash string, seen, expires time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE sessions SET seen_at = $2, expires_at = $3 WHERE id_hash = $1`, idHash, seen, expires)
	return mapErr("touch session", err)
}

// DeleteSession removes one session.
func (s *Store) DeleteSession(ctx context.Context, idHash string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE id_hash = $1`, idHash)
	return mapErr("delete session", err)
}

// DeleteUserSessions removes every session of the user.
func (s *Store) DeleteUserSessions(ctx context.Context, userID int64) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID)
	return mapErr(fmt.Sprintf("delete sessions of user %d", userID), err)
}

// DeleteExpiredSessions removes sessions that expired at or before now.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE expires_at <= $1`, now)
	if err != nil {
		return 0, mapErr("delete expired sessions", err)
	}
	return int(tag.RowsAffected()), nil
}

// CreateToken stores a new API token and sets its ID and CreatedAt.
func (s *Store) CreateToken(ctx context.Context, t *directory.APIToken) error {
	if err := t.Validate(); err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	err := s.pool.QueryRow(ctx, `INSERT INTO api_tokens (user_id, name, hash, prefix) VALUES ($1, $2, $3, $4)
		RETURNING id, created_at`, t.UserID, t.Name, t.Hash, t.Prefix).Scan(&t.ID, &t.CreatedAt)
	t.CreatedAt = t.CreatedAt.UTC()
	return mapErr("create token", err)
}

const tokenColumns = `id, user_id, name, hash, prefix, created_at, last_used_at`

func scanToken(row pgx.Row) (directory.APIToken, error) {
	var t directory.APIToken
	var used *time.Time
	err := row.Scan(&t.ID, &t.UserID, &t.Name, &t.Hash, &t.Prefix, &t.CreatedAt, &used)
	t.CreatedAt = t.CreatedAt.UTC()
	t.LastUsedAt = timeOf(used)
	return t, err
}

// TokenByHash finds a token by the SHA-256 of its value.
func (s *Store) TokenByHash(ctx context.Context, hash string) (*directory.APIToken, error) {
	t, err := scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE hash = $1`, hash))
	if err != nil {
		return nil, mapErr("token", err)
	}
	return &t, nil
}

// Tokens lists the user's tokens, newest first.
func (s *Store) Tokens(ctx context.Context, userID int64) ([]directory.APIToken, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+tokenColumns+` FROM api_tokens WHERE user_id = $1 ORDER BY id DESC`, userID)
	if err != nil {
		return nil, mapErr("tokens", err)
	}
	ts, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (directory.APIToken, error) { return scanToken(r) })
	return nilIfEmpty(ts), mapErr("tokens", err)
}

// DeleteToken revokes the user's token id.
func (s *Store) DeleteToken(ctx context.Context, userID, id int64) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM api_tokens WHERE id = $1 AND user_id = $2`, id, userID)
	if err == nil && tag.RowsAffected() == 0 {
		err = directory.ErrNotFound
	}
	return mapErr(fmt.Sprintf("delete token %d", id), err)
}

// TouchToken records a use of the token.
func (s *Store) TouchToken(ctx context.Context, id int64, at time.Time) error {
	_, err := s.pool.Exec(ctx, `UPDATE api_tokens SET last_used_at = $2 WHERE id = $1`, id, at)
	return mapErr(fmt.Sprintf("touch token %d", id), err)
}
