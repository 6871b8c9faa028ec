package storetest

import (
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

var changesExceptTests = []test{
	{"ChangesExcept leaves out one node's binding changes and says where it got to", func(e *env) {
		ce, ok := e.s.(directory.ChangesExcepter)
		if !ok {
			e.t.Skip("the store reads the change log whole")
		}
		m := e.mark()
		exp := fixedTime().Add(time.Hour)
		own := binding("10001", "sip:10001@192.0.2.10:5062", exp)
		e.ok(e.s.PutBindings(e.ctx, []directory.Binding{own}), "put node-a's binding")
		u := e.user("10002")
		other := binding("10003", "sip:10003@192.0.2.30:5062", exp)
		other.Node = "node-b"
		e.ok(e.s.PutBindings(e.ctx, []directory.Binding{other}), "put node-b's binding")
		e.ok(e.s.PutBindings(e.ctx, []directory.Binding{own}), "put node-a's binding again")
		end := e.mark()

		all, err := e.s.Changes(e.ctx, m, 100)
		e.ok(err, "changes")
		var want []directory.Change
		for _, c := range all {
			if c.Kind != directory.ChangeBinding || c.Node != "node-a" {
				want = append(want, c)
			}
		}
		cs, last, err := ce.ChangesExcept(e.ctx, m, 100, "node-a")
		e.ok(err, "changes except node-a")
		if last != end {
			e.t.Errorf("last %d, want %d (the newest entry, one of node-a's)", last, end)
		}
		if len(cs) != len(want) {
			e.t.Fatalf("got %+v, want %+v", cs, want)
		}
		for i := range cs {
			if cs[i].Seq != want[i].Seq || cs[i].Kind != want[i].Kind || cs[i].Key != want[i].Key || cs[i].Node != want[i].Node {
				e.t.Errorf("entry %d: %+v, want %+v", i, cs[i], want[i])
			}
		}
		found := false
		for _, c := range cs {
			found = found || (c.Kind == directory.ChangeUser && c.ID == u.ID)
		}
		if !found {
			e.t.Errorf("the user change is missing from %+v", cs)
		}

		// A read of only node-a's entries returns none, and moves on.
		cs, last, err = ce.ChangesExcept(e.ctx, all[len(all)-2].Seq, 1, "node-a")
		e.ok(err, "changes except node-a, one entry")
		if len(cs) != 0 || last != end {
			e.t.Errorf("one of node-a's entries: %+v up to %d, want none up to %d", cs, last, end)
		}
		cs, last, err = ce.ChangesExcept(e.ctx, end, 100, "node-a")
		e.ok(err, "changes except node-a, none left")
		if len(cs) != 0 || last != end {
			e.t.Errorf("nothing left: %+v up to %d, want none up to %d", cs, last, end)
		}

		// Entries pruned: the read jumps the gap.
		e.ok(e.s.PruneChanges(e.ctx, time.Now().Add(time.Hour)), "prune every change")
		e.ok(e.s.PutBindings(e.ctx, []directory.Binding{other}), "put node-b's binding after the prune")
		newest := e.mark()
		cs, last, err = ce.ChangesExcept(e.ctx, m, 2, "node-a")
		e.ok(err, "changes except node-a across a gap")
		if len(cs) != 1 || cs[0].Seq != newest || last != newest {
			e.t.Errorf("across a gap: %+v up to %d, want node-b's entry %d", cs, last, newest)
		}
	}},
}
