package storetest

import (
	"cmp"
	"slices"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// binding returns a registration of ext from contact that expires at exp.
func binding(ext, contact string, exp time.Time) directory.Binding {
	return directory.Binding{Extension: ext, Contact: contact, Source: "198.51.100.7:5062", Transport: "UDP",
		Expires: exp, CallID: "reg-" + ext, CSeq: 7, UserAgent: "Yealink SIP-T46U 108.86.0.20", Node: "node-a"}
}

var bindingTests = []test{
	{"PutBinding stores and replaces a binding", func(e *env) {
		now := fixedTime()
		b := binding("10001", "sip:10001@192.0.2.10:5062;transport=udp", now.Add(time.Hour))
		e.ok(e.s.PutBinding(e.ctx, b), "put binding")
		e.bindings(now, []directory.Binding{b}, "after one put")

		b.Source, b.Transport, b.Expires, b.CSeq, b.CallID = "198.51.100.8:40000", "TCP", now.Add(2*time.Hour), 8, "reg-2"
		b.UserAgent, b.Node = "Linphone 5.2", "node-b"
		e.ok(e.s.PutBinding(e.ctx, b), "put the same binding again")
		e.bindings(now, []directory.Binding{b}, "upsert by extension and contact")

		b.Direct, b.Path = true, "<sip:edge1.example.com;lr>,<sip:198.51.100.9:5070;lr>"
		e.ok(e.s.PutBinding(e.ctx, b), "put the binding with Path, not NATed")
		e.bindings(now, []directory.Binding{b}, "Path and direct kept")
		b.Direct, b.Path = false, ""
		e.ok(e.s.PutBinding(e.ctx, b), "put the binding again, NATed and without Path")
		e.bindings(now, []directory.Binding{b}, "Path and direct replaced")

		other := binding("10001", "sip:10001@192.0.2.11:5062", now.Add(30*time.Minute))
		e.ok(e.s.PutBinding(e.ctx, other), "second contact of the extension")
		e.bindings(now, []directory.Binding{b, other}, "two contacts of one extension")
	}},
	{"PutBindings writes a batch in order in one call", func(e *env) {
		now := fixedTime()
		a := binding("10001", "sip:10001@192.0.2.10:5062", now.Add(time.Hour))
		b := binding("10002", "sip:10002@192.0.2.20:5062", now.Add(time.Hour))
		a2 := a
		a2.Source, a2.CSeq, a2.Expires = "198.51.100.9:6000", 8, now.Add(2*time.Hour)
		before, err := e.s.LastChange(e.ctx)
		e.ok(err, "last change")
		e.ok(e.s.PutBindings(e.ctx, []directory.Binding{a, b, a2}), "put a batch")
		e.bindings(now, []directory.Binding{a2, b}, "the later write of a contact wins")
		changes, err := e.s.Changes(e.ctx, before, 100)
		e.ok(err, "changes")
		keys := map[string]int{}
		for _, c := range changes {
			if c.Kind == directory.ChangeBinding && c.Node == "node-a" {
				keys[c.Key]++
			}
		}
		if keys["10001"] == 0 || keys["10002"] == 0 {
			e.t.Errorf("batch logged binding changes %v, want both extensions", keys)
		}
		e.ok(e.s.PutBindings(e.ctx, nil), "an empty batch")
	}},
	{"Bindings returns those that expire after now", func(e *env) {
		now := fixedTime()
		live := binding("10001", "sip:10001@192.0.2.10:5062", now.Add(time.Second))
		for _, b := range []directory.Binding{
			live,
			binding("10002", "sip:10002@192.0.2.20:5062", now),
			binding("10003", "sip:10003@192.0.2.30:5062", now.Add(-time.Minute)),
		} {
			e.ok(e.s.PutBinding(e.ctx, b), "put binding")
		}
		e.bindings(now, []directory.Binding{live}, "at now")
		n, err := e.s.DeleteExpiredBindings(e.ctx, now)
		e.ok(err, "delete expired")
		if n != 2 {
			e.t.Errorf("DeleteExpiredBindings: %d, want 2 (expired at or before now)", n)
		}
		e.bindings(now.Add(-time.Hour), []directory.Binding{live}, "an hour earlier, after deleting the expired")
		n, err = e.s.DeleteExpiredBindings(e.ctx, now)
		e.ok(err, "delete expired again")
		if n != 0 {
			e.t.Errorf("DeleteExpiredBindings again: %d, want 0", n)
		}
	}},
	{"DeleteBinding and DeleteBindings", func(e *env) {
		now := fixedTime()
		a1 := binding("10001", "sip:10001@192.0.2.10:5062", now.Add(time.Hour))
		a2 := binding("10001", "sip:10001@192.0.2.11:5062", now.Add(time.Hour))
		b := binding("10002", "sip:10002@192.0.2.20:5062", now.Add(time.Hour))
		for _, x := range []directory.Binding{a1, a2, b} {
			e.ok(e.s.PutBinding(e.ctx, x), "put binding")
		}
		e.ok(e.s.DeleteBinding(e.ctx, directory.Binding{Extension: "10001", Contact: a1.Contact, Node: "node-b"}),
			"delete binding")
		e.bindings(now, []directory.Binding{a2, b}, "after deleting one contact")
		e.ok(e.s.PutBinding(e.ctx, a1), "put binding")
		e.ok(e.s.DeleteBindings(e.ctx, "10001", "node-b"), "delete the extension's bindings")
		e.bindings(now, []directory.Binding{b}, "after deleting every binding of 10001")
	}},
}

// bindings checks Bindings(now), in any order.
func (e *env) bindings(now time.Time, want []directory.Binding, what string) {
	e.t.Helper()
	got, err := e.s.Bindings(e.ctx, now)
	e.ok(err, "bindings")
	key := func(a, b directory.Binding) int {
		return cmp.Or(cmp.Compare(a.Extension, b.Extension), cmp.Compare(a.Contact, b.Contact))
	}
	got, want = slices.Clone(got), slices.Clone(want)
	slices.SortFunc(got, key)
	slices.SortFunc(want, key)
	if len(got) != len(want) {
		e.t.Errorf("Bindings %s: %d bindings, want %d\n got %+v\nwant %+v", what, len(got), len(want), got, want)
		return
	}
	for i := range got {
		g, w := got[i], want[i]
		if g.Extension != w.Extension || g.Contact != w.Contact || g.Source != w.Source || g.Transport != w.Transport ||
			g.CallID != w.CallID || g.CSeq != w.CSeq || g.UserAgent != w.UserAgent || g.Node != w.Node ||
			g.Direct != w.Direct || g.Path != w.Path {
			e.t.Errorf("Bindings %s:\n got %+v\nwant %+v", what, g, w)
		}
		e.sameTime(g.Expires, w.Expires, "Bindings %s: expiry of %s", what, w.Contact)
	}
}
