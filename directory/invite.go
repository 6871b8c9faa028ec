package directory

import (
	"context"
	"time"
)

// DefaultInviteTTL is how long an invitation link works unless the
// setting users.invite_ttl says otherwise.
const DefaultInviteTTL = 7 * 24 * time.Hour

// Invite is a one-time link that lets a colleague set their own web
// password and see their extension password once. The link carries a
// random token; the store keeps only its SHA-256 (TokenHash), so a copy of
// the database opens no account.
type Invite struct {
	ID        int64
	TokenHash string // hex SHA-256 of the token in the link
	UserID    int64  // the account the link completes
	CreatedBy int64  // who invited; 0 when unknown
	CreatedAt time.Time
	ExpiresAt time.Time
	UsedAt    time.Time // zero while unused
}

// Usable reports whether the link still works at now: unused and not expired.
func (i *Invite) Usable(now time.Time) bool { return i.UsedAt.IsZero() && now.Before(i.ExpiresAt) }

// InviteStore keeps invitations.
type InviteStore interface {
	// CreateInvite stores i and sets its ID; TokenHash must be new and
	// UserID an existing user (ErrInvalid otherwise).
	CreateInvite(ctx context.Context, i *Invite) error
	// InviteByToken returns the invitation with the token hash, used or
	// expired too (the caller checks Usable); ErrNotFound when none.
	InviteByToken(ctx context.Context, tokenHash string) (*Invite, error)
	// UseInvite marks the invitation used at now if it is still usable
	// then; when it was used or has expired meanwhile it is ErrNotFound and
	// nothing changes, so two browsers racing on one link cannot both win.
	UseInvite(ctx context.Context, id int64, now time.Time) error
}
