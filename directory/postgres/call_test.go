package postgres

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-pbx/switchboard/directory"
)

// TestCallsMatchModel compares Calls and CountCalls, whose department query
// merges per-user index ranges, with the obvious filter written in Go, over
// random calls and filters.
func TestCallsMatchModel(t *testing.T) {
	s := open(t)
	ctx := t.Context()
	rnd := rand.New(rand.NewPCG(1, 2))

	var users []int64
	for i := range 12 {
		users = append(users, mustCreate(t, s, newUser(strconv.Itoa(10001+i))).ID)
	}
	sales := &directory.Group{Name: "Sales"}
	if err := s.CreateGroup(ctx, sales); err != nil {
		t.Fatal(err)
	}
	for _, id := range users[:4] {
		if err := s.AddMember(ctx, sales.ID, id); err != nil {
			t.Fatal(err)
		}
	}
	// Parties: known users, strangers and external numbers (0, NULL).
	party := func() int64 {
		switch n := rnd.IntN(10); {
		case n < 7:
			return users[rnd.IntN(len(users))]
		case n < 8:
			return 5000 + rnd.Int64N(3)
		default:
			return 0
		}
	}
	base := time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)
	disps := []directory.Disposition{directory.Answered, directory.Busy, directory.NoAnswer, directory.Failed}
	var calls []directory.Call
	for i := range 1500 {
		c := directory.Call{
			ID:          int64(i + 1),
			CallerID:    party(),
			CalleeID:    party(),
			From:        "+4822" + strconv.Itoa(1000000+rnd.IntN(50)),
			To:          strconv.Itoa(10001 + rnd.IntN(12)),
			Direction:   directory.Internal,
			StartedAt:   base.Add(time.Duration(rnd.IntN(400)) * time.Minute), // many ties
			Disposition: disps[rnd.IntN(len(disps))],
		}
		c.Dialed = c.To
		calls = append(calls, c)
	}
	_, err := s.pool.CopyFrom(ctx, pgx.Identifier{"calls"},
		[]string{"id", "caller_id", "callee_id", "from_number", "to_number", "dialed", "direction", "started_at", "disposition"},
		pgx.CopyFromSlice(len(calls), func(i int) ([]any, error) {
			c := calls[i]
			return []any{c.ID, nullID(c.CallerID), nullID(c.CalleeID), c.From, c.To, c.Dialed, string(c.Direction),
				c.StartedAt, string(c.Disposition)}, nil
		}))
	if err != nil {
		t.Fatal(err)
	}
	members := map[int64]bool{users[0]: true, users[1]: true, users[2]: true, users[3]: true}

	match := func(c directory.Call, f directory.CallFilter) bool {
		in := func(id int64, set []int64) bool { return id != 0 && slices.Contains(set, id) }
		switch {
		case !f.Vis.All && !in(c.CallerID, f.Vis.UserIDs) && !in(c.CalleeID, f.Vis.UserIDs),
			f.UserID != 0 && c.CallerID != f.UserID && c.CalleeID != f.UserID,
			f.GroupID != 0 && !members[c.CallerID] && !members[c.CalleeID],
			!f.From.IsZero() && c.StartedAt.Before(f.From),
			!f.To.IsZero() && !c.StartedAt.Before(f.To),
			f.Number != "" && !strings.Contains(c.From, f.Number) && !strings.Contains(c.To, f.Number) &&
				!strings.Contains(c.Dialed, f.Number),
			f.Disposition != "" && c.Disposition != f.Disposition:
			return false
		}
		return true
	}
	vis := []directory.Visibility{
		{All: true},
		{},
		{UserIDs: users[:1]},
		{UserIDs: users[:5]},
		{UserIDs: []int64{users[2], users[7], users[7], 5001, 999999}},
		{UserIDs: users},
	}
	var filters []directory.CallFilter
	for _, v := range vis {
		filters = append(filters,
			directory.CallFilter{Vis: v},
			directory.CallFilter{Vis: v, UserID: users[2]},
			directory.CallFilter{Vis: v, GroupID: sales.ID},
			directory.CallFilter{Vis: v, From: base.Add(time.Hour), To: base.Add(3 * time.Hour)},
			directory.CallFilter{Vis: v, Number: "10003"},
			directory.CallFilter{Vis: v, Disposition: directory.Busy, From: base.Add(2 * time.Hour)},
		)
	}
	for i, f := range filters {
		var want []directory.Call
		for _, c := range calls {
			if match(c, f) {
				want = append(want, c)
			}
		}
		slices.SortFunc(want, func(a, b directory.Call) int {
			return cmp.Or(b.StartedAt.Compare(a.StartedAt), cmp.Compare(b.ID, a.ID))
		})
		name := fmt.Sprintf("filter %d %+v", i, f)
		n, err := s.CountCalls(ctx, f)
		if err != nil || n != len(want) {
			t.Errorf("%s: count %d, %v; want %d", name, n, err, len(want))
		}
		// Both ways of finding calls, whichever callPlan picks here.
		plans := map[string][]int64{"walk": nil}
		switch {
		case f.UserID != 0:
			plans = map[string][]int64{"merge": {f.UserID}}
		case !f.Vis.All:
			plans["merge"] = ids(f.Vis.UserIDs)
		}
		for plan, users := range plans {
			if f.UserID == 0 {
				q, args := countCallsQuery(f, users)
				if err := s.pool.QueryRow(ctx, q, args...).Scan(&n); err != nil || n != len(want) {
					t.Errorf("%s, %s: count %d, %v; want %d", name, plan, n, err, len(want))
				}
			}
			for _, p := range []directory.Page{{Number: 1, Size: 7}, {Number: 3, Size: 7}, {Number: 2, Size: 50}, {Number: 40, Size: 7}} {
				f.Page = p
				q, args := callsQuery(f, users)
				rows, err := s.pool.Query(ctx, q, args...)
				if err != nil {
					t.Fatalf("%s, %s: %v", name, plan, err)
				}
				got, err := pgx.CollectRows(rows, scanCallRow)
				if err != nil {
					t.Fatalf("%s, %s: %v", name, plan, err)
				}
				limit, offset := p.Limit()
				page := want[min(offset, len(want)):min(offset+limit, len(want))]
				if !slices.Equal(callIDs(got), callIDs(page)) {
					t.Errorf("%s, %s, page %d: %v, want %v", name, plan, p.Number, callIDs(got), callIDs(page))
				}
			}
			f.Page = directory.Page{Number: 2, Size: 5}
			got, err := s.Calls(ctx, f)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if page := want[min(5, len(want)):min(10, len(want))]; !slices.Equal(callIDs(got), callIDs(page)) {
				t.Errorf("%s: Calls %v, want %v", name, callIDs(got), callIDs(page))
			}
		}
	}
}

func callIDs(cs []directory.Call) []int64 {
	var out []int64
	for _, c := range cs {
		out = append(out, c.ID)
	}
	return out
}
