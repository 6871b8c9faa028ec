package web

import (
	"context"
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/internal/smtptest"
)

// useSMTP points the store's mail settings at srv (plain, loopback).
func useSMTP(t *testing.T, st directory.Store, host string, port int) {
	t.Helper()
	for k, v := range map[string]string{directory.SettingSMTPHost: host, directory.SettingSMTPPort: strconv.Itoa(port),
		directory.SettingSMTPSecurity: "none", directory.SettingMailFrom: "Tổng đài <pbx@example.com>"} {
		if err := st.SetSetting(t.Context(), k, v); err != nil {
			t.Fatal(err)
		}
	}
}

var inviteLinkRE = regexp.MustCompile(`https?://\S+/invite/[A-Za-z0-9_-]+`)

// mailText decodes a received mail's subject and body.
func mailText(t *testing.T, m smtptest.Mail) (subject, body string) {
	t.Helper()
	var dec mime.WordDecoder
	subject, err := dec.DecodeHeader(m.Header.Get("Subject"))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(m.Body)))
	if err != nil {
		t.Fatal(err)
	}
	return subject, string(b)
}

// TestInviteBrowser is the admin's afternoon in a browser: set up the mail
// server and send a test mail, invite a colleague in Vietnamese; the mail
// arrives at a real SMTP server (aiosmtpd); the colleague follows its link,
// sets a password, sees the extension password once and signs in; the
// link then no longer works.
func TestInviteBrowser(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	ctx := browser(t)
	f := newFixture(t)
	_, st, ts := f.open(t)
	u := ts.URL
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string { // "" when there is no such element (no waiting)
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector(`+strconv.Quote(sel)+`) || {innerText: ""}).innerText`))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return s
	}
	login := func(email, pw string) chromedp.Action[chromedp.Void] {
		return chromedp.Steps(chromedp.Navigate(u+"/login"), chromedp.WaitVisible(chromedp.CSS("#email")),
			chromedp.SendKeys(chromedp.CSS("#email"), email), chromedp.SendKeys(chromedp.CSS("#password"), pw),
			chromedp.Submit(chromedp.CSS("#password")), chromedp.WaitVisible(chromedp.CSS("header.top")))
	}
	run("owner login", login("owner@example.com", testPassword))
	run("invite before mail is set up", chromedp.Navigate(u+"/users/invite"), chromedp.WaitVisible(chromedp.CSS("#invite-nomail")))

	run("mail settings", chromedp.Navigate(u+"/settings/mail"), chromedp.WaitVisible(chromedp.CSS("#mail-form")),
		chromedp.SendKeys(chromedp.CSS(`[id="mail.smtp.host"]`), srv.Host),
		chromedp.SendKeys(chromedp.CSS(`[id="mail.smtp.port"]`), strconv.Itoa(srv.Port)),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](`(() => { document.getElementById("mail.smtp.security").value = "none"; return true })()`)(ctx, tg)
			return err
		}),
		chromedp.SendKeys(chromedp.CSS(`[id="mail.from"]`), "Tổng đài <pbx@example.com>"),
		chromedp.SendKeys(chromedp.CSS(`[id="mail.smtp.password"]`), "relay-secret"),
		chromedp.Submit(chromedp.CSS(`[id="mail.smtp.host"]`)), chromedp.WaitVisible(chromedp.CSS(".flash")))
	if html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html"))); strings.Contains(html, "relay-secret") {
		t.Error("the mail settings page shows the SMTP password")
	}
	run("test mail", chromedp.Submit(chromedp.CSS(`#mail-test button`)), chromedp.WaitVisible(chromedp.CSS("#mail-test-sent")))
	test := srv.Wait(t, 1)[0]
	if test.To != "owner@example.com" {
		t.Errorf("test mail went to %s", test.To)
	}

	sales := f.groups["sales"]
	agent := f.roles[directory.BuiltinAgent]
	run("invite", chromedp.Navigate(u+"/users/invite"), chromedp.WaitVisible(chromedp.CSS("#invite-form")),
		chromedp.SendKeys(chromedp.CSS("#name"), "Trần Thị Ánh"), chromedp.SendKeys(chromedp.CSS("#email"), "anh@example.vn"),
		chromedp.SendKeys(chromedp.CSS("#extension"), "40001"), chromedp.SendKeys(chromedp.CSS("#mobile"), "600 100 200"),
		chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := chromedp.Evaluate[bool](`(() => { document.getElementById("mail_language").value = "vi"; return true })()`)(ctx, tg)
			return err
		}),
		chromedp.Click(chromedp.CSS(`input[name="group"][value="`+itoa(f.groups["default"].ID)+`"]`)),
		chromedp.Click(chromedp.CSS(`input[name="group"][value="`+itoa(sales.ID)+`"]`)),
		chromedp.Submit(chromedp.CSS("#name")), chromedp.WaitVisible(chromedp.CSS("#invite-sent, #invite-form .err")))
	if sent := text("main"); !strings.Contains(sent, "anh@example.vn") {
		t.Fatalf("invite: %s", sent)
	}
	anh, err := st.UserByEmail(t.Context(), "anh@example.vn")
	if err != nil {
		t.Fatal(err)
	}
	if anh.PasswordHash != "" || anh.Extension != "40001" || anh.Mobile != "+48600100200" ||
		len(anh.RoleIDs) != 1 || anh.RoleIDs[0] != agent.ID || len(anh.GroupIDs) != 1 || anh.GroupIDs[0] != sales.ID {
		t.Fatalf("invited account: %+v", anh)
	}
	m := srv.Wait(t, 2)[1]
	subject, body := mailText(t, m)
	if m.To != "anh@example.vn" || !strings.Contains(subject, "mời bạn tham gia") || !strings.Contains(body, "Xin chào Trần Thị Ánh") ||
		!strings.Contains(body, "40001") {
		t.Errorf("invitation mail to %s: %q\n%s", m.To, subject, body)
	}
	if to, err := m.Header.AddressList("To"); err != nil || to[0].Name != "Trần Thị Ánh" {
		t.Errorf("To header %v %v", to, err)
	}
	link := inviteLinkRE.FindString(body)
	if !strings.HasPrefix(link, u+"/invite/") {
		t.Fatalf("no link to %s in the mail:\n%s", u, body)
	}
	tok := link[strings.LastIndexByte(link, '/')+1:]
	if _, err := st.InviteByToken(t.Context(), tok); err == nil {
		t.Error("the store holds the token itself, not its hash")
	}

	run("logout", chromedp.Submit(chromedp.CSS(`form[action="/logout"] button`)), chromedp.WaitVisible(chromedp.CSS("#email")))
	const pw = "Ánh-mật-khẩu-2026"
	// Each wait names the refusal too, so that a regression fails here
	// instead of waiting for ever.
	run("follow the link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#invite-accept, #invite-invalid")))
	if !strings.Contains(text("main"), "40001") {
		t.Fatalf("the link shows no invitation: %s", text("main"))
	}
	run("set password", chromedp.SendKeys(chromedp.CSS("#password"), pw), chromedp.SendKeys(chromedp.CSS("#password2"), pw),
		chromedp.Submit(chromedp.CSS("#password")), chromedp.WaitVisible(chromedp.CSS("#ext-password, #invite-accept .err, #invite-invalid")))
	ext := text("#ext-password")
	anh, _ = st.UserByEmail(t.Context(), "anh@example.vn")
	if want := directory.NewSIPSecret("40001", "switchboard.local", directory.Password(ext)); anh.SIP.HA1MD5 != want.HA1MD5 || len(ext) < 12 {
		t.Errorf("the extension password shown (%q) is not the one stored", ext)
	}
	run("sign in", login("anh@example.vn", pw))
	if got := text(".me a"); got != "Trần Thị Ánh" {
		t.Errorf("signed in as %q", got)
	}
	run("link again", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#invite-invalid, #invite-accept")))
	if v, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector("#invite-accept") === null`)); !v {
		t.Error("the used link still offers to set a password")
	}
	log, _ := st.AuditLog(t.Context(), directory.AuditFilter{})
	seen := map[string]bool{}
	for _, e := range log {
		seen[e.Action] = true
		if strings.Contains(e.Detail+string(e.After)+string(e.Before), "relay-secret") {
			t.Errorf("audit entry %s holds the SMTP password", e.Action)
		}
	}
	for _, a := range []string{"user.invite", "user.invite.accept", "mail.test", "settings.set"} {
		if !seen[a] {
			t.Errorf("no %s in the audit log", a)
		}
	}
}

// TestInviteLinkRules: the link expires (users.invite_ttl), works once,
// keeps working after a refused password, needs users.create to make, and
// a mail that cannot be sent leaves no account behind.
func TestInviteLinkRules(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	f := newFixture(t)
	s, st, ts := f.open(t)
	useSMTP(t, st, srv.Host, srv.Port)
	if err := st.SetSetting(t.Context(), directory.SettingInviteTTL, "2d"); err != nil {
		t.Fatal(err)
	}
	owner := f.api(t, ts.URL, pOwner)
	for _, p := range []string{pAdmin, pAgent} {
		if resp, body := f.api(t, ts.URL, p).json(http.MethodPost, "/api/v1/users/invite",
			`{"name":"X","email":"x@example.com","extension":"40009"}`); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s invites: %d %s", p, resp.StatusCode, body)
		}
	}
	if resp, body := owner.json(http.MethodPost, "/api/v1/users/invite",
		`{"name":"Łukasz Żółć","email":"lukasz@example.pl","extension":"40002","mail_language":"pl"}`); resp.StatusCode != http.StatusCreated {
		t.Fatalf("invite: %d %s", resp.StatusCode, body)
	}
	m := srv.Wait(t, 1)[0]
	subject, body := mailText(t, m)
	if !strings.Contains(subject, "zaprasza Cię") || !strings.Contains(body, "Dzień dobry, Łukasz Żółć") {
		t.Errorf("Polish mail: %q\n%s", subject, body)
	}
	link := inviteLinkRE.FindString(body)
	path := strings.TrimPrefix(link, ts.URL)
	c := newClient(t, ts.URL)

	real := s.now
	s.now = func() time.Time { return real().Add(49 * time.Hour) }
	if resp, _ := c.get(path); resp.StatusCode != http.StatusNotFound {
		t.Errorf("after 49 h of 2 d: %d, want 404", resp.StatusCode)
	}
	s.now = func() time.Time { return real().Add(47 * time.Hour) }
	if resp, _ := c.get(path); resp.StatusCode != http.StatusOK {
		t.Errorf("after 47 h of 2 d: %d, want 200", resp.StatusCode)
	}
	if resp, body := c.post(path, url.Values{"password": {"short"}, "password2": {"short"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("weak password: %d %s", resp.StatusCode, body)
	}
	if resp, _ := c.post(path, url.Values{"password": {"Łukasz-hasło-2026"}, "password2": {"Łukasz-hasło-2027"}}); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("passwords differ: %d", resp.StatusCode)
	}
	if resp, body := c.post(path, url.Values{"password": {"Łukasz-hasło-2026"}, "password2": {"Łukasz-hasło-2026"}}); resp.StatusCode != http.StatusOK ||
		!strings.Contains(body, `id="ext-password"`) {
		t.Errorf("accept: %d %s", resp.StatusCode, body)
	}
	if resp, _ := c.post(path, url.Values{"password": {"Other-pass-2026!"}, "password2": {"Other-pass-2026!"}}); resp.StatusCode != http.StatusNotFound {
		t.Errorf("second use: %d, want 404", resp.StatusCode)
	}
	if resp := newClient(t, ts.URL).login("lukasz@example.pl", "Łukasz-hasło-2026"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("login with the chosen password: %d", resp.StatusCode)
	}
	s.now = real

	// No server listening: 502, and the email and extension stay free.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	useSMTP(t, st, "127.0.0.1", dead)
	if resp, body := owner.json(http.MethodPost, "/api/v1/users/invite",
		`{"name":"Nobody","email":"nobody@example.com","extension":"40003"}`); resp.StatusCode != http.StatusBadGateway {
		t.Errorf("invite without a mail server: %d %s", resp.StatusCode, body)
	}
	if _, err := st.UserByEmail(t.Context(), "nobody@example.com"); err == nil {
		t.Error("an account was kept although its invitation was not mailed")
	}
	useSMTP(t, st, srv.Host, srv.Port)
	if resp, body := owner.json(http.MethodPost, "/api/v1/users/invite",
		`{"name":"Nobody","email":"nobody@example.com","extension":"40003"}`); resp.StatusCode != http.StatusCreated {
		t.Errorf("invite again once mail works: %d %s", resp.StatusCode, body)
	}
}

// TestSMTPSettingsPasswordWriteOnly: the API and the page never show the
// SMTP password; an empty password field keeps it; bad values name their
// field and change nothing.
func TestSMTPSettingsPasswordWriteOnly(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	api := f.api(t, ts.URL, pOwner)
	if resp, body := api.json(http.MethodPut, "/api/v1/settings/mail",
		`{"host":"smtp.example.com","port":"587","security":"starttls","user":"pbx","password":"s3cret-Relay","from":"pbx@example.com"}`); resp.StatusCode != http.StatusOK ||
		strings.Contains(body, "s3cret-Relay") || !strings.Contains(body, `"password_set": true`) {
		t.Fatalf("put: %d %s", resp.StatusCode, body)
	}
	if _, body := api.get("/api/v1/settings/mail"); strings.Contains(body, "s3cret-Relay") || !strings.Contains(body, `"password_set": true`) {
		t.Errorf("get: %s", body)
	}
	c := f.as(t, ts.URL, pOwner)
	if _, body := c.get("/settings/mail"); strings.Contains(body, "s3cret-Relay") {
		t.Error("the page shows the password")
	}
	if resp, _ := c.post("/settings/mail", url.Values{"mail.smtp.host": {"smtp2.example.com"}, "mail.smtp.password": {""}}); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("save: %d", resp.StatusCode)
	}
	if v, _ := st.Setting(t.Context(), directory.SettingSMTPPassword); v != "s3cret-Relay" {
		t.Errorf("an empty password field changed the password to %q", v)
	}
	if resp, body := api.json(http.MethodPut, "/api/v1/settings/mail", `{"port":"99999","security":"ssl","host":"smtp3.example.com"}`); resp.StatusCode != http.StatusBadRequest ||
		!strings.Contains(body, "mail.smtp.port") || !strings.Contains(body, "mail.smtp.security") {
		t.Errorf("bad values: %d %s", resp.StatusCode, body)
	}
	if v, _ := st.Setting(t.Context(), directory.SettingSMTPHost); v != "smtp2.example.com" {
		t.Errorf("a refused change wrote the host: %q", v)
	}
	if resp, _ := f.api(t, ts.URL, pAgent).get("/api/v1/settings/mail"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("agent reads the mail settings: %d", resp.StatusCode)
	}
}
