package web

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/directory/sqlite"
)

// browser starts headless Chromium for the test; without it the test is
// skipped, unless CI=true, where it fails.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := "/usr/bin/chromium"
	if _, err := os.Stat(path); err != nil {
		if p, err := exec.LookPath("chromium"); err == nil {
			path = p
		} else if os.Getenv("CI") == "true" {
			t.Fatal("chromium is not installed (CI=true, so this fails instead of skipping)")
		} else {
			t.Skip("chromium is not installed; skipping the browser tests (CI=true would fail)")
		}
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path), chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900),
		chromedp.Flag("headless", true), chromedp.Flag("no-sandbox", true), chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
	}
	actx, cancel := chromedp.NewExecAllocator(t.Context(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// shot saves a screenshot of the page under testdata/screenshots (which
// git ignores) for people to look at.
func shot(name string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		buf, err := chromedp.FullScreenshot(100)(ctx, t)
		if err != nil {
			return err
		}
		dir := filepath.Join("testdata", "screenshots")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(dir, name+".png"), buf, 0o644)
	})
}

func TestBrowserFlows(t *testing.T) {
	ctx := browser(t)
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "sb.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	live := &fakeLive{regs: []directory.Binding{{Extension: "30001", Contact: "sip:30001@192.0.2.10:5060",
		Source: "192.0.2.10:5060", Transport: "UDP", UserAgent: "Yealink SIP-T46U 108.86.0.45", Expires: time.Now().Add(time.Hour)}}}
	recDir := t.TempDir()
	s, err := New(Config{RecordingsDir: recDir}, st, live, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	u := ts.URL
	tok, err := NewSetupToken(t.Context(), st)
	if err != nil {
		t.Fatal(err)
	}
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return s
	}
	login := func(email, pw string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(chromedp.Navigate(u+"/login"), chromedp.WaitVisible(chromedp.CSS("#email")),
			chromedp.SendKeys(chromedp.CSS("#email"), email), chromedp.SendKeys(chromedp.CSS("#password"), pw),
			chromedp.Submit(chromedp.CSS("#password")))
	}
	logout := chromedp.Steps(chromedp.Submit(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#email")))

	// The setup link creates the owner.
	run("setup", chromedp.Navigate(u+"/setup/"+tok), chromedp.WaitVisible(chromedp.CSS("#name")), shot("01-setup"),
		chromedp.SendKeys(chromedp.CSS("#name"), "Olga Owner"), chromedp.SendKeys(chromedp.CSS("#email"), "olga@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword), chromedp.SendKeys(chromedp.CSS("#password2"), testPassword),
		chromedp.SendKeys(chromedp.CSS("#extension"), "30001"), chromedp.Submit(chromedp.CSS("#name")),
		chromedp.WaitVisible(chromedp.CSS(`a.button[href="/login"]`)))

	// The owner signs in and creates a group, a role and a user.
	run("owner login", login("olga@example.com", testPassword), chromedp.WaitVisible(chromedp.CSS("#live")), shot("02-dashboard"))
	if got := text("#live"); !strings.Contains(got, "Yealink SIP-T46U") || !strings.Contains(got, "192.0.2.10:5060") {
		t.Errorf("dashboard registrations: %q", got)
	}
	run("create group", chromedp.Navigate(u+"/groups"), chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.SendKeys(chromedp.CSS("#name"), "Sales"), chromedp.SendKeys(chromedp.CSS("#prefix"), "4"),
		chromedp.Submit(chromedp.CSS("#name")), chromedp.WaitVisible(chromedp.CSS(".flash")), shot("03-groups"))
	if got := text("ul.tree"); !strings.Contains(got, "Sales") {
		t.Fatalf("group tree: %q", got)
	}
	// A subgroup is indented under its parent in the tree (a class: the
	// page's CSP blocks inline styles, which showed it flat).
	run("create subgroup", chromedp.Navigate(u+"/groups"), chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.SendKeys(chromedp.CSS("#name"), "Sales North"),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](`(() => { const s = document.querySelector("#parent");
				for (const o of s.options) { if (o.text === "Sales") { s.value = o.value } } return true })()`)(ctx, tg)
			return err
		}),
		chromedp.Submit(chromedp.CSS("#name")), chromedp.WaitVisible(chromedp.CSS(".flash")), shot("03b-group-tree"))
	indent, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](`(() => {
		const x = name => [...document.querySelectorAll("ul.tree li")].find(li => li.querySelector("a").textContent === name).querySelector("a").getBoundingClientRect().left;
		return [x("Sales"), x("Sales North")] })()`))
	if err != nil {
		t.Fatal(err)
	}
	if len(indent) != 2 || indent[1] < indent[0]+10 {
		t.Errorf("the subgroup is not indented under its parent: %v", indent)
	}
	run("create role", chromedp.Navigate(u+"/roles/new"), chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.SendKeys(chromedp.CSS("#name"), "Sales agent"),
		chromedp.Click(chromedp.CSS(`input[name="perm.calls.history"][value="own"]`)),
		chromedp.Click(chromedp.CSS(`input[name="perm.recordings.listen"][value="own"]`)),
		chromedp.Click(chromedp.CSS(`input[name="perm.contacts.view"][value="own"]`)),
		shot("04-role-matrix"),
		chromedp.Submit(chromedp.CSS("#name")), chromedp.WaitVisible(chromedp.CSS(".flash")))
	roles, _ := st.Roles(t.Context())
	var role *directory.Role
	for i := range roles {
		if roles[i].Name == "Sales agent" {
			role = &roles[i]
		}
	}
	if role == nil || role.Perms["calls.history"] != "own" || role.Perms["users.view"] != "" && role.Perms["users.view"] != "none" {
		t.Fatalf("role stored: %+v", role)
	}
	groups, _ := st.Groups(t.Context())
	var sales directory.Group
	for _, g := range groups {
		if g.Name == "Sales" {
			sales = g
		}
	}
	agentRole, _ := st.RoleByBuiltin(t.Context(), directory.BuiltinAgent)
	def, _ := st.DefaultGroup(t.Context())
	run("create user", chromedp.Navigate(u+"/users/new"), chromedp.WaitVisible(chromedp.CSS("#name")),
		chromedp.SendKeys(chromedp.CSS("#name"), "Sam Sales"), chromedp.SendKeys(chromedp.CSS("#email"), "sam@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), testPassword), chromedp.SendKeys(chromedp.CSS("#extension"), "40001"),
		chromedp.Click(chromedp.CSS(`input[name="role"][value="`+itoa(agentRole.ID)+`"]`)), // off: the default role
		chromedp.Click(chromedp.CSS(`input[name="role"][value="`+itoa(role.ID)+`"]`)),
		chromedp.Click(chromedp.CSS(`input[name="group"][value="`+itoa(def.ID)+`"]`)),
		chromedp.Click(chromedp.CSS(`input[name="group"][value="`+itoa(sales.ID)+`"]`)),
		shot("05-user-new"),
		chromedp.Submit(chromedp.CSS("#name")), chromedp.WaitVisible(chromedp.CSS(".flash")), shot("06-user"))
	sam, err := st.UserByEmail(t.Context(), "sam@example.com")
	if err != nil || len(sam.RoleIDs) != 1 || sam.RoleIDs[0] != role.ID || len(sam.GroupIDs) != 1 || sam.GroupIDs[0] != sales.ID {
		t.Fatalf("user stored: %+v %v", sam, err)
	}
	other, err := directory.AddUser(t.Context(), st, directory.NewUser{Name: "Petra Peer", Email: "petra@example.com",
		Password: testPassword, Extension: "30002", ExtPassword: "Ext-pass-123"}, directory.DefaultPasswordPolicy)
	if err != nil {
		t.Fatal(err)
	}
	// A recorded call between Sam and the owner, made straight in the store.
	owner, _ := st.UserByEmail(t.Context(), "olga@example.com")
	t0 := time.Now().UTC().Add(-time.Hour)
	call := &directory.Call{CallerID: sam.ID, CalleeID: owner.ID, From: "40001", To: "30001", Dialed: "30001",
		Direction: directory.Internal, StartedAt: t0, AnsweredAt: t0.Add(3 * time.Second), EndedAt: t0.Add(63 * time.Second),
		Disposition: directory.Answered}
	if err := st.CreateCall(t.Context(), call); err != nil {
		t.Fatal(err)
	}
	wav := filepath.Join(recDir, "call.wav")
	if err := os.WriteFile(wav, testWAV(16000), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateRecording(t.Context(), &directory.Recording{CallID: call.ID, Path: wav, Size: 44 + 32000,
		Duration: 2 * time.Second, State: directory.RecordingDone}); err != nil {
		t.Fatal(err)
	}
	if err := st.CreateContact(t.Context(), &directory.Contact{Name: "Acme", Phones: []string{"+48221234567"},
		AssignedTo: sam.ID, CreatedBy: owner.ID}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetSetting(t.Context(), directory.SettingTrunks, `[{"name":"carrier","host":"sip.carrier.example",`+
		`"username":"acme","password":"trunk-s3cret","register":true,"caller_id":"+48221000000"}]`); err != nil {
		t.Fatal(err)
	}
	if err := st.SetSetting(t.Context(), directory.SettingDIDs, `{"+48221000001":"30001"}`); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"users", "roles", "contacts", "calls", "recordings", "settings", "numbers", "audit", "account"} {
		run("page "+p, chromedp.Navigate(u+"/"+p), chromedp.WaitVisible(chromedp.CSS("main h1")), shot("07-"+p))
	}
	run("role page", chromedp.Navigate(u+"/roles/"+itoa(role.ID)), chromedp.WaitVisible(chromedp.CSS("table.matrix")), shot("08-role"))
	run("time zone", chromedp.Navigate(u+"/account"), chromedp.WaitVisible(chromedp.CSS("#time_zone")),
		chromedp.SendKeys(chromedp.CSS("#time_zone"), "Europe/Warsaw"), chromedp.Submit(chromedp.CSS("#time_zone")),
		chromedp.WaitVisible(chromedp.CSS(".flash")))
	if o, _ := st.UserByEmail(t.Context(), "olga@example.com"); o == nil || o.TimeZone != "Europe/Warsaw" {
		t.Errorf("time zone from the account page not stored: %+v", o)
	}
	// Prefixes typed into a trunk's edit form, and a time zone set for Sam
	// on his user page.
	run("trunk prefixes", chromedp.Navigate(u+"/settings"), chromedp.WaitVisible(chromedp.CSS("#trunks")),
		chromedp.Click(chromedp.CSS("#trunks tbody details summary")), chromedp.WaitVisible(chromedp.CSS("#trunk0-prefixes")),
		chromedp.SendKeys(chromedp.CSS("#trunk0-prefixes"), "+84, +48"), shot("08b-trunk-prefixes"),
		chromedp.Submit(chromedp.CSS("#trunk0-prefixes")), chromedp.WaitVisible(chromedp.CSS(".flash")))
	if got := text("#trunks td.prefixes"); got != "+84, +48" {
		t.Errorf("trunk list prefixes: %q", got)
	}
	if v, _ := st.Setting(t.Context(), directory.SettingTrunks); !strings.Contains(v, `"prefixes":["+84","+48"]`) {
		t.Errorf("trunk prefixes not stored: %s", v)
	}
	run("user time zone", chromedp.Navigate(u+"/users/"+itoa(sam.ID)), chromedp.WaitVisible(chromedp.CSS("#time_zone")),
		chromedp.SendKeys(chromedp.CSS("#time_zone"), "Asia/Ho_Chi_Minh"), chromedp.Submit(chromedp.CSS("#time_zone")),
		chromedp.WaitVisible(chromedp.CSS(".flash")))
	if o, _ := st.UserByEmail(t.Context(), "sam@example.com"); o == nil || o.TimeZone != "Asia/Ho_Chi_Minh" {
		t.Errorf("time zone from the user page not stored: %+v", o)
	}
	run("logout", logout)

	// Sam signs in and sees only what the role allows.
	run("sam login", login("sam@example.com", testPassword), chromedp.WaitVisible(chromedp.CSS("header.top")))
	nav := text("nav.menu")
	for _, want := range []string{"Call history", "Contacts", "Recordings"} {
		if !strings.Contains(nav, want) {
			t.Errorf("sam's navigation lacks %s: %q", want, nav)
		}
	}
	for _, not := range []string{"Users", "Groups", "Roles", "Settings", "Audit log"} {
		if strings.Contains(nav, not) {
			t.Errorf("sam's navigation shows %s: %q", not, nav)
		}
	}
	run("sam settings", chromedp.Navigate(u+"/settings"), chromedp.WaitVisible(chromedp.CSS("main h1")))
	if got := text("main h1"); !strings.Contains(got, "403") {
		t.Errorf("sam opens settings: %q", got)
	}
	// Sam plays the recording of his call in the page.
	run("sam plays", chromedp.Navigate(u+"/recordings"), chromedp.WaitVisible(chromedp.CSS("audio")), shot("09-recordings-sam"),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](`(() => { const a = document.querySelector("audio"); a.preload = "auto"; a.load(); a.play().catch(() => {}); return true })()`)(ctx, tg)
			return err
		}))
	// Wait (in the page, on the media element's own events) until the
	// player has the audio: its duration is the file's two seconds.
	ready, err := chromedp.Run(ctx, chromedp.Poll[bool](`(() => { const a = document.querySelector("audio"); return a.readyState >= 2 && a.duration > 1.9 })()`))
	if err != nil {
		t.Fatalf("poll audio: %v", err)
	}
	if !ready {
		t.Error("the audio did not load")
	}
	run("logout sam", logout)
	// Petra (Agent, not on the call) sees no recording at all.
	run("petra", login("petra@example.com", testPassword), chromedp.WaitVisible(chromedp.CSS("header.top")), chromedp.Navigate(u+"/recordings"),
		chromedp.WaitVisible(chromedp.CSS("main h1")), shot("10-recordings-petra"))
	players, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.querySelectorAll("audio").length`))
	if err != nil {
		t.Fatal(err)
	}
	if players != 0 {
		t.Errorf("petra sees %d players", players)
	}
	// Petra changes her own web password on the account page:
	// the current one first, then the new one twice; she stays signed in.
	const petraPW = "Petra-n3w-pass!"
	run("petra password", chromedp.Navigate(u+"/account"), chromedp.WaitVisible(chromedp.CSS("#current_password")),
		chromedp.SendKeys(chromedp.CSS("#current_password"), testPassword), chromedp.SendKeys(chromedp.CSS("#new_password"), petraPW),
		chromedp.SendKeys(chromedp.CSS("#password_confirm"), petraPW), shot("10b-account-password"),
		chromedp.Submit(chromedp.CSS("#password_confirm")), chromedp.WaitVisible(chromedp.CSS(".flash")))
	if p, _ := st.UserByEmail(t.Context(), "petra@example.com"); p == nil || !directory.CheckPassword(p.PasswordHash, petraPW) {
		t.Error("petra's new password is not stored")
	}
	run("petra phone password", chromedp.Click(chromedp.CSS("#new-ext-password")), chromedp.WaitVisible(chromedp.CSS("#ext-secret")))
	if got := text("#ext-secret"); len(got) < 8 {
		t.Errorf("petra's new extension password: %q", got)
	}
	run("logout petra", logout)
	run("petra new password", login("petra@example.com", petraPW), chromedp.WaitVisible(chromedp.CSS("header.top")), logout)
	_ = other

	// The owner blocks Sam; Sam's next login fails.
	run("block", login("olga@example.com", testPassword), chromedp.WaitVisible(chromedp.CSS("header.top")), chromedp.Navigate(u+"/users/"+itoa(sam.ID)),
		chromedp.WaitVisible(chromedp.CSS(`form[action$="/block"] button`)),
		chromedp.Submit(chromedp.CSS(`form[action$="/block"] button`)), chromedp.WaitVisible(chromedp.CSS(".flash")),
		shot("11-user-blocked"), chromedp.Navigate(u+"/audit"), chromedp.WaitVisible(chromedp.CSS("main h1")), shot("12-audit"), logout)
	run("sam again", login("sam@example.com", testPassword), chromedp.WaitVisible(chromedp.CSS(".err")), shot("13-login-refused"))
	if got := text(".err"); !strings.Contains(got, "Wrong email or password") {
		t.Errorf("blocked login: %q", got)
	}
	es, _ := st.AuditLog(t.Context(), directory.AuditFilter{Action: "recording.listen"})
	if len(es) == 0 || es[0].ActorID != sam.ID {
		t.Errorf("the listen is not audited: %+v", es)
	}
	// Vietnamese and Polish pages render too.
	for _, lang := range []string{"vi", "pl"} {
		l := lang
		if _, err := st.UpdateUser(t.Context(), owner.ID, directory.UserPatch{Language: &l}); err != nil {
			t.Fatal(err)
		}
		run("lang "+lang, login("olga@example.com", testPassword), chromedp.WaitVisible(chromedp.CSS("header.top")), chromedp.Navigate(u+"/users/"+itoa(sam.ID)),
			chromedp.WaitVisible(chromedp.CSS("main h1")), shot("14-user-"+lang))
		want := map[string]string{"vi": "cá nhân, từ vai trò Sales agent", "pl": "własne, z roli Sales agent"}[lang]
		if got := text("table.perms"); !strings.Contains(got, want) {
			t.Errorf("%s permissions table lacks %q: %q", lang, want, got)
		}
		run("logout "+lang, logout)
	}
}

type fakeLive struct{ regs []directory.Binding }

func (f *fakeLive) Registrations() []directory.Binding { return f.regs }
func (f *fakeLive) ActiveCalls() []ActiveCall          { return nil }
