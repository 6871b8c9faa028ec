package directory_test

import (
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/directory"
)

func TestTrunkPasswordIsWriteOnly(t *testing.T) {
	stored := `[{"name":"carrier","host":"10.0.0.1","username":"acme","password":"s3cret","register":true}]`
	shown := directory.RedactSetting(directory.SettingTrunks, stored)
	if strings.Contains(shown, "s3cret") || !strings.Contains(shown, `"password_set":true`) {
		t.Fatalf("redacted trunks %s", shown)
	}
	// The redacted form, edited and sent back, keeps the stored password.
	edited := strings.Replace(shown, "10.0.0.1", "10.0.0.2", 1)
	if err := directory.ValidateSetting(directory.SettingTrunks, edited); !strings.Contains(errString(err), "trunks[0].register") {
		t.Errorf("redacted trunks set back as they are: %v, want a register error", err)
	}
	merged := directory.KeepTrunkPasswords(edited, stored)
	ts, err := directory.ParseTrunks(merged)
	if err != nil || len(ts) != 1 || ts[0].Password != "s3cret" || ts[0].Host != "10.0.0.2" || ts[0].PasswordSet {
		t.Errorf("merged trunks %+v, %v", ts, err)
	}
	// A new password replaces the old; another trunk's name keeps nothing.
	ts, _ = directory.ParseTrunks(directory.KeepTrunkPasswords(
		`[{"name":"carrier","host":"h","password":"new"},{"name":"other","host":"h"}]`, stored))
	if len(ts) != 2 || ts[0].Password != "new" || ts[1].Password != "" {
		t.Errorf("trunks with a new password %+v", ts)
	}
	if got := directory.RedactSetting(directory.SettingDomain, "pbx.example.com"); got != "pbx.example.com" {
		t.Errorf("RedactSetting(domain) = %q", got)
	}
}

func TestTrunkAndDIDValidationNamesTheField(t *testing.T) {
	for _, c := range []struct{ key, value, field string }{
		{directory.SettingTrunks, `[{"name":"a"}]`, "trunks[0].host: is required"},
		{directory.SettingTrunks, `[{"name":"a","host":"h"},{"name":"a","host":"h"}]`, "trunks[1].name"},
		{directory.SettingTrunks, `[{"name":"a","host":"h","transport":"sctp"}]`, "trunks[0].transport"},
		{directory.SettingTrunks, `[{"name":"a","host":"h","caller_id":"123"}]`, "trunks[0].caller_id"},
		{directory.SettingTrunks, `[{"name":"a","host":"h","colour":"red"}]`, "trunks: must be a JSON array"},
		{directory.SettingTrunks, `[{"name":"a","host":"h","from_user":"boss"}]`, "trunks[0].from_user: must be one of"},
		{directory.SettingTrunks, `[{"name":"a","host":"h","pai":"company"}]`, "trunks[0].pai: company needs"},
		{directory.SettingTrunks, `[{"name":"a","host":"h","from_user":"trunk"}]`, "trunks[0].from_user: trunk needs"},
		{directory.SettingTrunks, `[{"name":"a","host":"h","privacy":"id"}]`, "trunks[0].privacy"},
		{directory.SettingTrunks, `[{"name":"a","host":"h","diversion":"yes"}]`, "trunks[0].diversion"},
		{directory.SettingDIDs, `{"+48221234567":"12"}`, "dids[+48221234567]"},
		{directory.SettingDIDs, `["x"]`, "dids: must be a JSON object"},
	} {
		if err := directory.ValidateSetting(c.key, c.value); !strings.Contains(errString(err), c.field) {
			t.Errorf("ValidateSetting(%s, %s) = %v, want %s", c.key, c.value, err, c.field)
		}
	}
	// A trunk may ask for TLS.
	if err := directory.ValidateSetting(directory.SettingTrunks, `[{"name":"a","host":"h","transport":"TLS"}]`); err != nil {
		t.Errorf("a TLS trunk: %v", err)
	}
	for key, v := range map[string]string{directory.SettingTrunks: "", directory.SettingDIDs: "{}"} {
		if err := directory.ValidateSetting(key, v); err != nil {
			t.Errorf("ValidateSetting(%s, %q) = %v", key, v, err)
		}
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
