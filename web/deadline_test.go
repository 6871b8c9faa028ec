package web

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory/postgres"
	"github.com/switchboard-pbx/switchboard/directory/postgres/pgtest"
)

// With PostgreSQL frozen (SIGSTOP), pages and API calls answer
// 503 once the store deadline passes instead of hanging, and answer again
// once it thaws.
func TestFrozenDatabaseGets503(t *testing.T) {
	pg := pgtest.Private(t)
	st, err := postgres.Open(t.Context(), pg.URL, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	s, err := New(Config{Addr: "127.0.0.1:0", StoreTimeout: 300 * time.Millisecond}, st, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(s)
	t.Cleanup(hs.Close)

	type req struct {
		name, method, path string
		form               url.Values
		hdr                http.Header
		api                bool
	}
	cookie := http.Header{"Cookie": {"sb_session=" + strings.Repeat("a", 43)}}
	bearer := http.Header{"Authorization": {"Bearer sb_" + strings.Repeat("b", 40)}}
	reqs := []req{
		{"login page with a session cookie", "GET", "/login", nil, cookie, false},
		{"login", "POST", "/login", url.Values{"email": {"olga@example.com"}, "password": {"Str0ng!pass"}}, nil, false},
		{"api me", "GET", "/api/v1/me", nil, bearer, true},
		{"api calls", "GET", "/api/v1/calls", nil, bearer, true},
	}
	do := func(r req) (int, string) {
		t.Helper()
		var body *strings.Reader
		if r.form != nil {
			body = strings.NewReader(r.form.Encode())
		} else {
			body = strings.NewReader("")
		}
		hr, err := http.NewRequestWithContext(t.Context(), r.method, hs.URL+r.path, body)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range r.hdr {
			hr.Header[k] = v
		}
		if r.form != nil {
			hr.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := http.DefaultClient.Do(hr)
		if err != nil {
			t.Fatalf("%s: %v", r.name, err)
		}
		defer resp.Body.Close()
		var sb strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(buf)
			sb.Write(buf[:n])
			if err != nil {
				break
			}
		}
		return resp.StatusCode, sb.String()
	}

	pg.Freeze()
	for _, r := range reqs {
		code, body := do(r)
		if code != http.StatusServiceUnavailable {
			t.Errorf("%s with the database frozen: %d, want 503\n%.500s", r.name, code, body)
			continue
		}
		if r.api {
			var e struct {
				Error struct{ Code string } `json:"error"`
			}
			if err := json.Unmarshal([]byte(body), &e); err != nil || e.Error.Code != "unavailable" {
				t.Errorf("%s: body %q, want the JSON error unavailable", r.name, body)
			}
		} else if !strings.Contains(body, "unavailable") {
			t.Errorf("%s: the error page does not say the directory is unavailable\n%.500s", r.name, body)
		}
	}
	pg.Thaw()
	// Thawed, the store answers again: an unknown token is 401, not 503.
	// Connections cut by the freeze are replaced; a bounded retry covers
	// the pool noticing the dead ones.
	for i := 0; ; i++ {
		code, body := do(reqs[2])
		if code == http.StatusUnauthorized {
			break
		}
		if i == 50 {
			t.Fatalf("api me after the thaw: %d\n%.300s", code, body)
		}
	}
}
