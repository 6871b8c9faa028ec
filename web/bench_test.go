package web

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/directory/postgres"
	"github.com/switchboard-pbx/switchboard/directory/postgres/pgtest"
)

// BenchmarkCallHistory serves the call-history page and the API list of
// calls over loopback HTTP, session and token checks included, from
// PostgreSQL holding a million calls, to a user whose calls.history scope is
// department (40 users of 2,000). It reports requests/s and the p99 latency:
//
//	go test ./web/ -run '^$' -bench CallHistory -benchtime 2000x
//
// The data is loaded as directory/postgres/bench_test.go does it: groups and
// users by SQL, the calls with COPY.
func BenchmarkCallHistory(b *testing.B) {
	ctx := context.Background()
	url := pgtest.URL(b)
	st, err := postgres.Open(ctx, url, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	start := time.Now()
	if err := loadMillion(ctx, url); err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded 1,000,000 calls in %v", time.Since(start).Round(time.Millisecond))
	lead := &directory.Role{Name: "Team lead", Perms: map[string]string{"calls.history": "department"}}
	if err := st.CreateRole(ctx, lead); err != nil {
		b.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		b.Fatal(err)
	}
	_, err = conn.Exec(ctx, `UPDATE user_roles SET role_id = $1 WHERE user_id = 1`, lead.ID)
	conn.Close(ctx)
	if err != nil {
		b.Fatal(err)
	}
	a, err := st.Access(ctx, 1)
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("department: %d users", len(a.Department))
	now := time.Now().UTC()
	sid := randomToken(32)
	if err := st.CreateSession(ctx, &directory.Session{IDHash: sha256Hex(sid), UserID: 1, CreatedAt: now, SeenAt: now,
		ExpiresAt: now.Add(time.Hour)}); err != nil {
		b.Fatal(err)
	}
	tok, _, err := NewAPIToken(ctx, st, 1, "bench")
	if err != nil {
		b.Fatal(err)
	}
	s, err := New(Config{}, st, nil, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(s)
	b.Cleanup(ts.Close)
	tr := &http.Transport{MaxIdleConnsPerHost: 64}
	hc := &http.Client{Transport: tr}
	b.Cleanup(tr.CloseIdleConnections)

	for _, tc := range []struct {
		name, path string
		auth       func(*http.Request)
	}{
		{"page", "/calls", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "sb_session", Value: sid}) }},
		{"api", "/api/v1/calls", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }},
		{"page=20", "/calls?page=20", func(r *http.Request) { r.AddCookie(&http.Cookie{Name: "sb_session", Value: sid}) }},
		{"api/number-filter", "/api/v1/calls?number=%2B48221", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }},
	} {
		b.Run(tc.name, func(b *testing.B) {
			var mu sync.Mutex
			var lat []time.Duration
			b.SetParallelism(4)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var mine []time.Duration
				for pb.Next() {
					req, _ := http.NewRequest(http.MethodGet, ts.URL+tc.path, nil)
					tc.auth(req)
					t0 := time.Now()
					resp, err := hc.Do(req)
					if err != nil {
						b.Error(err)
						return
					}
					var buf [32 << 10]byte
					for {
						if _, err := resp.Body.Read(buf[:]); err != nil {
							break
						}
					}
					resp.Body.Close()
					mine = append(mine, time.Since(t0))
					if resp.StatusCode != 200 {
						b.Errorf("%s: %d", tc.path, resp.StatusCode)
						return
					}
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			})
			b.StopTimer()
			slices.Sort(lat)
			if len(lat) > 0 {
				b.ReportMetric(float64(len(lat))/b.Elapsed().Seconds(), "req/s")
				b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
				b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			}
		})
	}
}

// loadMillion fills the database like the postgres backend's benchmark:
// 2,000 users in 100 groups of 20, every odd group the subgroup of the one
// before (a department of 40), a million calls over a year.
func loadMillion(ctx context.Context, url string) error {
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	return pgtest.LoadDirectory(ctx, conn, 2000, 1_000_000)
}
