package storetest

import (
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

var sessionTests = []test{
	{"a session is read back by its hash, touched and deleted", func(e *env) {
		u := e.user("10001")
		t0 := fixedTime()
		se := &directory.Session{IDHash: "aa11", UserID: u.ID, CreatedAt: t0, SeenAt: t0,
			ExpiresAt: t0.Add(time.Hour), IP: "192.0.2.7", UserAgent: "Firefox"}
		e.ok(e.s.CreateSession(e.ctx, se), "create session")
		e.is(e.s.CreateSession(e.ctx, se), directory.ErrConflict, "the same hash twice")
		got, err := e.s.Session(e.ctx, "aa11")
		e.ok(err, "session")
		if got.UserID != u.ID || got.IP != "192.0.2.7" || got.UserAgent != "Firefox" {
			e.t.Errorf("session read back: %+v", got)
		}
		e.sameTime(got.ExpiresAt, t0.Add(time.Hour), "expiry")
		e.ok(e.s.TouchSession(e.ctx, "aa11", t0.Add(time.Minute), t0.Add(2*time.Hour)), "touch")
		got, err = e.s.Session(e.ctx, "aa11")
		e.ok(err, "session after touch")
		e.sameTime(got.SeenAt, t0.Add(time.Minute), "seen")
		e.sameTime(got.ExpiresAt, t0.Add(2*time.Hour), "expiry after touch")
		_, err = e.s.Session(e.ctx, "bb22")
		e.is(err, directory.ErrNotFound, "unknown session")
		e.ok(e.s.DeleteSession(e.ctx, "aa11"), "delete")
		_, err = e.s.Session(e.ctx, "aa11")
		e.is(err, directory.ErrNotFound, "deleted session")
		e.ok(e.s.DeleteSession(e.ctx, "aa11"), "delete a missing session")
	}},
	{"a user's sessions end together; expired ones are pruned", func(e *env) {
		alice, bob := e.user("10001"), e.user("10002")
		t0 := fixedTime()
		for _, x := range []struct {
			hash string
			user int64
			exp  time.Time
		}{{"a1", alice.ID, t0.Add(time.Hour)}, {"a2", alice.ID, t0.Add(time.Hour)},
			{"b1", bob.ID, t0.Add(time.Hour)}, {"b2", bob.ID, t0.Add(-time.Hour)}} {
			e.ok(e.s.CreateSession(e.ctx, &directory.Session{IDHash: x.hash, UserID: x.user, CreatedAt: t0,
				SeenAt: t0, ExpiresAt: x.exp}), "create %s", x.hash)
		}
		e.ok(e.s.DeleteUserSessions(e.ctx, alice.ID), "delete alice's sessions")
		for _, h := range []string{"a1", "a2"} {
			_, err := e.s.Session(e.ctx, h)
			e.is(err, directory.ErrNotFound, "session %s of alice", h)
		}
		n, err := e.s.DeleteExpiredSessions(e.ctx, t0)
		e.ok(err, "prune")
		if n != 1 {
			e.t.Errorf("pruned %d sessions, want 1", n)
		}
		_, err = e.s.Session(e.ctx, "b1")
		e.ok(err, "bob's live session")
		e.is(e.s.CreateSession(e.ctx, &directory.Session{IDHash: "x", UserID: 999999, CreatedAt: t0, SeenAt: t0,
			ExpiresAt: t0}), directory.ErrInvalid, "a session of no user")
	}},
}

var tokenTests = []test{
	{"tokens are found by hash, listed per user and revoked only by their owner", func(e *env) {
		alice, bob := e.user("10001"), e.user("10002")
		t1 := &directory.APIToken{UserID: alice.ID, Name: " CRM sync ", Hash: "h1", Prefix: "sbt_abcd"}
		t2 := &directory.APIToken{UserID: alice.ID, Name: "reports", Hash: "h2", Prefix: "sbt_efgh"}
		t3 := &directory.APIToken{UserID: bob.ID, Name: "bob's", Hash: "h3", Prefix: "sbt_ijkl"}
		for _, t := range []*directory.APIToken{t1, t2, t3} {
			e.ok(e.s.CreateToken(e.ctx, t), "create token %s", t.Name)
			if t.ID == 0 || t.CreatedAt.IsZero() {
				e.t.Errorf("token %s: no ID or time", t.Name)
			}
		}
		if t1.Name != "CRM sync" {
			e.t.Errorf("name not trimmed: %q", t1.Name)
		}
		e.is(e.s.CreateToken(e.ctx, &directory.APIToken{UserID: bob.ID, Name: "dup", Hash: "h1"}), directory.ErrConflict, "same hash")
		e.is(e.s.CreateToken(e.ctx, &directory.APIToken{UserID: bob.ID, Name: "", Hash: "h9"}), directory.ErrInvalid, "no name")
		got, err := e.s.TokenByHash(e.ctx, "h2")
		e.ok(err, "token by hash")
		if got.ID != t2.ID || got.UserID != alice.ID || got.Prefix != "sbt_efgh" || !got.LastUsedAt.IsZero() {
			e.t.Errorf("token read back: %+v", got)
		}
		_, err = e.s.TokenByHash(e.ctx, "nope")
		e.is(err, directory.ErrNotFound, "unknown hash")
		e.ok(e.s.TouchToken(e.ctx, t2.ID, fixedTime()), "touch")
		got, _ = e.s.TokenByHash(e.ctx, "h2")
		e.sameTime(got.LastUsedAt, fixedTime(), "last used")
		list, err := e.s.Tokens(e.ctx, alice.ID)
		e.ok(err, "tokens")
		if len(list) != 2 || list[0].ID != t2.ID || list[1].ID != t1.ID {
			e.t.Errorf("alice's tokens: %+v", list)
		}
		e.is(e.s.DeleteToken(e.ctx, alice.ID, t3.ID), directory.ErrNotFound, "alice revokes bob's token")
		e.ok(e.s.DeleteToken(e.ctx, bob.ID, t3.ID), "bob revokes his token")
		_, err = e.s.TokenByHash(e.ctx, "h3")
		e.is(err, directory.ErrNotFound, "revoked token")
	}},
}
