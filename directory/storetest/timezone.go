package storetest

import (
	_ "time/tzdata" // the zones the suite uses, also where /usr/share/zoneinfo is missing

	"github.com/switchboard-pbx/switchboard/directory"
)

var timeZoneTests = []test{
	{"a new user has no time zone of their own", func(e *env) {
		u := e.user("10001")
		if got := e.get(u.ID).TimeZone; got != "" {
			e.t.Errorf("time zone of a new user = %q, want empty (the company's)", got)
		}
	}},
	{"UpdateUser sets, keeps and clears the time zone", func(e *env) {
		u := e.user("10001")
		got, err := e.s.UpdateUser(e.ctx, u.ID, directory.UserPatch{TimeZone: ptr(" Europe/Warsaw ")})
		e.ok(err, "set the time zone")
		if got.TimeZone != "Europe/Warsaw" {
			e.t.Errorf("returned after setting: time zone %q, want Europe/Warsaw (trimmed)", got.TimeZone)
		}
		if tz := e.get(u.ID).TimeZone; tz != "Europe/Warsaw" {
			e.t.Errorf("read after setting: time zone %q, want Europe/Warsaw", tz)
		}
		_, err = e.s.UpdateUser(e.ctx, u.ID, directory.UserPatch{Name: ptr("Renamed"), Language: ptr("pl")})
		e.ok(err, "rename")
		if tz := e.get(u.ID).TimeZone; tz != "Europe/Warsaw" {
			e.t.Errorf("a patch without a time zone changed it to %q", tz)
		}
		_, err = e.s.UpdateUser(e.ctx, u.ID, directory.UserPatch{TimeZone: ptr("Asia/Ho_Chi_Minh")})
		e.ok(err, "change the time zone")
		if tz := e.get(u.ID).TimeZone; tz != "Asia/Ho_Chi_Minh" {
			e.t.Errorf("read after changing: time zone %q, want Asia/Ho_Chi_Minh", tz)
		}
		_, err = e.s.UpdateUser(e.ctx, u.ID, directory.UserPatch{TimeZone: ptr("")})
		e.ok(err, "clear the time zone")
		if tz := e.get(u.ID).TimeZone; tz != "" {
			e.t.Errorf("read after clearing: time zone %q, want empty", tz)
		}
	}},
	{"an unknown time zone is invalid and changes nothing", func(e *env) {
		u := e.user("10001")
		_, err := e.s.UpdateUser(e.ctx, u.ID, directory.UserPatch{TimeZone: ptr("Europe/Warsaw")})
		e.ok(err, "set the time zone")
		for _, bad := range []string{"Mars/Olympus_Mons", "Local", "../../etc/passwd", "GMT+25"} {
			_, err := e.s.UpdateUser(e.ctx, u.ID, directory.UserPatch{TimeZone: ptr(bad), Name: ptr("Changed")})
			e.invalid(err, "time_zone", "time zone %q", bad)
		}
		got := e.get(u.ID)
		if got.TimeZone != "Europe/Warsaw" || got.Name == "Changed" {
			e.t.Errorf("after refused patches: time zone %q, name %q; want Europe/Warsaw and the old name", got.TimeZone, got.Name)
		}
	}},
	{"the company time zone is a setting, UTC by default", func(e *env) {
		tz, err := e.s.Setting(e.ctx, directory.SettingTimeZone)
		e.ok(err, "read web.timezone")
		if tz != "UTC" {
			e.t.Errorf("default web.timezone = %q, want UTC", tz)
		}
		e.ok(e.s.SetSetting(e.ctx, directory.SettingTimeZone, "Asia/Ho_Chi_Minh"), "set web.timezone")
		if tz, err = e.s.Setting(e.ctx, directory.SettingTimeZone); err != nil || tz != "Asia/Ho_Chi_Minh" {
			e.t.Errorf("web.timezone read back = %q, %v; want Asia/Ho_Chi_Minh", tz, err)
		}
		e.invalid(e.s.SetSetting(e.ctx, directory.SettingTimeZone, "Warsaw"), directory.SettingTimeZone, "web.timezone Warsaw")
		if tz, _ = e.s.Setting(e.ctx, directory.SettingTimeZone); tz != "Asia/Ho_Chi_Minh" {
			e.t.Errorf("a refused web.timezone changed it to %q", tz)
		}
	}},
}
