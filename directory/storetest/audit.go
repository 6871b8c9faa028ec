package storetest

import (
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

var auditTests = []test{
	{"audit entries are listed newest first and filtered", func(e *env) {
		alice, bob := e.user("10001"), e.user("10002")
		t0 := fixedTime()
		e1 := &directory.AuditEntry{At: t0, ActorID: alice.ID, Actor: "alice@example.com", Action: "user.create",
			Object: "user:2", Detail: `{"extension":"10002"}`}
		e2 := &directory.AuditEntry{At: t0.Add(time.Minute), Actor: "cli", Action: "settings.set",
			Object: "setting:recording.policy", Detail: "all"}
		e3 := &directory.AuditEntry{At: t0.Add(2 * time.Minute), ActorID: alice.ID, Actor: "alice@example.com",
			Action: "recording.listen", Object: "recording:7"}
		e4 := &directory.AuditEntry{At: t0.Add(3 * time.Minute), ActorID: bob.ID, Actor: "bob@example.com",
			Action: "user.block", Object: "user:1"}
		// Written last, happened first: newest first goes by the time.
		e0 := &directory.AuditEntry{At: t0.Add(-time.Minute), Actor: "system", Action: "settings.set", Object: "setting:x"}
		for _, x := range []*directory.AuditEntry{e1, e2, e3, e4, e0} {
			e.ok(e.s.Audit(e.ctx, x), "audit %s", x.Action)
			if x.ID == 0 {
				e.t.Fatal("Audit set no ID")
			}
		}
		got := e.audit(directory.AuditFilter{}, []*directory.AuditEntry{e4, e3, e2, e1, e0}, "everything")
		for i, w := range []*directory.AuditEntry{e4, e3, e2, e1, e0} {
			if i < len(got) {
				g := got[i]
				if g.ID != w.ID || g.ActorID != w.ActorID || g.Actor != w.Actor || g.Action != w.Action ||
					g.Object != w.Object || g.Detail != w.Detail {
					e.t.Errorf("audit entry read back\n got %+v\nwant %+v", g, *w)
				}
				e.sameTime(g.At, w.At, "audit entry %d time", w.ID)
			}
		}
		e.audit(directory.AuditFilter{ActorID: alice.ID}, []*directory.AuditEntry{e3, e1}, "actor")
		e.audit(directory.AuditFilter{Action: "user."}, []*directory.AuditEntry{e4, e1}, "action prefix")
		e.audit(directory.AuditFilter{Action: "user.block"}, []*directory.AuditEntry{e4}, "whole action")
		e.audit(directory.AuditFilter{ActorID: alice.ID, Action: "user."}, []*directory.AuditEntry{e1}, "actor and action")
		e.audit(directory.AuditFilter{Action: "block"}, nil, "prefix, not substring")
		e.audit(directory.AuditFilter{Page: directory.Page{Number: 2, Size: 3}}, []*directory.AuditEntry{e1, e0}, "page 2 of 3")
	}},
	{"audit entries keep source, user agent, before and after, and form a hash chain", func(e *env) {
		alice := e.user("10001")
		t0 := fixedTime()
		var written []*directory.AuditEntry
		for i, x := range []*directory.AuditEntry{
			{At: t0, ActorID: alice.ID, Actor: "alice@example.com", IP: "192.0.2.7", UserAgent: "Mozilla/5.0",
				Action: "user.update", Object: "user:2", Before: `{"email":"a@example.com"}`, After: `{"email":"b@example.com"}`},
			{At: t0.Add(time.Second + 123456789*time.Nanosecond), Actor: "cli", Action: "ban.lift", Object: "ban:203.0.113.7"},
			{Actor: "system", Action: "ban.create", Object: "ban:203.0.113.8", Detail: "auth failures"}, // At: now
			{At: t0.Add(-time.Hour), ActorID: alice.ID, Actor: "alice@example.com", IP: "2001:db8::1",
				Action: "denied", Object: "recording:9", Detail: "GET /recordings/{id}/audio 404"},
		} {
			e.ok(e.s.Audit(e.ctx, x), "audit %d", i)
			if x.Hash == "" || x.Hash != x.ChainHash() {
				e.t.Errorf("entry %d: hash %q, want %q", i, x.Hash, x.ChainHash())
			}
			if i > 0 && x.PrevHash != written[i-1].Hash {
				e.t.Errorf("entry %d not chained to the one before", i)
			}
			written = append(written, x)
		}
		e.sameTime(written[1].At, t0.Add(time.Second+123456*time.Microsecond), "time kept to the microsecond")
		var chain directory.AuditChain
		var after int64
		var got []directory.AuditEntry
		for {
			page, err := e.s.AuditRange(e.ctx, after, 3)
			e.ok(err, "audit range after %d", after)
			if len(page) == 0 {
				break
			}
			for i := range page {
				e.ok(chain.Next(&page[i]), "verify entry %d", page[i].ID)
			}
			got = append(got, page...)
			after = page[len(page)-1].ID
		}
		if len(got) != len(written) || chain.Entries != len(written) || chain.Head != written[len(written)-1].Hash {
			e.t.Fatalf("chain read back: %d entries, %d verified, head %q", len(got), chain.Entries, chain.Head)
		}
		for i, w := range written {
			g := got[i]
			if g.ID != w.ID || g.IP != w.IP || g.UserAgent != w.UserAgent || g.Before != w.Before || g.After != w.After ||
				g.Detail != w.Detail || g.Hash != w.Hash || g.PrevHash != w.PrevHash {
				e.t.Errorf("entry read back\n got %+v\nwant %+v", g, *w)
			}
		}
		e.audit(directory.AuditFilter{Object: "user:2"}, written[:1], "object")
		e.audit(directory.AuditFilter{Object: "user:"}, nil, "object is exact")
		e.audit(directory.AuditFilter{From: t0, To: t0.Add(2 * time.Second)}, []*directory.AuditEntry{written[1], written[0]}, "time range")
		e.audit(directory.AuditFilter{To: t0}, written[3:], "before a time")
	}},
	{"an action prefix is literal, not a pattern", func(e *env) {
		t0 := fixedTime()
		under := &directory.AuditEntry{At: t0, Actor: "system", Action: "sip_trunk.update"}
		other := &directory.AuditEntry{At: t0.Add(time.Second), Actor: "system", Action: "sipxtrunk.update"}
		pct := &directory.AuditEntry{At: t0.Add(2 * time.Second), Actor: "system", Action: "a%b.update"}
		for _, x := range []*directory.AuditEntry{under, other, pct} {
			e.ok(e.s.Audit(e.ctx, x), "audit %s", x.Action)
		}
		e.audit(directory.AuditFilter{Action: "sip_trunk."}, []*directory.AuditEntry{under}, "prefix with _")
		e.audit(directory.AuditFilter{Action: "a%"}, []*directory.AuditEntry{pct}, "prefix with %")
		e.audit(directory.AuditFilter{Action: "%"}, nil, "prefix %")
	}},
}

// audit checks the IDs AuditLog lists, in order, and returns the entries.
func (e *env) audit(f directory.AuditFilter, want []*directory.AuditEntry, what string) []directory.AuditEntry {
	e.t.Helper()
	got, err := e.s.AuditLog(e.ctx, f)
	e.ok(err, "audit log %s", what)
	var gotIDs, wantIDs []int64
	for _, g := range got {
		gotIDs = append(gotIDs, g.ID)
	}
	for _, w := range want {
		wantIDs = append(wantIDs, w.ID)
	}
	e.ids(gotIDs, wantIDs, "AuditLog %s", what)
	return got
}
