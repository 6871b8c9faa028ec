package postgres

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/directory/postgres/pgtest"
)

// The call history benchmarks share one database of a million calls,
// loaded with COPY once per test binary (10-15 s) and dropped by TestMain;
// each sub-benchmark logs the EXPLAIN (ANALYZE, BUFFERS) of its query (-v
// shows it whole):
//
//	go test ./directory/postgres/ -run '^$' -bench CallHistory -benchtime 2s -v
//
// 2,000 users in 100 groups of 20; every odd group is the subgroup of the
// one before, so a department (Access.Department of a user in an upper
// group) is 40 users. Calls spread over a year, each side a random user or,
// one time in seven, an outside number.
const (
	benchCalls = 1_000_000
	benchUsers = 2_000
)

var bench struct {
	once  sync.Once
	drop  func(context.Context) error
	store *Store
	dept  []int64
	err   error
	skip  string
}

func TestMain(m *testing.M) {
	code := m.Run()
	if bench.store != nil {
		bench.store.Close()
	}
	if bench.drop != nil {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := bench.drop(ctx); err != nil {
			fmt.Fprintln(os.Stderr, err)
		}
		cancel()
	}
	os.Exit(code)
}

// benchStore returns the store of the shared million-call database and the
// department benchmarked.
func benchStore(b *testing.B) (*Store, []int64) {
	b.Helper()
	bench.once.Do(func() { loadBench(b) })
	if bench.skip != "" {
		if os.Getenv("CI") == "true" {
			b.Fatal(bench.skip)
		}
		b.Skip(bench.skip)
	}
	if bench.err != nil {
		b.Fatal(bench.err)
	}
	return bench.store, bench.dept
}

func loadBench(b *testing.B) {
	ctx := context.Background()
	url, drop, err := pgtest.NewDatabase(ctx, "sb_bench_")
	if errors.Is(err, pgtest.ErrUnreachable) {
		bench.skip = err.Error()
		return
	}
	if err != nil {
		bench.err = err
		return
	}
	bench.drop = drop
	s, err := Open(ctx, url, nil)
	if err != nil {
		bench.err = err
		return
	}
	bench.store = s
	start := time.Now()
	if bench.err = loadCalls(ctx, s); bench.err != nil {
		return
	}
	b.Logf("loaded %d calls in %v", benchCalls, time.Since(start).Round(time.Millisecond))

	// A user of the first upper group: group 2 (users 1-20) with its
	// subgroup 3 (users 21-40).
	a, err := s.Access(ctx, 1)
	if err != nil {
		bench.err = err
		return
	}
	bench.dept = a.Department
}

func loadCalls(ctx context.Context, s *Store) error {
	return pgtest.LoadDirectory(ctx, s.pool, benchUsers, benchCalls)
}

// explain logs the plan of the query Calls (or CountCalls) runs for f,
// with EXPLAIN (ANALYZE, BUFFERS).
func explain(b *testing.B, s *Store, f directory.CallFilter, count bool) {
	b.Helper()
	users, err := s.callPlan(b.Context(), f)
	if err != nil {
		b.Fatal(err)
	}
	q, args := callsQuery(f, users)
	if count {
		q, args = countCallsQuery(f, countPlan(f))
	}
	rows, err := s.pool.Query(b.Context(), "EXPLAIN (ANALYZE, BUFFERS) "+q, args...)
	if err != nil {
		b.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("query:\n%s\nplan:\n%s", q, strings.Join(lines, "\n"))
}

// benchCallPages runs Calls over page 1 and page deep of f, and
// CountCalls.
func benchCallPages(b *testing.B, s *Store, f directory.CallFilter, deep int) {
	for _, page := range []int{1, deep} {
		b.Run("page="+strconv.Itoa(page), func(b *testing.B) {
			f := f
			f.Page = directory.Page{Number: page, Size: 50}
			explain(b, s, f, false)
			b.ReportAllocs()
			for b.Loop() {
				cs, err := s.Calls(b.Context(), f)
				if err != nil || len(cs) != 50 {
					b.Fatalf("calls: %d, %v", len(cs), err)
				}
			}
		})
	}
	b.Run("count", func(b *testing.B) {
		explain(b, s, f, true)
		for b.Loop() {
			if n, err := s.CountCalls(b.Context(), f); err != nil || n == 0 {
				b.Fatalf("count: %d, %v", n, err)
			}
		}
	})
}

// BenchmarkCallHistoryDepartment lists a page of 50 calls at department
// scope (the calls of 40 users, as caller or callee) out of a million, and
// counts them; the target is under 20 ms a page.
func BenchmarkCallHistoryDepartment(b *testing.B) {
	s, dept := benchStore(b)
	b.Logf("department: %d users", len(dept))
	benchCallPages(b, s, directory.CallFilter{Vis: directory.Visibility{UserIDs: dept}}, 20)

	// The obvious query, for comparison: the planner walks calls_started_at
	// (or, for deep pages, gathers every call of the department and sorts).
	for _, offset := range []int{0, 950} {
		b.Run("page="+strconv.Itoa(offset/50+1)+"/or-shape", func(b *testing.B) {
			q := "SELECT " + callColumns + ` FROM calls c WHERE c.caller_id = ANY($1) OR c.callee_id = ANY($1)
				ORDER BY c.started_at DESC, c.id DESC LIMIT 50 OFFSET $2`
			for b.Loop() {
				rows, err := s.pool.Query(b.Context(), q, dept, offset)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := pgx.CollectRows(rows, scanCallRow); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCallHistoryOwn lists the calls of one user (scope own).
func BenchmarkCallHistoryOwn(b *testing.B) {
	s, dept := benchStore(b)
	benchCallPages(b, s, directory.CallFilter{Vis: directory.Visibility{UserIDs: dept[:1]}}, 10)
}

// BenchmarkCallHistoryLargeDepartment lists the calls of 400 users, a
// fifth of everyone: Calls walks everyone's calls instead of merging.
func BenchmarkCallHistoryLargeDepartment(b *testing.B) {
	s, _ := benchStore(b)
	var users []int64
	for id := int64(1); id <= 400; id++ {
		users = append(users, id)
	}
	benchCallPages(b, s, directory.CallFilter{Vis: directory.Visibility{UserIDs: users}}, 20)
}

// BenchmarkCallHistoryAny lists a page of everyone's calls (scope any) out
// of a million, and counts them all.
func BenchmarkCallHistoryAny(b *testing.B) {
	s, _ := benchStore(b)
	benchCallPages(b, s, directory.CallFilter{Vis: directory.Visibility{All: true}}, 20)
}
