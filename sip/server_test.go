package sip

import (
	"context"
	"log/slog"
	"net"
	"os/exec"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
)

// listenHandler passes records on and reports each "sip listening" one.
type listenHandler struct {
	slog.Handler
	ch chan map[string]string
}

func (h listenHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h listenHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == "sip listening" {
		m := map[string]string{}
		r.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value.String(); return true })
		h.ch <- m
	}
	return h.Handler.Handle(ctx, r)
}

// Run listens on UDP and TCP on one port, logs each listener, answers, and
// returns nil after ctx ends.
func TestRun(t *testing.T) {
	st, _ := openSQLite(t)
	ch := make(chan map[string]string, 2)
	log := slog.New(listenHandler{slog.DiscardHandler, ch})
	srv, err := NewServer(Config{Addr: "127.0.0.1:0"}, st, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	got := map[string]string{}
	for range 2 {
		m := <-ch
		got[m["transport"]] = m["addr"]
	}
	if got["udp"] == "" || got["udp"] != got["tcp"] {
		t.Fatalf("listening on %v, want UDP and TCP on one address", got)
	}
	for _, network := range []string{"udp", "tcp"} {
		c, err := net.Dial(network, got[network])
		if err != nil {
			t.Fatal(err)
		}
		opts := "OPTIONS sip:" + got[network] + " SIP/2.0\r\nVia: SIP/2.0/" + strings.ToUpper(network) +
			" 127.0.0.1:9;branch=z9hG4bK" + sip.GenerateTagN(10) + ";rport\r\nFrom: <sip:t@x>;tag=1\r\nTo: <sip:x@x>\r\n" +
			"Call-ID: run-" + network + "\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
		if _, err := c.Write([]byte(opts)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4096)
		n, err := c.Read(buf)
		if err != nil {
			t.Fatalf("%s: %v", network, err)
		}
		if !strings.HasPrefix(string(buf[:n]), "SIP/2.0 200 OK") {
			t.Errorf("%s: answered %q", network, buf[:n])
		}
		c.Close()
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if err := srv.Serve(t.Context(), nil, nil); err == nil {
		t.Error("a server served twice")
	}
}

// The realm follows the sip.domain setting when no domain is configured;
// passwords hashed for the old domain stop working (and an operator is
// told), those set again for the new one work.
func TestDomainFollowsSetting(t *testing.T) {
	st, _ := openSQLite(t)
	u := addUser(t, st, "10001")
	ts := startServer(t, st, nil)
	p := newPhone(t, ts, "10001", testPassword)
	wantStatus(t, p.register(60), 200)

	if err := st.SetSetting(t.Context(), directory.SettingDomain, "pbx.example.com"); err != nil {
		t.Fatal(err)
	}
	if err := ts.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if ts.realm() != "pbx.example.com" {
		t.Fatalf("realm %q", ts.realm())
	}
	wantStatus(t, p.register(60), 401)
	if !strings.Contains(ts.log.String(), "extension password was set for another sip domain") {
		t.Error("realm mismatch not logged")
	}
	if err := st.SetSIPSecret(t.Context(), u.ID, directory.NewSIPSecret("10001", "pbx.example.com", testPassword)); err != nil {
		t.Fatal(err)
	}
	if err := ts.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, p.register(60), 200)
}

// A 200 listing more contacts than fit in a UDP datagram would never be
// sent; the phone gets its own contacts instead.
func TestLargeContactListOverUDP(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	ts := startServer(t, st, nil)
	long := ";transport=udp;ob;x-padding=" + strings.Repeat("p", 120)
	for i := range 9 {
		p := newPhone(t, ts, "10001", testPassword)
		c := "sip:10001@192.168.1." + string(rune('1'+i)) + ":5060" + long
		res := p.register(600, c)
		wantStatus(t, res, 200)
		if got := contacts(res); got[c] == 0 {
			t.Fatalf("phone %d: own contact missing from %v", i, got)
		}
	}
	if n := len(ts.Bindings("10001")); n != 9 {
		t.Errorf("%d bindings, want 9", n)
	}
}

// TestDeps keeps the import arrows of DESIGN.md: sip knows the directory
// but neither the web side nor a store backend.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range strings.Fields(string(out)) {
		if strings.HasSuffix(d, "/switchboard/web") || strings.Contains(d, "/directory/sqlite") ||
			strings.Contains(d, "/directory/postgres") {
			t.Errorf("sip depends on %s", d)
		}
	}
}
