package web

import (
	"context"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// clientFrom is a browser whose connections leave from the loopback address
// ip (127.0.0.0/8 is all loopback on Linux): another source, as the server
// sees it in RemoteAddr. The server trusts no forwarding header.
func clientFrom(t *testing.T, base, ip string) *client {
	t.Helper()
	c := newClient(t, base)
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	c.hc.Transport = &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}}
	jar, _ := cookiejar.New(nil)
	c.hc.Jar = jar
	return c
}

// TestLoginLockoutIsNotAWeapon replays a lockout used as a weapon: an
// attacker fails five times on the Owner's e-mail from one address; the
// Owner, from another, still signs in with the right password. Guessing from many
// sources is slowed (a source that failed gets no more tries once the
// account is under attack) without refusing a source that has not failed.
// Every failed and throttled login is in the audit log with its source.
func TestLoginLockoutIsNotAWeapon(t *testing.T) {
	f := newFixture(t)
	s, st, ts := f.open(t)
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	s.throttle = newThrottle(func() time.Time { return now })
	wrong := url.Values{"email": {"owner@example.com"}, "password": {"Wrong-pass-1!"}}

	attacker := clientFrom(t, ts.URL, "127.0.0.2")
	for i := 0; i < 5; i++ {
		if resp, _ := attacker.do(http.MethodPost, "/login", wrong, nil); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("attacker's try %d: %d", i+1, resp.StatusCode)
		}
	}
	if resp := attacker.login("owner@example.com", testPassword); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("the attacker's source, even with the password: %d, want 429", resp.StatusCode)
	}
	if resp := clientFrom(t, ts.URL, "127.0.0.1").login("owner@example.com", testPassword); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("the owner from their own address: %d, want 303 (signed in)", resp.StatusCode)
	}

	// Many sources: 4 tries each from 127.0.0.3-7 put the account (5 failures
	// already) over its limit of 20 during 127.0.0.6's fourth try; from then
	// on a source that failed gets no further try (127.0.0.7: one failure,
	// three refusals), a fresh one with the right password still signs in.
	for i := 3; i <= 7; i++ {
		c := clientFrom(t, ts.URL, "127.0.0."+itoa(int64(i)))
		for j := 0; j < 4; j++ {
			c.do(http.MethodPost, "/login", wrong, nil)
		}
	}
	if resp := clientFrom(t, ts.URL, "127.0.0.7").login("owner@example.com", testPassword); resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("a source that failed on an account under attack: %d, want 429", resp.StatusCode)
	}
	if resp := clientFrom(t, ts.URL, "127.0.0.8").login("owner@example.com", testPassword); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("a fresh source on an account under attack: %d, want 303", resp.StatusCode)
	}

	failed, err := st.AuditLog(t.Context(), directory.AuditFilter{Action: "user.login.failed", Page: directory.Page{Size: 100}})
	if err != nil {
		t.Fatal(err)
	}
	throttled, err := st.AuditLog(t.Context(), directory.AuditFilter{Action: "user.login.throttled", Page: directory.Page{Size: 100}})
	if err != nil {
		t.Fatal(err)
	}
	if len(failed) != 5+4+4+4+3+1 || len(throttled) != 1+1+3+1 {
		t.Fatalf("%d failed and %d throttled logins audited, want 21 and 6", len(failed), len(throttled))
	}
	if e := throttled[len(throttled)-1]; e.Object != "email:owner@example.com" || e.IP != "127.0.0.2" {
		t.Errorf("throttled entry: %+v", e)
	}
}
