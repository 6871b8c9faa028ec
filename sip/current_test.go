package sip

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/switchboard-pbx/switchboard/directory"
)

// countingStore counts reads of the change log.
type countingStore struct {
	directory.Store
	changes atomic.Int64
}

func (c *countingStore) Changes(ctx context.Context, after int64, limit int) ([]directory.Change, error) {
	c.changes.Add(1)
	return c.Store.Changes(ctx, after, limit)
}

// TestCatchUpUnderLoad: while phones keep registering from many
// goroutines, users are deleted one by one; a REGISTER sent after the
// deletion returned is refused, every time, although the change log is
// read in shared rounds rather than once per request.
func TestCatchUpUnderLoad(t *testing.T) {
	raw, _ := openSQLite(t)
	st := &countingStore{Store: raw}
	const busy, doomed = 8, 5
	for i := range busy {
		addUser(t, st, "2000"+string(rune('0'+i)))
	}
	var gone []*directory.User
	for i := range doomed {
		gone = append(gone, addUser(t, st, "3000"+string(rune('0'+i))))
	}
	ts := startServer(t, st, nil)

	doomedPhones := make([]*phone, doomed)
	for i, u := range gone {
		doomedPhones[i] = newPhone(t, ts, u.Extension, testPassword)
		wantStatus(t, doomedPhones[i].register(300), 200)
	}
	ctx, stop := context.WithCancel(t.Context())
	var wg sync.WaitGroup
	var registers atomic.Int64
	for i := range busy {
		p := newPhone(t, ts, "2000"+string(rune('0'+i)), testPassword)
		wantStatus(t, p.register(300), 200)
		wg.Go(func() {
			for ctx.Err() == nil {
				req := p.request(300)
				p.authorize(req, p.last, p.pw)
				res, err := p.do(ctx, req)
				if err != nil {
					return
				}
				if res.StatusCode == 401 { // the nonce went stale
					p.last, p.nc = p.pick(res), 0
					continue
				}
				if res.StatusCode != 200 {
					t.Errorf("busy phone %s: %d %s", p.ext, res.StatusCode, res.Reason)
					return
				}
				registers.Add(1)
			}
		})
	}
	before := st.changes.Load()
	for i, u := range gone {
		if err := st.SetUserState(t.Context(), u.ID, directory.UserDeleted); err != nil {
			t.Fatal(err)
		}
		if res := doomedPhones[i].register(300); res.StatusCode != 403 {
			t.Errorf("REGISTER of %s after its deletion: %d %s, want 403", u.Extension, res.StatusCode, res.Reason)
		}
	}
	stop()
	wg.Wait()
	t.Logf("%d REGISTERs of busy phones and %d of deleted ones, %d reads of the change log",
		registers.Load(), doomed, st.changes.Load()-before)
	if registers.Load() == 0 {
		t.Error("the busy phones registered nothing")
	}
}
