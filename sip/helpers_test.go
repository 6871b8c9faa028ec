package sip

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/directory/postgres"
	"github.com/switchboard-pbx/switchboard/directory/postgres/pgtest"
	"github.com/switchboard-pbx/switchboard/directory/sqlite"
	"github.com/switchboard-pbx/switchboard/internal/clock"
)

// logBuffer collects a server's log; a failed test prints it. Tests look
// for lines in it too. (t.Log cannot be used: sipgo goroutines may log
// after the test ended.)
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func testLogger(t testing.TB) (*slog.Logger, *logBuffer) {
	b := &logBuffer{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("server log:\n%s", b.String())
		}
	})
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelInfo})), b
}

// openSQLite opens a fresh SQLite store in the test's temp dir; reopen
// gives another store over the same file (a restart).
func openSQLite(t testing.TB) (directory.Store, func() directory.Store) {
	path := filepath.Join(t.TempDir(), "switchboard.db")
	open := func() directory.Store {
		st, err := sqlite.Open(t.Context(), path, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("open sqlite: %v", err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	return open(), open
}

// openPostgres opens a fresh PostgreSQL database; open gives further
// stores over it (a restart, or another node).
func openPostgres(t testing.TB) (directory.Store, func() directory.Store) {
	url := pgtest.URL(t)
	open := func() directory.Store {
		st, err := postgres.Open(t.Context(), url, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("open postgres: %v", err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	return open(), open
}

type backend struct {
	name string
	open func(t testing.TB) (directory.Store, func() directory.Store)
}

var backends = []backend{{"sqlite", openSQLite}, {"postgres", openPostgres}}

const testPassword = "Ext-pass-123"

// addUser creates a user with extension ext and testPassword.
func addUser(t testing.TB, st directory.Store, ext string) *directory.User {
	t.Helper()
	u, err := directory.AddUser(t.Context(), st, directory.NewUser{Name: "User " + ext,
		Email: "u" + ext + "@example.com", Extension: ext, ExtPassword: testPassword}, directory.DefaultPasswordPolicy)
	if err != nil {
		t.Fatalf("add user %s: %v", ext, err)
	}
	// The built-in Agent role calls outside numbers only when they are CRM
	// contacts or employees; the tests' users call anywhere unless a test
	// sets their overrides itself.
	if err := st.SetOverrides(t.Context(), u.ID, map[string]string{"calls.outbound": "any"}); err != nil {
		t.Fatalf("allow user %s outbound calls: %v", ext, err)
	}
	return u
}

// addGroup makes a group with a number and members.
func addGroup(t testing.TB, st directory.Store, name, ext string, members ...int64) *directory.Group {
	t.Helper()
	g := &directory.Group{Name: name, Extension: ext}
	if err := st.CreateGroup(t.Context(), g); err != nil {
		t.Fatal(err)
	}
	for _, id := range members {
		if err := st.AddMember(t.Context(), g.ID, id); err != nil {
			t.Fatal(err)
		}
	}
	return g
}

// testServer is a Server on 127.0.0.1:0 over UDP and TCP, stopped when the
// test ends.
type testServer struct {
	*Server
	clock   *clock.Manual
	log     *logBuffer
	udp     string // host:port
	tcp     string
	tls     string // with a Config.TLS only
	stop    func()
	dropped chan string // reasons of dropped requests
	failed  chan string // extensions of failed authentications
}

type serverOption func(*Config)

func startServer(t testing.TB, st directory.Store, clk *clock.Manual, opts ...serverOption) *testServer {
	t.Helper()
	return startServerHooked(t, st, clk, nil, opts...)
}

// startServerHooked is startServer with a chance to change the server
// before it serves.
func startServerHooked(t testing.TB, st directory.Store, clk *clock.Manual, hook func(*Server), opts ...serverOption) *testServer {
	t.Helper()
	if clk == nil {
		clk = clock.NewManual()
	}
	cfg := Config{Addr: "127.0.0.1:0", Node: "node-a", FollowInterval: time.Hour}
	for _, o := range opts {
		o(&cfg)
	}
	log, buf := testLogger(t)
	srv, err := newServer(cfg, st, log, clk)
	if err != nil {
		t.Fatal(err)
	}
	ts := &testServer{Server: srv, clock: clk, log: buf, dropped: make(chan string, 1000), failed: make(chan string, 1000)}
	srv.hooks.dropped = func(_ netip.Addr, reason string) { ts.dropped <- reason }
	srv.hooks.failed = func(_ netip.Addr, ext string) { ts.failed <- ext }
	if hook != nil {
		hook(srv)
	}
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ts.udp, ts.tcp = udp.LocalAddr().String(), tcp.Addr().String()
	if cfg.TLS != nil {
		tl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv.SetTLS(tl, cfg.TLS)
		ts.tls = tl.Addr().String()
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, udp, tcp) }()
	var once sync.Once
	ts.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Serve: %v", err)
			}
		})
	}
	t.Cleanup(ts.stop)
	// Serve loads the directory before it serves; wait until it serves, so
	// that its load cannot pick up what the test adds after this returns.
	for !srv.udpReady.Load() {
		select {
		case err := <-done:
			done <- err
			t.Fatalf("Serve returned at start: %v", err)
		case <-time.After(time.Millisecond):
		}
	}
	// Serve loads the directory before the first request; make sure that
	// happened before the test goes on.
	if err := srv.Sync(t.Context()); err != nil {
		t.Fatalf("sync: %v", err)
	}
	return ts
}

// phone is a sipgo user agent acting as a desk phone.
type phone struct {
	t         testing.TB
	srv       *testServer
	ua        *sipgo.UserAgent
	client    *sipgo.Client
	ext, pw   string
	user      string      // Authorization username; ext unless set
	transport string      // "UDP", "TCP" or "TLS"
	tlsConf   *tls.Config // the phone's TLS client configuration (TLS)
	alg       string      // "MD5" or "SHA-256"
	contact   string      // Contact URI
	agent     string      // User-Agent
	callID    string
	cseq      uint32
	pings     atomic.Int32
	headers   []sip.Header // added to every REGISTER (Path, Supported, ...)

	last *digest.Challenge // the last challenge answered
	nc   int
}

type phoneOption func(*phone, *[]sipgo.ClientOption)

// from makes the phone send from ip (any 127.x.y.z works on loopback).
func from(ip string) phoneOption {
	return func(p *phone, o *[]sipgo.ClientOption) {
		*o = append(*o, sipgo.WithClientConnectionAddr(ip+":0"))
	}
}

func overTCP(p *phone, _ *[]sipgo.ClientOption) { p.transport = "TCP" }

// behindNAT gives the phone a private Via and Contact it cannot be reached
// at, and rport, as a phone behind a NAT router sends.
func behindNAT(p *phone, o *[]sipgo.ClientOption) {
	*o = append(*o, sipgo.WithClientHostname("10.255.0.9"), sipgo.WithClientPort(5060), sipgo.WithClientNAT())
	p.contact = "sip:" + p.ext + "@10.255.0.9:5060"
	if p.transport == "TCP" {
		p.contact += ";transport=tcp"
	}
}

// onLAN makes the phone send from a socket of its own on 127.0.0.1 with
// its true address in the Via (sent-by is the source): a REGISTER that
// crossed no NAT, whose Contact the PBX honours.
func onLAN(p *phone, o *[]sipgo.ClientOption) {
	*o = append(*o, sipgo.WithClientHostname(""), sipgo.WithClientPort(0),
		sipgo.WithClientConnectionAddr("127.0.0.1:0"))
}

func withAlg(alg string) phoneOption { return func(p *phone, _ *[]sipgo.ClientOption) { p.alg = alg } }

func newPhone(t testing.TB, ts *testServer, ext, pw string, opts ...phoneOption) *phone {
	t.Helper()
	p := &phone{t: t, srv: ts, ext: ext, pw: pw, user: ext, transport: "UDP", alg: "MD5",
		agent: "TestPhone/1.0", callID: fmt.Sprintf("%s-%d@test", ext, time.Now().UnixNano()), cseq: 1}
	p.contact = "sip:" + ext + "@192.168.1.50:5060"
	// By default the phone sits behind a NAT: its Via and Contact name a
	// private address nobody listens on, so the PBX must reach it at the
	// source of its REGISTER (RFC 3261 honours the Contact only when the
	// Via sent-by is the source). onLAN phones are reached at their Contact.
	copts := []sipgo.ClientOption{sipgo.WithClientLogger(slog.New(slog.DiscardHandler)),
		sipgo.WithClientHostname("192.168.1.50"), sipgo.WithClientPort(5060), sipgo.WithClientNAT()}
	for _, o := range opts {
		o(p, &copts)
	}
	quiet := slog.New(slog.DiscardHandler)
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("TestPhone"), sipgo.WithUserAgenTLSConfig(p.tlsConf),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(quiet)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(quiet)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
	// Requests from the PBX (pings) arrive on the phone's own connection.
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		p.pings.Add(1)
		tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	p.client, err = sipgo.NewClient(ua, copts...)
	if err != nil {
		t.Fatal(err)
	}
	p.ua = ua
	return p
}

func (p *phone) serverAddr() string {
	switch p.transport {
	case "TCP":
		return p.srv.tcp
	case "TLS":
		return p.srv.tls
	}
	return p.srv.udp
}

// request builds a REGISTER with the next CSeq. expires < 0 leaves out the
// Expires header; contacts replace the phone's own Contact ("*" for all).
func (p *phone) request(expires int, contacts ...string) *sip.Request {
	host, port, _ := net.SplitHostPort(p.serverAddr())
	n, _ := strconv.Atoi(port)
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: host, Port: n})
	req.SetTransport(p.transport)
	aor := sip.Uri{Scheme: "sip", User: p.ext, Host: p.srv.realm()}
	req.AppendHeader(&sip.ToHeader{Address: aor})
	req.AppendHeader(&sip.FromHeader{Address: aor, Params: sip.HeaderParams{{K: "tag", V: sip.GenerateTagN(8)}}})
	cid := sip.CallIDHeader(p.callID)
	req.AppendHeader(&cid)
	p.cseq++
	req.AppendHeader(&sip.CSeqHeader{SeqNo: p.cseq, MethodName: sip.REGISTER})
	if contacts == nil {
		contacts = []string{p.contact}
	}
	for _, c := range contacts {
		if c == "*" {
			req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Wildcard: true}})
			continue
		}
		var u sip.Uri
		if err := sip.ParseUri(c, &u); err != nil {
			p.t.Fatalf("contact %q: %v", c, err)
		}
		req.AppendHeader(&sip.ContactHeader{Address: u})
	}
	if expires >= 0 {
		req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(expires)))
	}
	if p.agent != "" {
		req.AppendHeader(sip.NewHeader("User-Agent", p.agent))
	}
	for _, h := range p.headers {
		req.AppendHeader(h)
	}
	return req
}

func (p *phone) do(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	return p.client.Do(ctx, req)
}

// authorize adds an Authorization answering chal with the next nc.
func (p *phone) authorize(req *sip.Request, chal *digest.Challenge, pw string) {
	p.nc++
	cred, err := digest.Digest(chal, digest.Options{Method: "REGISTER", URI: req.Recipient.String(),
		Username: p.user, Password: pw, Count: p.nc})
	if err != nil {
		p.t.Fatalf("digest: %v", err)
	}
	req.RemoveHeader("Authorization")
	req.AppendHeader(sip.NewHeader("Authorization", cred.String()))
}

// pick returns the challenge of the phone's algorithm in a 401.
func (p *phone) pick(res *sip.Response) *digest.Challenge {
	p.t.Helper()
	for _, h := range res.GetHeaders("WWW-Authenticate") {
		c, err := digest.ParseChallenge(h.Value())
		if err != nil {
			p.t.Fatalf("challenge %q: %v", h.Value(), err)
		}
		if strings.EqualFold(c.Algorithm, p.alg) {
			return c
		}
	}
	p.t.Fatalf("no %s challenge in %d response:\n%s", p.alg, res.StatusCode, res)
	return nil
}

// register sends a REGISTER, answers the challenge with pw and returns the
// final response.
func (p *phone) registerWith(pw string, expires int, contacts ...string) *sip.Response {
	p.t.Helper()
	res, err := p.do(p.t.Context(), p.request(expires, contacts...))
	if err != nil {
		p.t.Fatalf("REGISTER: %v", err)
	}
	if res.StatusCode != 401 {
		return res
	}
	chal := p.pick(res)
	p.last, p.nc = chal, 0
	req := p.request(expires, contacts...)
	p.authorize(req, chal, pw)
	res, err = p.do(p.t.Context(), req)
	if err != nil {
		p.t.Fatalf("REGISTER with credentials: %v", err)
	}
	return res
}

func (p *phone) register(expires int, contacts ...string) *sip.Response {
	p.t.Helper()
	return p.registerWith(p.pw, expires, contacts...)
}

// again sends a REGISTER answering the last challenge again (the nonce
// reuse real phones do on refresh), with the next nc.
func (p *phone) again(expires int) *sip.Response {
	p.t.Helper()
	req := p.request(expires)
	p.authorize(req, p.last, p.pw)
	res, err := p.do(p.t.Context(), req)
	if err != nil {
		p.t.Fatalf("REGISTER: %v", err)
	}
	return res
}

// expectDropped sends req and waits until the server reports it dropped,
// then gives up on the answer that will not come.
func (p *phone) expectDropped(req *sip.Request) string {
	p.t.Helper()
	ctx, cancel := context.WithCancel(p.t.Context())
	defer cancel()
	type result struct {
		res *sip.Response
		err error
	}
	got := make(chan result, 1)
	go func() {
		res, err := p.do(ctx, req)
		got <- result{res, err}
	}()
	select {
	case reason := <-p.srv.dropped:
		cancel()
		r := <-got
		if r.err == nil {
			p.t.Fatalf("dropped request answered %d", r.res.StatusCode)
		}
		return reason
	case r := <-got:
		if r.err != nil {
			p.t.Fatalf("request failed instead of being dropped: %v", r.err)
		}
		p.t.Fatalf("request answered %d %s, want it dropped", r.res.StatusCode, r.res.Reason)
	}
	return ""
}

func wantStatus(t testing.TB, res *sip.Response, code int) {
	t.Helper()
	if res.StatusCode != code {
		t.Fatalf("got %d %s, want %d\n%s", res.StatusCode, res.Reason, code, res)
	}
}

// contacts returns the Contact URIs of a 200 with their expires.
func contacts(res *sip.Response) map[string]int {
	out := map[string]int{}
	for _, h := range res.GetHeaders("Contact") {
		c := h.(*sip.ContactHeader)
		e, _ := c.Params.Get("expires")
		n, _ := strconv.Atoi(e)
		out[c.Address.String()] = n
	}
	return out
}

// flakyStore is the real store with a switch that makes the calls the SIP
// side uses fail as when the database is unreachable.
type flakyStore struct {
	directory.Store
	down atomic.Bool
}

var errDown = fmt.Errorf("test: database unreachable: %w", directory.ErrUnavailable)

func (f *flakyStore) UserByExtension(ctx context.Context, ext string) (*directory.User, error) {
	if f.down.Load() {
		return nil, errDown
	}
	return f.Store.UserByExtension(ctx, ext)
}

func (f *flakyStore) User(ctx context.Context, id int64) (*directory.User, error) {
	if f.down.Load() {
		return nil, errDown
	}
	return f.Store.User(ctx, id)
}

func (f *flakyStore) SIPUsers(ctx context.Context) ([]directory.User, error) {
	if f.down.Load() {
		return nil, errDown
	}
	return f.Store.SIPUsers(ctx)
}

func (f *flakyStore) PutBinding(ctx context.Context, b directory.Binding) error {
	if f.down.Load() {
		return errDown
	}
	return f.Store.PutBinding(ctx, b)
}

func (f *flakyStore) PutBindings(ctx context.Context, bs []directory.Binding) error {
	if f.down.Load() {
		return errDown
	}
	return f.Store.PutBindings(ctx, bs)
}

func (f *flakyStore) DeleteBinding(ctx context.Context, b directory.Binding) error {
	if f.down.Load() {
		return errDown
	}
	return f.Store.DeleteBinding(ctx, b)
}

func (f *flakyStore) DeleteBindings(ctx context.Context, ext, node string) error {
	if f.down.Load() {
		return errDown
	}
	return f.Store.DeleteBindings(ctx, ext, node)
}

func (f *flakyStore) Bindings(ctx context.Context, now time.Time) ([]directory.Binding, error) {
	if f.down.Load() {
		return nil, errDown
	}
	return f.Store.Bindings(ctx, now)
}

func (f *flakyStore) Changes(ctx context.Context, after int64, limit int) ([]directory.Change, error) {
	if f.down.Load() {
		return nil, errDown
	}
	return f.Store.Changes(ctx, after, limit)
}

func (f *flakyStore) LastChange(ctx context.Context) (int64, error) {
	if f.down.Load() {
		return 0, errDown
	}
	return f.Store.LastChange(ctx)
}

func (f *flakyStore) Setting(ctx context.Context, key string) (string, error) {
	if f.down.Load() {
		return "", errDown
	}
	return f.Store.Setting(ctx, key)
}

// storeBindings returns what the store holds for ext.
func storeBindings(t testing.TB, st directory.Store, ext string, now time.Time) []directory.Binding {
	t.Helper()
	all, err := st.Bindings(t.Context(), now)
	if err != nil {
		t.Fatal(err)
	}
	var out []directory.Binding
	for _, b := range all {
		if b.Extension == ext {
			out = append(out, b)
		}
	}
	return out
}

// rawSend sends bytes in one UDP datagram.
func rawSend(t testing.TB, addr, raw string) {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
}

// rawSendTCP sends bytes over a new TCP connection and closes it.
func rawSendTCP(t testing.TB, addr, raw string) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
}

// rawDropped sends a datagram the server is expected to drop and returns
// the reason it gave.
func rawDropped(t testing.TB, ts *testServer, raw string) string {
	t.Helper()
	rawSend(t, ts.udp, raw)
	select {
	case r := <-ts.dropped:
		return r
	case <-t.Context().Done():
		t.Fatal("not dropped")
	}
	return ""
}

// rawExchange sends one datagram from a new socket and returns the first
// response that comes back (the request's Via carries rport, so it comes
// back to the socket).
func rawExchange(t testing.TB, addr, raw string) *sip.Response {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 65535)
	for {
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		m, err := sip.ParseMessage(buf[:n])
		if err != nil {
			t.Fatalf("response: %v", err)
		}
		if res, ok := m.(*sip.Response); ok && res.StatusCode >= 200 {
			return res
		}
	}
}

func TestMain(m *testing.M) {
	// sipgo logs a few things through its package-wide logger; keep them
	// out of test output. Set before any user agent exists.
	sip.SetDefaultLogger(slog.New(slog.DiscardHandler))
	os.Exit(m.Run())
}
