package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
)

// cli runs switchboard commands in-process against one data dir.
type cli struct {
	t    *testing.T
	data string
	env  map[string]string
}

func newCLI(t *testing.T) *cli {
	return &cli{t: t, data: t.TempDir(), env: map[string]string{}}
}

// run executes one command line and returns its exit code and streams.
func (c *cli) run(stdin string, args ...string) (code int, stdout, stderr string) {
	c.t.Helper()
	var out, errb bytes.Buffer
	args = append(args, "--data", c.data)
	code = run(c.t.Context(), args, env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errb,
		getenv: func(k string) string { return c.env[k] }})
	return code, out.String(), errb.String()
}

func (c *cli) ok(stdin string, args ...string) string {
	c.t.Helper()
	code, out, errs := c.run(stdin, args...)
	if code != 0 {
		c.t.Fatalf("switchboard %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

func TestUserCommandsSurviveRestart(t *testing.T) {
	c := newCLI(t)
	c.ok("", "user", "add", "--name", "Anna Nowak", "--email", "Anna@Example.com", "--extension", "10001",
		"--ext-password", "k7#Qm2vLx9", "--password", "Str0ng!pass", "--role", "agent")
	c.ok("", "user", "add", "--name", "Ben Tran", "--email", "ben@example.com", "--extension", "10002",
		"--ext-password", "p9$Lw3zTq1")

	// Each command opens and closes the store: the list below is a restart.
	out := c.ok("", "user", "list")
	for _, want := range []string{"10001", "Anna Nowak", "anna@example.com", "active", "Agent", "Default group", "10002"} {
		if !strings.Contains(out, want) {
			t.Errorf("user list lacks %q:\n%s", want, out)
		}
	}

	c.ok("", "user", "block", "anna@example.com")
	if out := c.ok("", "user", "list", "--search", "anna"); !strings.Contains(out, "blocked") || strings.Contains(out, "Ben") {
		t.Errorf("after block, search anna:\n%s", out)
	}
	c.ok("", "user", "unblock", "anna@example.com")
	c.ok("", "user", "delete", "ben@example.com")
	if out := c.ok("", "user", "list"); strings.Contains(out, "ben@example.com") {
		t.Errorf("deleted user still listed:\n%s", out)
	}
	if out := c.ok("", "user", "list", "--all"); !strings.Contains(out, "deleted") {
		t.Errorf("list --all does not show the deleted user:\n%s", out)
	}
	// The deleted user's extension is free again.
	c.ok("", "user", "add", "--name", "Chi Le", "--email", "ben@example.com", "--extension", "10002",
		"--ext-password", "p9$Lw3zTq1")

	c.ok("N3w!passw0rd\n", "user", "set-password", "anna@example.com")
	pw := strings.TrimSpace(c.ok("", "user", "set-ext-password", "anna@example.com"))
	if len(pw) != 16 {
		t.Errorf("generated extension password %q: want 16 characters", pw)
	}
}

func TestUserAddErrors(t *testing.T) {
	c := newCLI(t)
	c.ok("", "user", "add", "--name", "Anna", "--email", "anna@example.com", "--extension", "10001", "--ext-password", "k7#Qm2vLx9")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"extension out of range", []string{"--email", "b@example.com", "--extension", "9999"}, 1,
			"extension: must be 5 or 6 digits between 10000 and 999999"},
		{"extension taken", []string{"--email", "b@example.com", "--extension", "10001"}, 1, "extension: already in use"},
		{"email taken", []string{"--email", "ANNA@example.com", "--extension", "10002"}, 1, "email: already in use"},
		{"weak web password", []string{"--email", "b@example.com", "--extension", "10002", "--password", "password"}, 1,
			"password: must"},
		{"unknown role", []string{"--email", "b@example.com", "--extension", "10002", "--role", "boss"}, 1, `no role named "boss"`},
		{"unknown flag", []string{"--email", "b@example.com", "--extension", "10002", "--colour", "red"}, 2, "colour"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append([]string{"user", "add", "--name", "Ben", "--ext-password", "p9$Lw3zTq1"}, tc.args...)
			code, _, stderr := c.run("", args...)
			if code != tc.code || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", code, stderr, tc.code, tc.want)
			}
			if n := strings.Count(strings.TrimSpace(stderr), "\n"); n != 0 && tc.code == 1 {
				t.Errorf("error is %d lines, want one: %q", n+1, stderr)
			}
		})
	}
	// Nothing was lost: Anna is intact and alone.
	if out := c.ok("", "user", "list"); strings.Count(out, "@example.com") != 1 {
		t.Errorf("store changed by refused commands:\n%s", out)
	}
}

func TestBadConfigurationExitsTwo(t *testing.T) {
	c := newCLI(t)
	for _, tc := range []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unknown command", []string{"frobnicate"}, nil, "unknown command"},
		{"bad sip addr", []string{"serve", "--sip-addr", "nowhere"}, nil, "--sip-addr (SWITCHBOARD_SIP_ADDR)"},
		{"bad sip tls addr", []string{"serve", "--sip-tls-addr", "nowhere"}, nil, "--sip-tls-addr (SWITCHBOARD_SIP_TLS_ADDR)"},
		{"tls cert without key", []string{"serve"}, map[string]string{"SWITCHBOARD_TLS_CERT": "/x/cert.pem"},
			"--tls-cert (SWITCHBOARD_TLS_CERT)"},
		{"bad env twin", []string{"serve"}, map[string]string{"SWITCHBOARD_RTP_PORTS": "30000-20000"}, "--rtp-ports (SWITCHBOARD_RTP_PORTS)"},
		{"bad media timeout", []string{"serve"}, map[string]string{"SWITCHBOARD_MEDIA_TIMEOUT": "soon"}, "--media-timeout (SWITCHBOARD_MEDIA_TIMEOUT)"},
		{"sub-second hold timeout", []string{"serve", "--media-hold-timeout", "500ms"}, nil, "--media-hold-timeout (SWITCHBOARD_MEDIA_HOLD_TIMEOUT)"},
		{"negative quarantine", []string{"serve", "--rtp-quarantine", "-5s"}, nil, "--rtp-quarantine (SWITCHBOARD_RTP_QUARANTINE)"},
		{"bad udp transactions", []string{"serve", "--sip-udp-transactions", "mine"}, nil,
			"--sip-udp-transactions (SWITCHBOARD_SIP_UDP_TRANSACTIONS)"},
		{"pprof off loopback", []string{"serve", "--pprof-addr", "0.0.0.0:6060"}, nil, "--pprof-addr (SWITCHBOARD_PPROF_ADDR)"},
		{"bad gc percent", []string{"serve", "--gc-percent", "5"}, nil, "--gc-percent (SWITCHBOARD_GC_PERCENT)"},
		{"bad procs", []string{"serve", "--procs", "0"}, nil, "--procs (SWITCHBOARD_PROCS)"},
		{"bad procs twin", []string{"serve"}, map[string]string{"SWITCHBOARD_PROCS": "many"}, "--procs (SWITCHBOARD_PROCS)"},
		{"bad web store timeout", []string{"serve", "--web-store-timeout", "forever"}, nil,
			"--web-store-timeout (SWITCHBOARD_WEB_STORE_TIMEOUT)"},
		{"bad sip tcp timeout", []string{"serve", "--sip-tcp-message-timeout", "soon"}, nil, "--sip-tcp-message-timeout (SWITCHBOARD_SIP_TCP_MESSAGE_TIMEOUT)"},
		{"bad sip tcp cap twin", []string{"serve"}, map[string]string{"SWITCHBOARD_SIP_TCP_MAX": "-1"}, "--sip-tcp-max (SWITCHBOARD_SIP_TCP_MAX)"},
		{"bad db scheme", []string{"user", "list", "--db", "mysql://x"}, nil, "--db (SWITCHBOARD_DB)"},
		{"unreachable postgres", []string{"user", "list", "--db", "postgres://postgres@127.0.0.1:1/none?connect_timeout=2"}, nil, "--db"},
		{"unknown setting", []string{"settings", "set", "colour", "red"}, nil, "unknown setting"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.env = tc.env
			code, _, stderr := c.run("", tc.args...)
			if tc.name == "unknown setting" {
				if code == 0 || !strings.Contains(stderr, tc.want) {
					t.Errorf("exit %d, stderr %q", code, stderr)
				}
				return
			}
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want exit 2 naming %q", code, stderr, tc.want)
			}
			if strings.Count(strings.TrimSpace(stderr), "\n") != 0 {
				t.Errorf("want one line, got %q", stderr)
			}
		})
	}
	c.env = nil
}

func TestSettings(t *testing.T) {
	c := newCLI(t)
	if got := strings.TrimSpace(c.ok("", "settings", "get", "recording.policy")); got != "off" {
		t.Errorf("default recording.policy = %q, want off", got)
	}
	c.ok("", "settings", "set", "recording.policy", "all")
	if got := strings.TrimSpace(c.ok("", "settings", "get", "recording.policy")); got != "all" {
		t.Errorf("recording.policy = %q after set, want all", got)
	}
	if code, _, stderr := c.run("", "settings", "set", "recording.policy", "sometimes"); code != 1 || !strings.Contains(stderr, "recording.policy: must be") {
		t.Errorf("bad value: exit %d, %q", code, stderr)
	}
	if out := c.ok("", "settings", "get"); !strings.Contains(out, "recording.policy=all") || strings.Contains(out, "setup.") {
		t.Errorf("settings get:\n%s", out)
	}
}

func TestSettingsTrunkPasswordIsWriteOnly(t *testing.T) {
	c := newCLI(t)
	c.ok("", "settings", "set", "trunks", `[{"name":"carrier","host":"127.0.0.2","username":"acme","password":"s3cret","register":true}]`)
	shown := strings.TrimSpace(c.ok("", "settings", "get", "trunks"))
	if strings.Contains(shown, "s3cret") || !strings.Contains(shown, `"password_set":true`) {
		t.Errorf("settings get trunks = %s", shown)
	}
	if out := c.ok("", "settings", "get"); strings.Contains(out, "s3cret") {
		t.Errorf("settings get shows the trunk password:\n%s", out)
	}
	// What get shows, set back with a change, keeps the password.
	c.ok("", "settings", "set", "trunks", strings.Replace(shown, "127.0.0.2", "127.0.0.3", 1))
	if got := strings.TrimSpace(c.ok("", "settings", "get", "trunks")); !strings.Contains(got, "127.0.0.3") || !strings.Contains(got, `"password_set":true`) {
		t.Errorf("after set from the redacted form: %s", got)
	}
	if code, _, stderr := c.run("", "settings", "set", "trunks", `[{"name":"x"}]`); code != 1 || !strings.Contains(stderr, "trunks[0].host: is required") {
		t.Errorf("trunk without host: exit %d, %q", code, stderr)
	}
	c.ok("", "settings", "set", "dids", `{"+48221234567":"10100"}`)
}

// lineWaiter is a log sink that hands matching lines to a test.
type lineWaiter struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	lines chan string
}

func newLineWaiter() *lineWaiter { return &lineWaiter{lines: make(chan string, 100)} }

func (w *lineWaiter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil {
			w.buf.WriteString(line)
			return len(p), nil
		}
		select {
		case w.lines <- line:
		default:
		}
	}
}

func (w *lineWaiter) waitFor(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	for line := range w.lines {
		if m := re.FindStringSubmatch(line); m != nil {
			return m
		}
	}
	t.Fatalf("log ended before %s", re)
	return nil
}

func TestServePrintsSetupLinkThatCreatesTheOwner(t *testing.T) {
	data := t.TempDir()
	ctx, cancel := context.WithCancel(t.Context())
	logs := newLineWaiter()
	done := make(chan int)
	go func() {
		done <- run(ctx, []string{"serve", "--data", data, "--sip-addr", "127.0.0.1:0", "--web-addr", "127.0.0.1:0"},
			env{stdin: strings.NewReader(""), stdout: io.Discard, stderr: logs, getenv: func(string) string { return "" }})
		close(logs.lines)
	}()
	m := logs.waitFor(t, regexp.MustCompile(`url=(http://127\.0\.0\.1:\d+/setup/[A-Za-z0-9_-]+)`))
	setup := m[1]

	resp, err := http.Get(setup)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte("Create the owner account")) {
		t.Fatalf("GET setup link: %d\n%s", resp.StatusCode, body)
	}
	form := url.Values{"name": {"Olga Owner"}, "email": {"olga@example.com"}, "password": {"Own3r!secret"},
		"password2": {"Own3r!secret"}, "extension": {"10000"}, "ext_password": {"x8#Kd93mQz"}}
	resp, err = http.PostForm(setup, form)
	if err != nil {
		t.Fatal(err)
	}
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !bytes.Contains(body, []byte("Switchboard is ready")) {
		t.Fatalf("POST setup: %d\n%s", resp.StatusCode, body)
	}
	// The link is single-use.
	if resp, err := http.Get(setup); err != nil || resp.StatusCode != 404 {
		t.Fatalf("setup link after use: %v %v", resp, err)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve exited %d after cancel", code)
	}

	// A restart with an owner prints no setup link; the owner is there.
	c := &cli{t: t, data: data}
	if out := c.ok("", "user", "list"); !strings.Contains(out, "olga@example.com") || !strings.Contains(out, "Owner") {
		t.Errorf("owner missing after restart:\n%s", out)
	}
}

// startMain runs serve in-process over the CLI's data directory, on
// loopback ports, until the test ends; config adjusts the configuration.
func startMain(t *testing.T, c *cli, rtpPorts string, config func(*Config)) *Main {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	m := &Main{Config: Config{Data: c.data, SIPAddr: "127.0.0.1:0", WebAddr: "127.0.0.1:0", Node: "test",
		RTPPorts: rtpPorts, LogLevel: "error", SIPOptions: make([]string, len(sipOptions))}, Log: discardLog()}
	if config != nil {
		config(&m.Config)
	}
	if err := m.Config.Validate(true); err != nil {
		t.Fatal(err)
	}
	if err := m.Open(ctx); err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		m.Close()
	})
	return m
}

func discardLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestMigrate(t *testing.T) {
	c := newCLI(t)
	code, out, stderr := c.run("", "migrate")
	if code != 0 || !strings.Contains(out, "00001_init.sql") {
		t.Fatalf("first migrate: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
	code, out, stderr = c.run("", "migrate")
	if code != 0 || out != "" || !strings.Contains(stderr, "up to date") {
		t.Fatalf("second migrate: exit %d, stdout %q, stderr %q", code, out, stderr)
	}
}
