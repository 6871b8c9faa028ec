package main

import (
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/dirstore"
)

// TestSMTPSettingsCLI: the mail settings are `settings set` keys; the SMTP
// password is write-only (get shows that one is set), and setting get's
// placeholder back keeps the stored one.
func TestSMTPSettingsCLI(t *testing.T) {
	c := newCLI(t)
	c.ok("", "settings", "set", "mail.smtp.host", "smtp.example.com")
	c.ok("", "settings", "set", "mail.smtp.security", "tls")
	c.ok("", "settings", "set", "mail.smtp.password", "relay-s3cret")
	c.ok("", "settings", "set", "users.invite_ttl", "3d")
	if got := strings.TrimSpace(c.ok("", "settings", "get", "mail.smtp.password")); got != "(set)" {
		t.Errorf("get password = %q, want (set)", got)
	}
	all := c.ok("", "settings", "get")
	if strings.Contains(all, "relay-s3cret") || !strings.Contains(all, "mail.smtp.host=smtp.example.com") ||
		!strings.Contains(all, "mail.smtp.password=(set)") {
		t.Errorf("settings get:\n%s", all)
	}
	c.ok("", "settings", "set", "mail.smtp.password", "(set)")
	st, err := dirstore.Open(t.Context(), "", c.data, discardLog())
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := st.Setting(t.Context(), "mail.smtp.password"); v != "relay-s3cret" {
		t.Errorf("setting the placeholder back changed the password to %q", v)
	}
	st.Close()
	for key, bad := range map[string]string{"mail.smtp.security": "ssl", "mail.smtp.port": "70000",
		"mail.from": "not an address", "users.invite_ttl": "1y"} {
		if code, _, stderr := c.run("", "settings", "set", key, bad); code != 1 || !strings.Contains(stderr, key) {
			t.Errorf("set %s %q: exit %d, %q", key, bad, code, stderr)
		}
	}
}

// TestSMTPFlagsExitTwo: serve's --smtp-* flags are checked as the settings
// they override, each mistake naming the flag and its variable.
func TestSMTPFlagsExitTwo(t *testing.T) {
	c := newCLI(t)
	for args, want := range map[string]string{
		"--smtp-security=ssl":   "--smtp-security (SWITCHBOARD_SMTP_SECURITY)",
		"--smtp-port=0":         "--smtp-port (SWITCHBOARD_SMTP_PORT)",
		"--smtp-from=nobody":    "--smtp-from (SWITCHBOARD_SMTP_FROM)",
		"--smtp-host=a b.local": "--smtp-host (SWITCHBOARD_SMTP_HOST)",
	} {
		code, _, stderr := c.run("", "serve", args)
		if code != 2 || !strings.Contains(stderr, want) {
			t.Errorf("serve %s: exit %d, %q; want exit 2 naming %s", args, code, stderr, want)
		}
	}
}
