package web

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/switchboard-pbx/switchboard/directory"
)

// TestOwnPasswordAndPhonePassword: a user changes their own web password on
// the account page (the current one is required, other sessions end, this
// browser stays signed in) and gets a new extension password, shown once.
func TestOwnPasswordAndPhonePassword(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	me := f.as(t, ts.URL, pAgent)
	other := f.as(t, ts.URL, pAgent) // the same account in another browser
	const newPW = "N3w-passw0rd!x"
	for _, tc := range []struct {
		name string
		form url.Values
	}{
		{"a wrong current password", url.Values{"current_password": {"Wrong-pass-1!"}, "password": {newPW}, "password_confirm": {newPW}}},
		{"a weak new password", url.Values{"current_password": {testPassword}, "password": {"password"}, "password_confirm": {"password"}}},
		{"a confirmation that differs", url.Values{"current_password": {testPassword}, "password": {newPW}, "password_confirm": {newPW + "x"}}},
	} {
		if resp, _ := me.post("/account/password", tc.form); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", tc.name, resp.StatusCode)
		}
	}
	if u, _ := st.User(t.Context(), f.users[pAgent].ID); !directory.CheckPassword(u.PasswordHash, testPassword) {
		t.Fatal("the password changed on a refused form")
	}
	resp, _ := me.post("/account/password", url.Values{"current_password": {testPassword}, "password": {newPW}, "password_confirm": {newPW}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("change: %d", resp.StatusCode)
	}
	for _, ck := range resp.Cookies() {
		if ck.Name == "sb_session" && ck.Value != "" {
			if ck.Value == me.sid {
				t.Error("the session ID did not change")
			}
			me.sid = ck.Value // the form tokens are bound to it
		}
	}
	if resp, _ := me.get("/account"); resp.StatusCode != 200 {
		t.Errorf("this browser after the change: %d, want still signed in", resp.StatusCode)
	}
	if resp, _ := other.get("/account"); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the other browser after the change: %d, want sent to sign in", resp.StatusCode)
	}
	if resp := newClient(t, ts.URL).login("agent@example.com", testPassword); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("the old password: %d", resp.StatusCode)
	}
	if resp := newClient(t, ts.URL).login("agent@example.com", newPW); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("the new password: %d", resp.StatusCode)
	}
	es, err := st.AuditLog(t.Context(), directory.AuditFilter{Action: "user.password.change"})
	if err != nil || len(es) != 2 || es[0].Action != "user.password.change" || es[1].Action != "user.password.change.failed" {
		t.Errorf("audit: %+v %v", es, err)
	}

	before, _ := st.User(t.Context(), f.users[pAgent].ID)
	resp, body := me.post("/account/ext-password", nil)
	m := regexp.MustCompile(`<code id="ext-secret">([^<]+)</code>`).FindStringSubmatch(body)
	if resp.StatusCode != 200 || m == nil {
		t.Fatalf("new extension password: %d", resp.StatusCode)
	}
	after, _ := st.User(t.Context(), f.users[pAgent].ID)
	want := directory.NewSIPSecret(after.Extension, after.SIP.Realm, directory.Password(html.UnescapeString(m[1])))
	if after.SIP.HA1MD5 == before.SIP.HA1MD5 || after.SIP.HA1MD5 != want.HA1MD5 || after.SIP.HA1SHA256 != want.HA1SHA256 {
		t.Error("the shown extension password is not the stored one")
	}
	if _, body := me.get("/account"); regexp.MustCompile(`id="ext-secret"`).MatchString(body) {
		t.Error("the extension password is shown again")
	}
}
