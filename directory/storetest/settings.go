package storetest

import (
	"errors"
	"strconv"

	"github.com/switchboard-pbx/switchboard/directory"
)

var settingTests = []test{
	{"defaults, and the default role is Agent", func(e *env) {
		agent := strconv.FormatInt(e.role(directory.BuiltinAgent).ID, 10)
		want := map[string]string{
			directory.SettingDomain:         "switchboard.local",
			directory.SettingDefaultCountry: "PL",
			directory.SettingRecording:      "off",
			directory.SettingRetentionDays:  "0",
			directory.SettingDefaultRole:    agent,
			directory.SettingRecordingUsers: "",
		}
		for k, v := range want {
			got, err := e.s.Setting(e.ctx, k)
			e.ok(err, "setting %s", k)
			if got != v {
				e.t.Errorf("setting %s: %q, want %q", k, got, v)
			}
		}
		all, err := e.s.Settings(e.ctx)
		e.ok(err, "settings")
		for k, v := range want {
			if v != "" && all[k] != v {
				e.t.Errorf("Settings()[%s] = %q, want %q", k, all[k], v)
			}
		}
	}},
	{"SetSetting writes a value", func(e *env) {
		e.ok(e.s.SetSetting(e.ctx, directory.SettingDomain, "pbx.example.com"), "set domain")
		e.ok(e.s.SetSetting(e.ctx, directory.SettingRecording, "selected"), "set policy")
		e.ok(e.s.SetSetting(e.ctx, directory.SettingRecordingUsers, "3,5"), "set recorded users")
		e.ok(e.s.SetSetting(e.ctx, directory.SettingRecording, "all"), "set policy again")
		e.setting(directory.SettingDomain, "pbx.example.com", "after a set")
		e.setting(directory.SettingRecording, "all", "after two sets")
		all, err := e.s.Settings(e.ctx)
		e.ok(err, "settings")
		for k, v := range map[string]string{directory.SettingDomain: "pbx.example.com",
			directory.SettingRecording: "all", directory.SettingRecordingUsers: "3,5",
			directory.SettingDefaultCountry: "PL"} {
			if all[k] != v {
				e.t.Errorf("Settings()[%s] = %q, want %q", k, all[k], v)
			}
		}
	}},
	{"an invalid value is refused and the old one kept", func(e *env) {
		e.ok(e.s.SetSetting(e.ctx, directory.SettingRecording, "all"), "set policy")
		e.is(e.s.SetSetting(e.ctx, directory.SettingRecording, "sometimes"), directory.ErrInvalid, "policy sometimes")
		e.setting(directory.SettingRecording, "all", "after the refused value")
		e.is(e.s.SetSetting(e.ctx, directory.SettingRetentionDays, "-1"), directory.ErrInvalid, "retention -1")
		e.setting(directory.SettingRetentionDays, "0", "default after the refused value")
		e.is(e.s.SetSetting(e.ctx, directory.SettingDomain, "a b"), directory.ErrInvalid, "domain with a space")
		e.setting(directory.SettingDomain, "switchboard.local", "default after the refused value")
	}},
	{"trunks and DIDs are JSON settings, validated field by field", func(e *env) {
		trunks := `[{"name":"carrier","host":"sip.carrier.example","port":5080,"transport":"udp",` +
			`"username":"acme","password":"s3cret","register":true,"caller_id":"+48221234567"}]`
		e.ok(e.s.SetSetting(e.ctx, directory.SettingTrunks, trunks), "set trunks")
		got, err := e.s.Setting(e.ctx, directory.SettingTrunks)
		e.ok(err, "get trunks")
		ts, err := directory.ParseTrunks(got)
		e.ok(err, "parse stored trunks")
		if len(ts) != 1 || ts[0].Host != "sip.carrier.example" || ts[0].Password != "s3cret" || !ts[0].Register {
			e.t.Errorf("stored trunks %+v", ts)
		}
		err = e.s.SetSetting(e.ctx, directory.SettingTrunks, `[{"name":"x","port":70000}]`)
		for _, f := range []string{"trunks[0].host", "trunks[0].port"} {
			if !hasField(err, f) {
				e.t.Errorf("trunk without host, port 70000: %v, want an error on %s", err, f)
			}
		}
		e.is(e.s.SetSetting(e.ctx, directory.SettingTrunks, `{"name":"x"}`), directory.ErrInvalid, "not an array")
		e.setting(directory.SettingTrunks, got, "after refused values")

		e.ok(e.s.SetSetting(e.ctx, directory.SettingDIDs, `{"+48221234567":"10100","0221234568":"70000"}`), "set dids")
		dids, err := e.s.Setting(e.ctx, directory.SettingDIDs)
		e.ok(err, "get dids")
		m, err := directory.ParseDIDs(dids)
		e.ok(err, "parse stored dids")
		if m["+48221234567"] != "10100" || m["0221234568"] != "70000" {
			e.t.Errorf("stored dids %v", m)
		}
		if err := e.s.SetSetting(e.ctx, directory.SettingDIDs, `{"+4822x":"10100"}`); !hasField(err, "dids[+4822x]") {
			e.t.Errorf("bad DID number: %v, want an error on dids[+4822x]", err)
		}
		e.setting(directory.SettingDIDs, dids, "after a refused value")
		all, err := e.s.Settings(e.ctx)
		e.ok(err, "settings")
		if all[directory.SettingTrunks] != got || all[directory.SettingDIDs] != dids {
			e.t.Errorf("Settings() lacks trunks or dids: %q %q", all[directory.SettingTrunks], all[directory.SettingDIDs])
		}
	}},
	{"an unknown key is refused", func(e *env) {
		e.is(e.s.SetSetting(e.ctx, "colour", "red"), directory.ErrInvalid, "unknown key")
		all, err := e.s.Settings(e.ctx)
		e.ok(err, "settings")
		if _, ok := all["colour"]; ok {
			e.t.Error("an unknown key was stored")
		}
	}},
	{"the default role must exist and is given to new users", func(e *env) {
		agent := strconv.FormatInt(e.role(directory.BuiltinAgent).ID, 10)
		err := e.s.SetSetting(e.ctx, directory.SettingDefaultRole, "987654")
		var ie *directory.InvalidError
		if !errors.As(err, &ie) {
			e.t.Errorf("default role that does not exist: %v, want an *InvalidError", err)
		}
		e.is(e.s.SetSetting(e.ctx, directory.SettingDefaultRole, "agent"), directory.ErrInvalid, "not an ID")
		e.setting(directory.SettingDefaultRole, agent, "after refused values")

		r := &directory.Role{Name: "Trainee"}
		e.ok(e.s.CreateRole(e.ctx, r), "create role")
		e.ok(e.s.SetSetting(e.ctx, directory.SettingDefaultRole, strconv.FormatInt(r.ID, 10)), "set default role")
		u := e.user("10001")
		e.ids(e.get(u.ID).RoleIDs, []int64{r.ID}, "roles of a user created with no roles")
	}},
}

func hasField(err error, field string) bool {
	for _, ie := range directory.Fields(err) {
		if ie.Field == field {
			return true
		}
	}
	return false
}

func (e *env) setting(key, want, what string) {
	e.t.Helper()
	got, err := e.s.Setting(e.ctx, key)
	e.ok(err, "setting %s", key)
	if got != want {
		e.t.Errorf("setting %s %s: %q, want %q", key, what, got, want)
	}
}
