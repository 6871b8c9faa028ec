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
