package storetest

import (
	"cmp"
	"slices"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// ban returns a ban of src (a lock of ext when ext is not empty) imposed
// at now by node-a for an hour.
func ban(src, ext string, now time.Time) directory.Ban {
	return directory.Ban{Source: src, Extension: ext, Reason: "too many failed authentications",
		Created: now, Expires: now.Add(time.Hour), Node: "node-a"}
}

var banTests = []test{
	{"PutBan stores and replaces a ban", func(e *env) {
		now := fixedTime()
		b := ban("203.0.113.7", "", now)
		e.ok(e.s.PutBan(e.ctx, b), "put ban")
		e.bans(now, []directory.Ban{b}, "after one put")

		b.Reason, b.Expires, b.Node = "scanner", now.Add(3*time.Hour), "node-b"
		e.ok(e.s.PutBan(e.ctx, b), "put the same ban again")
		e.bans(now, []directory.Ban{b}, "upsert by source and extension")

		lock := ban("203.0.113.7", "10001", now)
		e.ok(e.s.PutBan(e.ctx, lock), "extension lock of the same source")
		e.bans(now, []directory.Ban{b, lock}, "a ban and a lock of one source")
		if b.Kind() != directory.BanSource || lock.Kind() != directory.BanExtension {
			e.t.Errorf("kinds %q and %q", b.Kind(), lock.Kind())
		}
	}},
	{"PutBan stores the canonical address and defaults Created", func(e *env) {
		now := time.Now()
		b := ban("::ffff:198.51.100.9", "", time.Time{})
		b.Expires = now.Add(time.Hour)
		e.ok(e.s.PutBan(e.ctx, b), "put ban of a mapped address")
		got, err := e.s.Bans(e.ctx, now)
		e.ok(err, "bans")
		if len(got) != 1 || got[0].Source != "198.51.100.9" {
			e.t.Fatalf("Bans %+v, want one of 198.51.100.9", got)
		}
		if d := time.Since(got[0].Created); d < -time.Hour || d > time.Hour {
			e.t.Errorf("Created %v, want about now", got[0].Created)
		}
		v6 := ban("2001:db8::1", "", now)
		e.ok(e.s.PutBan(e.ctx, v6), "put ban of an IPv6 address")
		n, err := e.s.DeleteBans(e.ctx, "2001:DB8:0::1")
		e.ok(err, "delete bans by another spelling")
		if n != 1 {
			e.t.Errorf("DeleteBans of 2001:DB8:0::1 removed %d, want 1", n)
		}
	}},
	{"PutBan refuses what is not a ban", func(e *env) {
		now := fixedTime()
		for _, tc := range []struct {
			name  string
			edit  func(*directory.Ban)
			field string
		}{
			{"host name", func(b *directory.Ban) { b.Source = "pbx.example.com" }, "source"},
			{"empty source", func(b *directory.Ban) { b.Source = "" }, "source"},
			{"ip and port", func(b *directory.Ban) { b.Source = "203.0.113.7:5060" }, "source"},
			{"no expiry", func(b *directory.Ban) { b.Expires = time.Time{} }, "expires"},
			{"expiry before creation", func(b *directory.Ban) { b.Expires = now.Add(-time.Second) }, "expires"},
		} {
			b := ban("203.0.113.7", "", now)
			tc.edit(&b)
			e.invalid(e.s.PutBan(e.ctx, b), tc.field, "ban with %s", tc.name)
		}
		e.bans(now.Add(-time.Hour), nil, "after refused puts")
		_, err := e.s.DeleteBans(e.ctx, "not-an-ip")
		e.invalid(err, "source", "DeleteBans of a name")
	}},
	{"Bans returns those that expire after now", func(e *env) {
		now := fixedTime()
		live := ban("203.0.113.1", "", now)
		live.Expires = now.Add(time.Second)
		gone := ban("203.0.113.2", "", now.Add(-time.Hour))
		gone.Expires = now
		e.ok(e.s.PutBan(e.ctx, live), "put live ban")
		e.ok(e.s.PutBan(e.ctx, gone), "put ban expiring now")
		e.bans(now, []directory.Ban{live}, "at now")
		e.bans(now.Add(time.Second), nil, "when the last one expires")
	}},
	{"DeleteBans lifts every ban of a source and logs it", func(e *env) {
		now := fixedTime()
		a, lock, other := ban("203.0.113.7", "", now), ban("203.0.113.7", "10001", now), ban("203.0.113.8", "", now)
		for _, b := range []directory.Ban{a, lock, other} {
			e.ok(e.s.PutBan(e.ctx, b), "put %s/%s", b.Source, b.Extension)
		}
		mark := e.mark()
		n, err := e.s.DeleteBans(e.ctx, "203.0.113.7")
		e.ok(err, "delete bans")
		if n != 2 {
			e.t.Errorf("DeleteBans removed %d, want 2", n)
		}
		e.bans(now, []directory.Ban{other}, "after lifting one source")
		e.logged(mark, "DeleteBans", directory.Change{Kind: directory.ChangeUnban, Key: "203.0.113.7"})

		mark = e.mark()
		n, err = e.s.DeleteBans(e.ctx, "203.0.113.7")
		e.ok(err, "delete bans again")
		if n != 0 {
			e.t.Errorf("second DeleteBans removed %d, want 0", n)
		}
		e.logged(mark, "DeleteBans of nothing")
	}},
	{"PutBan logs a change with its node", func(e *env) {
		mark := e.mark()
		e.ok(e.s.PutBan(e.ctx, ban("203.0.113.7", "", fixedTime())), "put ban")
		e.logged(mark, "PutBan", directory.Change{Kind: directory.ChangeBan, Key: "203.0.113.7", Node: "node-a"})
	}},
	{"DeleteExpiredBans removes expired ones without logging", func(e *env) {
		now := fixedTime()
		old, live := ban("203.0.113.1", "", now.Add(-2*time.Hour)), ban("203.0.113.2", "", now)
		e.ok(e.s.PutBan(e.ctx, old), "put expired ban")
		e.ok(e.s.PutBan(e.ctx, live), "put live ban")
		mark := e.mark()
		n, err := e.s.DeleteExpiredBans(e.ctx, now)
		e.ok(err, "delete expired bans")
		if n != 1 {
			e.t.Errorf("DeleteExpiredBans removed %d, want 1", n)
		}
		e.logged(mark, "DeleteExpiredBans")
		e.bans(now.Add(-3*time.Hour), []directory.Ban{live}, "an expired ban is gone for good")
	}},
}

// bans checks Bans(now), in any order.
func (e *env) bans(now time.Time, want []directory.Ban, what string) {
	e.t.Helper()
	got, err := e.s.Bans(e.ctx, now)
	e.ok(err, "bans")
	key := func(a, b directory.Ban) int {
		return cmp.Or(cmp.Compare(a.Source, b.Source), cmp.Compare(a.Extension, b.Extension))
	}
	got, want = slices.Clone(got), slices.Clone(want)
	slices.SortFunc(got, key)
	slices.SortFunc(want, key)
	if len(got) != len(want) {
		e.t.Errorf("Bans %s: %d bans, want %d\n got %+v\nwant %+v", what, len(got), len(want), got, want)
		return
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Source != w.Source || g.Extension != w.Extension || g.Reason != w.Reason || g.Node != w.Node {
			e.t.Errorf("Bans %s:\n got %+v\nwant %+v", what, g, w)
		}
		e.sameTime(g.Created, w.Created, "Bans %s: creation of %s/%s", what, w.Source, w.Extension)
		e.sameTime(g.Expires, w.Expires, "Bans %s: expiry of %s/%s", what, w.Source, w.Extension)
	}
}
