package directory_test

import (
	"errors"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// chain builds n chained entries as a store would.
func chain(n int) []directory.AuditEntry {
	es := make([]directory.AuditEntry, n)
	prev := ""
	for i := range es {
		es[i] = directory.AuditEntry{ID: int64(i + 1), At: directory.AuditTime(time.Date(2025, 3, 14, 9, i, 0, 0, time.UTC)),
			Actor: "admin@example.com", IP: "192.0.2.1", Action: "user.update", Object: "user:2",
			Before: `{"email":"a@example.com"}`, After: `{"email":"b@example.com"}`, PrevHash: prev}
		es[i].Hash = es[i].ChainHash()
		prev = es[i].Hash
	}
	return es
}

func verify(es []directory.AuditEntry) (*directory.AuditChain, error) {
	var c directory.AuditChain
	for i := range es {
		if err := c.Next(&es[i]); err != nil {
			return &c, err
		}
	}
	return &c, nil
}

// TestAuditChainFindsTheFirstBadEntry: the tampering a database
// administrator could do afterwards, each named by the entry it breaks.
func TestAuditChainFindsTheFirstBadEntry(t *testing.T) {
	for _, tc := range []struct {
		name   string
		tamper func([]directory.AuditEntry) []directory.AuditEntry
		bad    int64 // 0: the chain holds
	}{
		{"untouched", func(es []directory.AuditEntry) []directory.AuditEntry { return es }, 0},
		{"a changed detail", func(es []directory.AuditEntry) []directory.AuditEntry {
			es[2].After = `{"email":"x@example.com"}`
			return es
		}, 3},
		{"a changed source address", func(es []directory.AuditEntry) []directory.AuditEntry { es[1].IP = "198.51.100.1"; return es }, 2},
		{"a changed time", func(es []directory.AuditEntry) []directory.AuditEntry {
			es[3].At = es[3].At.Add(time.Microsecond)
			return es
		}, 4},
		{"a removed entry", func(es []directory.AuditEntry) []directory.AuditEntry { return append(es[:2], es[3:]...) }, 4},
		{"an entry rehashed after a change", func(es []directory.AuditEntry) []directory.AuditEntry {
			es[1].Actor = "someone@example.com"
			es[1].Hash = es[1].ChainHash()
			return es
		}, 3},
		{"a hash removed", func(es []directory.AuditEntry) []directory.AuditEntry { es[2].Hash = ""; return es }, 3},
		{"reordered", func(es []directory.AuditEntry) []directory.AuditEntry { es[1], es[2] = es[2], es[1]; return es }, 3},
	} {
		_, err := verify(tc.tamper(chain(5)))
		var ce *directory.AuditChainError
		switch {
		case tc.bad == 0 && err != nil:
			t.Errorf("%s: %v", tc.name, err)
		case tc.bad != 0 && (!errors.As(err, &ce) || ce.ID != tc.bad):
			t.Errorf("%s: %v, want entry %d named", tc.name, err, tc.bad)
		}
	}
	// Entries older than the chain (written before it existed) are counted,
	// not checked; the chain starts with an empty PrevHash after them.
	legacy := []directory.AuditEntry{{ID: 1, Action: "user.create"}, {ID: 2, Action: "user.login"}}
	es := chain(3)
	for i := range es {
		es[i].ID += 2
		if i == 0 {
			es[i].PrevHash = ""
		}
		es[i].Hash = ""
	}
	prev := ""
	for i := range es {
		es[i].PrevHash = prev
		es[i].Hash = es[i].ChainHash()
		prev = es[i].Hash
	}
	c, err := verify(append(legacy, es...))
	if err != nil || c.Legacy != 2 || c.Entries != 3 || c.Head != prev {
		t.Errorf("legacy then chained: %+v %v", c, err)
	}
}
