package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/directory/postgres/pgtest"
)

// msgHandler sends the message of every record at warn and above to ch.
type msgHandler struct{ ch chan<- string }

func (h msgHandler) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelWarn }
func (h msgHandler) Handle(_ context.Context, r slog.Record) error {
	select {
	case h.ch <- r.Message:
	default:
	}
	return nil
}
func (h msgHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h msgHandler) WithGroup(string) slog.Handler      { return h }

// sipStatus sends an OPTIONS over UDP to addr and returns the response's
// first line and its Retry-After.
func sipStatus(t *testing.T, addr string) (status, retryAfter string) {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	local := c.LocalAddr().String()
	msg := "OPTIONS sip:" + addr + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + local + ";branch=z9hG4bK-wait-" + strings.ReplaceAll(local, ":", "-") + "\r\n" +
		"Max-Forwards: 70\r\nFrom: <sip:probe@" + local + ">;tag=w1\r\nTo: <sip:" + addr + ">\r\n" +
		"Call-ID: wait-" + local + "\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65535)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(strings.NewReader(string(buf[:n])))
	status, _ = r.ReadString('\n')
	for {
		line, err := r.ReadString('\n')
		if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "Retry-After") {
			retryAfter = strings.TrimSpace(v)
		}
		if err != nil || line == "\r\n" {
			break
		}
	}
	return strings.TrimSpace(status), retryAfter
}

func httpGet(t *testing.T, u string) (int, http.Header, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// Serve started while PostgreSQL is down waits for it: SIP
// answers 503 with Retry-After and the web a 503 page meanwhile, and the
// PBX serves once the database is up.
func TestServeWaitsForDatabase(t *testing.T) {
	pg := pgtest.Private(t)
	pg.Stop()
	events := make(chan string, 100)
	m := &Main{Config: Config{Data: t.TempDir(), DB: pg.URL, SIPAddr: "127.0.0.1:0", WebAddr: "127.0.0.1:0",
		Node: "test", RTPPorts: "47000-47099", LogLevel: "warn"}, Log: slog.New(msgHandler{events})}
	if err := m.Config.Validate(true); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	opened := make(chan error, 1)
	go func() { opened <- m.Open(ctx) }()
	for msg := range events {
		if msg == "database unreachable; trying again" {
			break
		}
	}
	// The listeners are bound before the wait began (the event came after).
	sipAddr, webURL := m.SIPAddr(), "http://"+m.WebAddr()

	if status, ra := sipStatus(t, sipAddr); status != "SIP/2.0 503 Service Unavailable" || ra == "" {
		t.Errorf("sip while waiting: %q, Retry-After %q; want 503 with Retry-After", status, ra)
	}
	if code, h, body := httpGet(t, webURL+"/"); code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" ||
		!strings.Contains(body, "cannot be reached") {
		t.Errorf("web while waiting: %d, Retry-After %q\n%.300s", code, h.Get("Retry-After"), body)
	}
	code, _, body := httpGet(t, webURL+"/api/v1/me")
	var e struct {
		Error struct{ Code string } `json:"error"`
	}
	if json.Unmarshal([]byte(body), &e); code != http.StatusServiceUnavailable || e.Error.Code != "unavailable" {
		t.Errorf("api while waiting: %d %s", code, body)
	}

	pg.Start()
	if err := <-opened; err != nil {
		t.Fatalf("open after the database came: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	if code, _, body := httpGet(t, webURL+"/login"); code != http.StatusOK {
		t.Errorf("web once the database is up: %d\n%.300s", code, body)
	}
	if status, _ := sipStatus(t, sipAddr); strings.Contains(status, "503") {
		t.Errorf("sip once the database is up: %q", status)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
	m.Close()
}

// A database that answers and refuses (an unknown role) is a configuration
// error: exit 2 at once, no waiting.
func TestServeRefusedByDatabaseExitsTwo(t *testing.T) {
	u, err := url.Parse(pgtest.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	u.User = url.User("sb_nobody_here")
	c := newCLI(t)
	code, _, stderr := c.run("", "serve", "--db", u.String(), "--sip-addr", "127.0.0.1:0", "--web-addr", "127.0.0.1:0")
	if code != 2 || !strings.Contains(stderr, "--db") {
		t.Errorf("exit %d, stderr %q; want exit 2 naming --db", code, stderr)
	}
}
