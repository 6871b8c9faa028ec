package web

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/directory/sqlite"
	"github.com/switchboard-pbx/switchboard/media"
)

// testPassword is every fixture user's web password.
const testPassword = "Fixture-pass-1!"

var fixtureHash = sync.OnceValues(func() (string, error) { return directory.HashPassword(testPassword) })

// fixture is a company to test against: built-in and custom roles, a group
// tree, calls, recordings with WAV files, contacts, and for each persona a
// browser session and an API token made in the store.
type fixture struct {
	dir     string // the template database and recordings live here
	db      string
	users   map[string]*directory.User
	groups  map[string]*directory.Group
	roles   map[string]*directory.Role
	calls   map[string]*directory.Call
	recs    map[string]*directory.Recording
	cons    map[string]*directory.Contact
	sids    map[string]string // persona → session cookie value
	tokens  map[string]string // persona → API token
	tokenID map[string]int64
	device  *directory.Device    // the agent's desk phone
	vm      *directory.Voicemail // a message in the agent's mailbox
}

// The personas of the authorization tests, and the permissions their roles
// give (written out here, from the seeds in the migrations and the team
// brief, rather than asked of authz).
const (
	pOwner = "owner" // Owner role, Default group
	pAdmin = "admin" // Admin role, Support
	pLead  = "lead"  // custom "Team lead" role with department scopes, Sales
	pAgent = "agent" // Agent role, Sales North (a subgroup of Sales)
	pPeer  = "peer"  // Agent role, Support
	pOver  = "over"  // Agent role with overrides, Support
)

var personaNames = []string{pOwner, pAdmin, pLead, pAgent, pPeer, pOver}

var teamLeadPerms = map[string]string{
	"calls.history": "department", "recordings.listen": "department", "recordings.download": "none",
	"users.view": "department", "users.manage": "department", "contacts.view": "department",
	"contacts.manage": "own", "contacts.delete": "own", "calls.outbound": "any",
	"presence.observe": "department", "presence.share": "department", "calls.share": "department", "calls.park": "any",
}

var overOverrides = map[string]string{"calls.history": "any", "contacts.view": "none", "recordings.download": "own"}

// newFixture builds the company in an SQLite file of its own.
func newFixture(t testing.TB) *fixture {
	t.Helper()
	hash, err := fixtureHash()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	dir := t.TempDir()
	f := &fixture{dir: dir, db: filepath.Join(dir, "template.db"), users: map[string]*directory.User{},
		groups: map[string]*directory.Group{}, roles: map[string]*directory.Role{}, calls: map[string]*directory.Call{},
		recs: map[string]*directory.Recording{}, cons: map[string]*directory.Contact{}, sids: map[string]string{},
		tokens: map[string]string{}, tokenID: map[string]int64{}}
	st, err := sqlite.Open(ctx, f.db, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, b := range []string{directory.BuiltinOwner, directory.BuiltinAdmin, directory.BuiltinAgent} {
		r, err := st.RoleByBuiltin(ctx, b)
		must(err)
		f.roles[b] = r
	}
	lead := &directory.Role{Name: "Team lead", Perms: teamLeadPerms}
	must(st.CreateRole(ctx, lead))
	f.roles["lead"] = lead
	def, err := st.DefaultGroup(ctx)
	must(err)
	f.groups["default"] = def
	for _, g := range []struct{ key, name, parent string }{{"sales", "Sales", ""}, {"north", "Sales North", "sales"},
		{"support", "Support", ""}, {"empty", "Empty group", ""}} {
		gr := &directory.Group{Name: g.name}
		if g.parent != "" {
			gr.ParentID = f.groups[g.parent].ID
		}
		must(st.CreateGroup(ctx, gr))
		f.groups[g.key] = gr
	}
	fixtureHours(t, st) // hours_test.go
	fixtureIVR(t, st)   // ivr_test.go
	for i, p := range []struct{ name, role, group string }{{pOwner, "owner", "default"}, {pAdmin, "admin", "support"},
		{pLead, "lead", "sales"}, {pAgent, "agent", "north"}, {pPeer, "agent", "support"}, {pOver, "agent", "support"}} {
		ext := itoa(int64(20001 + i))
		u := &directory.User{Name: strings.ToUpper(p.name[:1]) + p.name[1:] + " Person", Email: p.name + "@example.com",
			Extension: ext, State: directory.UserActive, PasswordHash: hash,
			SIP: directory.NewSIPSecret(ext, "switchboard.local", "Ext-pass-123"), RoleIDs: []int64{f.roles[p.role].ID},
			GroupIDs: []int64{f.groups[p.group].ID}}
		must(st.CreateUser(ctx, u))
		f.users[p.name] = u
	}
	must(st.SetOverrides(ctx, f.users[pOver].ID, overOverrides))
	fixtureQueue(t, st, f.users[pAgent].ID) // queues_test.go

	t0 := time.Date(2025, 3, 14, 9, 0, 0, 0, time.UTC)
	for i, c := range []struct{ key, a, b string }{{"sales", pAgent, pLead}, {"support", pPeer, pAdmin}} {
		call := &directory.Call{SIPCallID: "call-" + c.key, CallerID: f.users[c.a].ID, CalleeID: f.users[c.b].ID,
			From: f.users[c.a].Extension, To: f.users[c.b].Extension, Dialed: f.users[c.b].Extension,
			Direction: directory.Internal, StartedAt: t0.Add(time.Duration(i) * time.Hour),
			AnsweredAt: t0.Add(time.Duration(i)*time.Hour + 5*time.Second), EndedAt: t0.Add(time.Duration(i)*time.Hour + 65*time.Second),
			Disposition: directory.Answered, HangupBy: "caller", Node: "test"}
		must(st.CreateCall(ctx, call))
		f.calls[c.key] = call
		path := filepath.Join(dir, "rec-"+c.key+".wav")
		wav := testWAV(8000)
		must(os.WriteFile(path, wav, 0o600))
		sum := sha256.Sum256(wav)
		rec := &directory.Recording{CallID: call.ID, Path: path, Size: int64(len(wav)), SHA256: hex.EncodeToString(sum[:]),
			Duration: time.Second, State: directory.RecordingDone}
		must(st.CreateRecording(ctx, rec))
		f.recs[c.key] = rec
	}
	for _, c := range []struct{ key, name, assigned, creator string }{{"sales", "Acme (Sales)", pAgent, pLead},
		{"support", "Globex (Support)", pPeer, pAdmin}} {
		con := &directory.Contact{Name: c.name, Phones: []string{"+48221234567"}, AssignedTo: f.users[c.assigned].ID,
			CreatedBy: f.users[c.creator].ID}
		must(st.CreateContact(ctx, con))
		f.cons[c.key] = con
	}
	vmPath := filepath.Join(dir, "voicemail", "vm-agent.wav")
	vmWAV := testWAV(4000)
	must(os.MkdirAll(filepath.Dir(vmPath), 0o700))
	must(os.WriteFile(vmPath, vmWAV, 0o600))
	vmSum := sha256.Sum256(vmWAV)
	f.vm = &directory.Voicemail{UserID: f.users[pAgent].ID, Caller: "+48221234567", StartedAt: t0, Duration: 500 * time.Millisecond,
		Path: vmPath, SHA256: hex.EncodeToString(vmSum[:])}
	must(st.CreateVoicemail(ctx, f.vm))
	f.device = &directory.Device{MAC: "001565000001", Vendor: directory.Yealink, UserID: f.users[pAgent].ID,
		TokenHash: "fixture-device-token-hash"}
	must(st.CreateDevice(ctx, f.device))
	now := time.Now().UTC()
	for _, p := range personaNames {
		sid := randomToken(32)
		must(st.CreateSession(ctx, &directory.Session{IDHash: sha256Hex(sid), UserID: f.users[p].ID, CreatedAt: now,
			SeenAt: now, ExpiresAt: now.Add(sessionIdle)}))
		f.sids[p] = sid
		tok, at, err := NewAPIToken(ctx, st, f.users[p].ID, "test")
		must(err)
		f.tokens[p], f.tokenID[p] = tok, at.ID
	}
	return f
}

// testWAV is a mono 16-bit 8 kHz WAV of n samples of a 440 Hz square wave.
func testWAV(n int) []byte {
	b := make([]byte, 44+2*n)
	copy(b, "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+2*n))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1)
	binary.LittleEndian.PutUint16(b[22:], 1)
	binary.LittleEndian.PutUint32(b[24:], 8000)
	binary.LittleEndian.PutUint32(b[28:], 16000)
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(2*n))
	for i := 0; i < n; i++ {
		v := int16(6000)
		if (i/9)%2 == 1 {
			v = -6000
		}
		binary.LittleEndian.PutUint16(b[44+2*i:], uint16(v))
	}
	return b
}

// open copies the fixture's database and opens a server over the copy, so
// that each test (or each change a test makes) starts from the same state.
func (f *fixture) open(t testing.TB) (*Server, directory.Store, *httptest.Server) {
	t.Helper()
	return f.openWith(t, nil, Config{})
}

// openWith is open with a live state (nil: none) and a configuration of
// the test's own (its address and recordings directory are the fixture's).
func (f *fixture) openWith(t testing.TB, live Live, cfg Config) (*Server, directory.Store, *httptest.Server) {
	t.Helper()
	for key, rec := range f.recs { // a test may have deleted one
		if _, err := os.Stat(rec.Path); err != nil {
			if err := os.WriteFile(rec.Path, testWAV(8000), 0o600); err != nil {
				t.Fatalf("recording %s: %v", key, err)
			}
		}
	}
	if _, err := os.Stat(f.vm.Path); err != nil { // the same bytes as when stored
		if err := os.WriteFile(f.vm.Path, testWAV(4000), 0o600); err != nil {
			t.Fatalf("voicemail: %v", err)
		}
	}
	b, err := os.ReadFile(f.db)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := sqlite.Open(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Addr, cfg.RecordingsDir = "127.0.0.1:0", f.dir
	if cfg.ConvertAudio == nil {
		cfg.ConvertAudio = media.ConvertToMono8k // as cmd passes it in
	}
	s, err := New(cfg, st, live, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(func() {
		ts.Close()
		st.Close()
	})
	return s, st, ts
}

// client is a browser without JavaScript: a cookie jar, no redirects
// followed, so tests see each 303.
type client struct {
	t    testing.TB
	base string
	hc   *http.Client
	sid  string
	tok  string // API token, sent as Bearer when set
}

func newClient(t testing.TB, base string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: base, hc: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// as returns a client signed in with the persona's fixture session.
func (f *fixture) as(t testing.TB, base, persona string) *client {
	c := newClient(t, base)
	u, _ := url.Parse(base)
	c.sid = f.sids[persona]
	c.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "sb_session", Value: c.sid, Path: "/"}})
	return c
}

// api returns a client that uses the persona's API token.
func (f *fixture) api(t testing.TB, base, persona string) *client {
	c := newClient(t, base)
	c.tok = f.tokens[persona]
	return c
}

func (c *client) do(method, path string, form url.Values, hdr http.Header) (*http.Response, string) {
	c.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	return c.send(req)
}

// send sends req with the client's token, if any, and reads the answer.
func (c *client) send(req *http.Request) (*http.Response, string) {
	c.t.Helper()
	if c.tok != "" {
		req.Header.Set("Authorization", "Bearer "+c.tok)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func (c *client) get(path string) (*http.Response, string) {
	return c.do(http.MethodGet, path, nil, nil)
}

// post sends a form with the session's form token added.
func (c *client) post(path string, form url.Values) (*http.Response, string) {
	if form == nil {
		form = url.Values{}
	}
	if c.sid != "" && form.Get("csrf") == "" {
		form.Set("csrf", csrfToken(c.sid))
	}
	return c.do(http.MethodPost, path, form, nil)
}

// json sends a JSON body with method (the API's changes).
func (c *client) json(method, path, body string) (*http.Response, string) {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, strings.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return c.send(req)
}

// login signs in through the form and remembers the new session.
func (c *client) login(email, pw string) *http.Response {
	c.t.Helper()
	resp, _ := c.post("/login", url.Values{"email": {email}, "password": {pw}})
	for _, ck := range resp.Cookies() {
		if ck.Name == "sb_session" {
			c.sid = ck.Value
		}
	}
	return resp
}
