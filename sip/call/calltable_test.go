package call

import (
	"fmt"
	"testing"
)

// TestCallTableRemove: a call leaves the table under every Call-ID it was
// filed under, and only those: another call's entries, one that took over
// a Call-ID the call had, and the count of calls stay right.
func TestCallTableRemove(t *testing.T) {
	tbl := newCallTable(0)
	a, b := &Call{ID: "a"}, &Call{ID: "b"}
	for _, c := range []*Call{a, b} {
		if err := tbl.add(c); err != nil {
			t.Fatal(err)
		}
	}
	tbl.Alias("a-leg-b", a)
	tbl.AliasIfFiled("a-leg-c", a)
	tbl.Alias("moved", a)
	tbl.Alias("moved", b) // b's now
	tbl.Alias("gone", a)
	tbl.Unalias("gone", a)
	if n := tbl.Active(); n != 2 {
		t.Fatalf("%d calls active, want 2", n)
	}
	tbl.remove(a)
	tbl.remove(a) // twice: nothing more goes
	want := map[string]*Call{"b": b, "moved": b}
	if fmt.Sprint(tbl.Calls) != fmt.Sprint(want) {
		t.Fatalf("table %v, want %v", tbl.Calls, want)
	}
	if n := tbl.Active(); n != 1 {
		t.Fatalf("%d calls active, want 1", n)
	}
	tbl.AliasIfFiled("late", a) // a is gone: not filed again
	if tbl.Lookup("late") != nil {
		t.Fatal("a call gone from the table filed again")
	}
}
