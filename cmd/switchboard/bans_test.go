package main

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/directory/postgres/pgtest"
	"github.com/switchboard-pbx/switchboard/internal/dirstore"
)

// `bans list` and `bans lift` work on the store, SQLite and PostgreSQL.
func TestBansListAndLift(t *testing.T) {
	for name, db := range map[string]func(t *testing.T) string{
		"sqlite":   func(*testing.T) string { return "" },
		"postgres": func(t *testing.T) string { return pgtest.URL(t) },
	} {
		t.Run(name, func(t *testing.T) {
			c := newCLI(t)
			url := db(t)
			c.env["SWITCHBOARD_DB"] = url
			st, err := dirstore.Open(t.Context(), url, c.data, discardLog())
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			now := time.Now()
			exp := now.Add(time.Hour).UTC().Truncate(time.Second)
			for _, b := range []directory.Ban{
				{Source: "203.0.113.7", Reason: "too many failed authentications", Expires: exp, Node: "a"},
				{Source: "203.0.113.7", Extension: "10001", Reason: "extension under attack", Expires: exp, Node: "a"},
				{Source: "2001:db8::5", Reason: "too many failed authentications", Expires: exp, Node: "b"},
				{Source: "192.0.2.99", Reason: "old", Created: now.Add(-2 * time.Hour), Expires: now.Add(-time.Hour)},
			} {
				if err := st.PutBan(t.Context(), b); err != nil {
					t.Fatal(err)
				}
			}

			out := c.ok("", "bans", "list")
			lines := strings.Split(strings.TrimSpace(out), "\n")
			if len(lines) != 4 || strings.Join(strings.Fields(lines[0]), " ") != "IP KIND EXTENSION REASON EXPIRES" {
				t.Fatalf("bans list:\n%s", out)
			}
			for _, want := range []string{
				"203.0.113.7 source - too many failed authentications " + exp.Format(time.RFC3339),
				"203.0.113.7 extension 10001 extension under attack " + exp.Format(time.RFC3339),
				"2001:db8::5 source -",
			} {
				if !strings.Contains(strings.Join(strings.Fields(out), " "), want) {
					t.Errorf("bans list lacks %q:\n%s", want, out)
				}
			}
			if strings.Contains(out, "192.0.2.99") {
				t.Errorf("expired ban listed:\n%s", out)
			}

			code, _, errs := c.run("", "bans", "lift", "203.0.113.7")
			if code != 0 || !strings.Contains(errs, "lifted 2 ban(s) of 203.0.113.7") {
				t.Fatalf("bans lift: exit %d, %s", code, errs)
			}
			if out := c.ok("", "bans", "list"); strings.Contains(out, "203.0.113.7") || !strings.Contains(out, "2001:db8::5") {
				t.Errorf("after lift:\n%s", out)
			}
			es, err := st.AuditLog(t.Context(), directory.AuditFilter{Action: "ban."})
			if err != nil || len(es) != 1 || es[0].Action != "ban.lift" || es[0].Object != "ban:203.0.113.7" || es[0].Actor != "cli" {
				t.Errorf("audit %+v, %v", es, err)
			}
			c.ok("", "bans", "lift", "2001:DB8:0::5") // any spelling of the address

			for _, tc := range []struct {
				args []string
				code int
				want string
			}{
				{[]string{"bans", "lift", "203.0.113.7"}, exitFailed, "no ban of 203.0.113.7"},
				{[]string{"bans", "lift", "pbx.example.com"}, exitUsage, "not an IP address"},
				{[]string{"bans", "lift"}, exitUsage, "want one IP address"},
				{[]string{"bans", "list", "extra"}, exitUsage, "unexpected argument"},
				{[]string{"bans", "drop"}, exitUsage, "unknown bans command"},
				{[]string{"bans"}, exitUsage, "bans lift IP"},
			} {
				code, _, errs := c.run("", tc.args...)
				if code != tc.code || !strings.Contains(errs, tc.want) {
					t.Errorf("%s: exit %d, %q; want %d and %q", strings.Join(tc.args, " "), code, errs, tc.code, tc.want)
				}
			}
		})
	}
}

// A source banned by a running server is listed by `bans list`, and `bans
// lift` from another process lets it in again: the server reads the change
// log and drops the ban while it runs.
func TestBansLiftReachesRunningServer(t *testing.T) {
	c := newCLI(t)
	c.ok("", "user", "add", "--name", "Anna Nowak", "--email", "anna@example.com", "--extension", "10001",
		"--ext-password", "k7#Qm2vLx9")

	m := startMain(t, c, "20100-20199", nil)
	ctx := t.Context()

	ua, err := sipgo.NewUA(sipgo.WithUserAgent("desk-phone"))
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.9"),
		sipgo.WithClientConnectionAddr("127.0.0.9:0"))
	if err != nil {
		t.Fatal(err)
	}
	host, portStr, _ := strings.Cut(m.SIPAddr(), ":")
	sipPort, _ := strconv.Atoi(portStr)
	target := sip.Uri{Scheme: "sip", Host: host, Port: sipPort}
	// register answers the status, or 0 when the server does not answer
	// within wait (a banned source is dropped unanswered).
	register := func(password string, wait time.Duration) int {
		t.Helper()
		req := sip.NewRequest(sip.REGISTER, target)
		aor := sip.Uri{Scheme: "sip", User: "10001", Host: "switchboard.local"}
		req.AppendHeader(&sip.ToHeader{Address: aor})
		from := &sip.FromHeader{Address: aor, Params: sip.NewParams()}
		from.Params.Add("tag", sip.GenerateTagN(8))
		req.AppendHeader(from)
		req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "10001", Host: "127.0.0.9", Port: 5999}})
		req.AppendHeader(sip.NewHeader("Expires", "300"))
		rctx, rcancel := context.WithTimeout(ctx, wait)
		defer rcancel()
		res, err := client.Do(rctx, req)
		if errors.Is(err, context.DeadlineExceeded) {
			return 0
		}
		if err != nil {
			t.Fatal(err)
		}
		if res.StatusCode == sip.StatusUnauthorized {
			res, err = client.DoDigestAuth(rctx, req, res, sipgo.DigestAuth{Username: "10001", Password: password})
			if errors.Is(err, context.DeadlineExceeded) {
				return 0
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		return res.StatusCode
	}
	// The default guard bans after 20 failures.
	for i := range 20 {
		if code := register("wrong-password", 5*time.Second); code != sip.StatusUnauthorized {
			t.Fatalf("wrong password %d: %d", i+1, code)
		}
	}
	// The ban is written to the store in the background.
	for !strings.Contains(c.ok("", "bans", "list"), "127.0.0.9") {
		time.Sleep(20 * time.Millisecond)
	}
	if code := register("k7#Qm2vLx9", 300*time.Millisecond); code != 0 {
		t.Fatalf("banned source answered %d", code)
	}

	lifted := time.Now()
	c.ok("", "bans", "lift", "127.0.0.9")
	for {
		code := register("k7#Qm2vLx9", 300*time.Millisecond)
		if code == sip.StatusOK {
			break
		}
		if code != 0 {
			t.Fatalf("after lift: %d", code)
		}
	}
	t.Logf("the running server let the source in %v after the lift", time.Since(lifted).Round(time.Millisecond))
}
