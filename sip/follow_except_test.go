package sip

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/switchboard-pbx/switchboard/directory"
)

// ownChanges counts the binding changes of node-a a follower is handed.
type ownChanges struct {
	directory.Store
	own atomic.Int64
}

func (c *ownChanges) count(cs []directory.Change) {
	for _, ch := range cs {
		if ch.Kind == directory.ChangeBinding && ch.Node == "node-a" {
			c.own.Add(1)
		}
	}
}

func (c *ownChanges) Changes(ctx context.Context, after int64, limit int) ([]directory.Change, error) {
	cs, err := c.Store.Changes(ctx, after, limit)
	c.count(cs)
	return cs, err
}

func (c *ownChanges) ChangesExcept(ctx context.Context, after int64, limit int, node string) ([]directory.Change, int64, error) {
	cs, last, err := c.Store.(directory.ChangesExcepter).ChangesExcept(ctx, after, limit, node)
	c.count(cs)
	return cs, last, err
}

// TestFollowerSkipsOwnBindingChanges: the change log is followed without
// reading this node's own binding changes (it has those in memory; at full
// load they are thousands a second), and other changes still arrive.
func TestFollowerSkipsOwnBindingChanges(t *testing.T) {
	raw, _ := openSQLite(t)
	st := &ownChanges{Store: raw}
	for _, ext := range []string{"10001", "10002", "10003"} {
		addUser(t, st, ext)
	}
	ts := startServer(t, st, nil)
	for _, ext := range []string{"10001", "10002", "10003"} {
		wantStatus(t, newPhone(t, ts, ext, testPassword).register(300), 200)
	}
	addUser(t, st, "10004")
	if err := ts.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, ok := ts.creds.Lookup("10004"); !ok {
		t.Error("the user added meanwhile did not reach the cache")
	}
	if n := st.own.Load(); n != 0 {
		t.Errorf("the follower read %d of this node's own binding changes, want 0", n)
	}
	wantStatus(t, newPhone(t, ts, "10004", testPassword).register(300), 200)
}
