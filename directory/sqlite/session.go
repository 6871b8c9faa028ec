package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// CreateSession stores a new web session.
func (s *Store) CreateSession(ctx context.Context, se *directory.Session) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (id_hash, user_id, created_at, seen_at, expires_at, ip, user_agent)
			VALUES (?, ?, ?, ?, ?, ?, ?)`, se.IDHash, se.UserID, se.CreatedAt.UnixMicro(), se.SeenAt.UnixMicro(),
			se.ExpiresAt.UnixMicro(), se.IP, se.UserAgent)
		switch {
		case isUnique(err):
			return directory.Conflict("session", "already exists")
		case isForeignKey(err):
			return &directory.InvalidError{Field: "user", Rule: "does not exist"}
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("create session: %w", err)
	}
	return nil
}

// Session returns the session with the ID hash.
func (s *Store) Session(ctx context.Context, idHash string) (*directory.Session, error) {
	var se directory.Session
	var created, seen, expires sql.NullInt64
	err := s.rdb.QueryRowContext(ctx, `SELECT id_hash, user_id, created_at, seen_at, expires_at, ip, user_agent
		FROM sessions WHERE id_hash = ?`, idHash).Scan(&se.IDHash, &se.UserID, &created, &seen, &expires, &se.IP, &se.UserAgent)
	if err != nil {
		return nil, fmt.Errorf("session: %w", s.fail(err))
	}
	se.CreatedAt, se.SeenAt, se.ExpiresAt = fromMicros(created), fromMicros(seen), fromMicros(expires)
	return &se, nil
}

// TouchSession records a request and moves the expiry.
func (s *Store) TouchSession(ctx context.Context, idHash string, seen, expires time.Time) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE sessions SET seen_at = ?, expires_at = ? WHERE id_hash = ?`,
			seen.UnixMicro(), expires.UnixMicro(), idHash)
		return err
	})
	if err != nil {
		return fmt.Errorf("touch session: %w", err)
	}
	return nil
}

// DeleteSession removes one session.
func (s *Store) DeleteSession(ctx context.Context, idHash string) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = ?`, idHash)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete session: %w", err)
	}
	return nil
}

// DeleteUserSessions removes every session of the user.
func (s *Store) DeleteUserSessions(ctx context.Context, userID int64) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete sessions of user %d: %w", userID, err)
	}
	return nil
}

// DeleteExpiredSessions removes sessions that expired at or before now.
func (s *Store) DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error) {
	var n int64
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE expires_at <= ?`, now.UnixMicro())
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("delete expired sessions: %w", err)
	}
	return int(n), nil
}

// CreateToken stores a new API token and sets its ID and CreatedAt.
func (s *Store) CreateToken(ctx context.Context, t *directory.APIToken) error {
	if err := t.Validate(); err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	at := now()
	err := s.write(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `INSERT INTO api_tokens (user_id, name, hash, prefix, created_at)
			VALUES (?, ?, ?, ?, ?) RETURNING id`, t.UserID, t.Name, t.Hash, t.Prefix, at.UnixMicro()).Scan(&t.ID)
		switch {
		case isUnique(err):
			return directory.Conflict("token", "already exists")
		case isForeignKey(err):
			return &directory.InvalidError{Field: "user", Rule: "does not exist"}
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	t.CreatedAt = at
	return nil
}

const tokenCols = `id, user_id, name, hash, prefix, created_at, last_used_at`

func scanToken(sc scanner) (*directory.APIToken, error) {
	var t directory.APIToken
	var created, used sql.NullInt64
	if err := sc.Scan(&t.ID, &t.UserID, &t.Name, &t.Hash, &t.Prefix, &created, &used); err != nil {
		return nil, err
	}
	t.CreatedAt, t.LastUsedAt = fromMicros(created), fromMicros(used)
	return &t, nil
}

// TokenByHash finds a token by the SHA-256 of its value.
func (s *Store) TokenByHash(ctx context.Context, hash string) (*directory.APIToken, error) {
	t, err := scanToken(s.rdb.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE hash = ?`, hash))
	if err != nil {
		return nil, fmt.Errorf("token: %w", s.fail(err))
	}
	return t, nil
}

// Tokens lists the user's tokens, newest first.
func (s *Store) Tokens(ctx context.Context, userID int64) ([]directory.APIToken, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+tokenCols+` FROM api_tokens WHERE user_id = ? ORDER BY id DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("tokens: %w", s.fail(err))
	}
	defer rows.Close()
	var ts []directory.APIToken
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, fmt.Errorf("tokens: %w", s.fail(err))
		}
		ts = append(ts, *t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("tokens: %w", s.fail(err))
	}
	return ts, nil
}

// DeleteToken revokes the user's token id.
func (s *Store) DeleteToken(ctx context.Context, userID, id int64) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM api_tokens WHERE id = ? AND user_id = ?`, id, userID)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n == 0 {
			return directory.ErrNotFound
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("delete token %d: %w", id, err)
	}
	return nil
}

// TouchToken records a use of the token.
func (s *Store) TouchToken(ctx context.Context, id int64, at time.Time) error {
	err := s.write(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `UPDATE api_tokens SET last_used_at = ? WHERE id = ?`, at.UnixMicro(), id)
		return err
	})
	if err != nil {
		return fmt.Errorf("touch token %d: %w", id, err)
	}
	return nil
}
