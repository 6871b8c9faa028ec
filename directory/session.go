package directory

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// Session is a signed-in browser. The cookie holds a random ID; the store
// keeps only its SHA-256 (IDHash), so a copy of the database signs no one
// in. Sessions live in the store so that every node serving the web UI
// knows them.
type Session struct {
	IDHash    string // hex SHA-256 of the cookie value
	UserID    int64
	CreatedAt time.Time
	SeenAt    time.Time // last request, updated at most every few minutes
	ExpiresAt time.Time
	IP        string // address the session was created from
	UserAgent string
}

// SessionStore keeps web sessions.
type SessionStore interface {
	// CreateSession stores s; IDHash must be new.
	CreateSession(ctx context.Context, s *Session) error
	// Session returns the session with the ID hash, expired or not; the
	// caller checks ExpiresAt.
	Session(ctx context.Context, idHash string) (*Session, error)
	// TouchSession records a request at seen and moves the expiry.
	TouchSession(ctx context.Context, idHash string, seen, expires time.Time) error
	// DeleteSession signs one browser out; a missing session is no error.
	DeleteSession(ctx context.Context, idHash string) error
	// DeleteUserSessions signs the user out everywhere (blocked, deleted,
	// password changed).
	DeleteUserSessions(ctx context.Context, userID int64) error
	// DeleteExpiredSessions removes sessions that expired at or before now.
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int, error)
}

// APIToken is a personal token for the JSON API. The token itself is shown
// once when it is made; the store keeps its SHA-256 and the first
// characters (Prefix) so that people can tell their tokens apart.
type APIToken struct {
	ID         int64
	UserID     int64
	Name       string
	Hash       string // hex SHA-256 of the token
	Prefix     string
	CreatedAt  time.Time
	LastUsedAt time.Time // zero when never used
}

// Validate checks the token's name.
func (t *APIToken) Validate() error {
	t.Name = strings.TrimSpace(t.Name)
	switch {
	case t.Name == "":
		return invalid("name", "is required")
	case utf8.RuneCountInString(t.Name) > 100:
		return invalid("name", "must be at most 100 characters")
	case strings.ContainsAny(t.Name, "\x00\r\n"):
		return invalid("name", "must be a single line")
	}
	return nil
}

// TokenStore keeps API tokens.
type TokenStore interface {
	// CreateToken stores t and sets its ID and CreatedAt.
	CreateToken(ctx context.Context, t *APIToken) error
	// TokenByHash finds a token by the SHA-256 of its value.
	TokenByHash(ctx context.Context, hash string) (*APIToken, error)
	// Tokens lists the user's tokens, newest first.
	Tokens(ctx context.Context, userID int64) ([]APIToken, error)
	// DeleteToken revokes the user's token id; ErrNotFound when the user
	// has no such token.
	DeleteToken(ctx context.Context, userID, id int64) error
	// TouchToken records a use of the token at at.
	TouchToken(ctx context.Context, id int64, at time.Time) error
}
