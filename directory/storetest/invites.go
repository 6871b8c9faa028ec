package storetest

import (
	"errors"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// inviteTests: one-time invitation links, kept by the hash of their token.
var inviteTests = []test{
	{"invites: stored by token hash, used once, not after expiry", func(e *env) {
		u := e.user("10001")
		now := time.Now().UTC().Truncate(time.Millisecond)
		in := &directory.Invite{TokenHash: "aa11", UserID: u.ID, CreatedBy: 7, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		e.ok(e.s.CreateInvite(e.ctx, in), "create")
		if in.ID == 0 {
			e.t.Fatal("no ID set")
		}
		got, err := e.s.InviteByToken(e.ctx, "aa11")
		e.ok(err, "read")
		if got.UserID != u.ID || got.CreatedBy != 7 || !got.ExpiresAt.Equal(in.ExpiresAt) || !got.UsedAt.IsZero() ||
			!got.Usable(now) || got.Usable(now.Add(time.Hour)) {
			e.t.Errorf("read back %+v", got)
		}
		if _, err := e.s.InviteByToken(e.ctx, "bb22"); !errors.Is(err, directory.ErrNotFound) {
			e.t.Errorf("unknown token: %v, want ErrNotFound", err)
		}
		e.ok(e.s.UseInvite(e.ctx, in.ID, now.Add(time.Minute)), "use")
		if err := e.s.UseInvite(e.ctx, in.ID, now.Add(2*time.Minute)); !errors.Is(err, directory.ErrNotFound) {
			e.t.Errorf("second use: %v, want ErrNotFound", err)
		}
		got, _ = e.s.InviteByToken(e.ctx, "aa11")
		if !got.UsedAt.Equal(now.Add(time.Minute)) || got.Usable(now) {
			e.t.Errorf("after use %+v", got)
		}
		late := &directory.Invite{TokenHash: "cc33", UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		e.ok(e.s.CreateInvite(e.ctx, late), "create another")
		if err := e.s.UseInvite(e.ctx, late.ID, now.Add(time.Hour)); !errors.Is(err, directory.ErrNotFound) {
			e.t.Errorf("use at expiry: %v, want ErrNotFound", err)
		}
		if err := e.s.CreateInvite(e.ctx, &directory.Invite{TokenHash: "aa11", UserID: u.ID, CreatedAt: now,
			ExpiresAt: now}); !errors.Is(err, directory.ErrConflict) {
			e.t.Errorf("same token twice: %v, want ErrConflict", err)
		}
		if err := e.s.CreateInvite(e.ctx, &directory.Invite{TokenHash: "dd44", UserID: u.ID + 1000, CreatedAt: now,
			ExpiresAt: now}); !errors.Is(err, directory.ErrInvalid) {
			e.t.Errorf("unknown user: %v, want ErrInvalid", err)
		}
	}},
	{"invites: two uses racing, one wins", func(e *env) {
		u := e.user("10001")
		now := time.Now().UTC()
		in := &directory.Invite{TokenHash: "ee55", UserID: u.ID, CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
		e.ok(e.s.CreateInvite(e.ctx, in), "create")
		errs := make(chan error, 8)
		for range 8 {
			go func() { errs <- e.s.UseInvite(e.ctx, in.ID, now) }()
		}
		wins := 0
		for range 8 {
			if err := <-errs; err == nil {
				wins++
			} else if !errors.Is(err, directory.ErrNotFound) {
				e.t.Errorf("use: %v", err)
			}
		}
		if wins != 1 {
			e.t.Errorf("%d uses won, want 1", wins)
		}
	}},
}
