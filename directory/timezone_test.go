package directory_test

import (
	"errors"
	"testing"
	_ "time/tzdata" // the zones below, also where /usr/share/zoneinfo is missing

	"github.com/switchboard-pbx/switchboard/directory"
)

func TestValidateTimeZone(t *testing.T) {
	for _, tc := range []struct {
		name, zone string
		ok         bool
	}{
		{"Warsaw", "Europe/Warsaw", true},
		{"Ho Chi Minh City", "Asia/Ho_Chi_Minh", true},
		{"UTC", "UTC", true},
		{"an old alias the database keeps", "Asia/Saigon", true},
		{"empty: the setting needs a zone", "", false},
		{"Local means the server's machine", "Local", false},
		{"a city without its area", "Warsaw", false},
		{"unknown", "Mars/Olympus_Mons", false},
		{"a path", "../../etc/passwd", false},
		{"too long", "Europe/" + string(make([]byte, 70)), false},
	} {
		err := directory.ValidateTimeZone("time_zone", tc.zone)
		var ie *directory.InvalidError
		switch {
		case tc.ok && err != nil:
			t.Errorf("%s: %q refused: %v", tc.name, tc.zone, err)
		case !tc.ok && (!errors.As(err, &ie) || ie.Field != "time_zone"):
			t.Errorf("%s: %q: %v, want an invalid time_zone", tc.name, tc.zone, err)
		}
	}
	if err := directory.ValidateSetting(directory.SettingTimeZone, "Asia/Ho_Chi_Minh"); err != nil {
		t.Errorf("web.timezone Asia/Ho_Chi_Minh: %v", err)
	}
	if err := directory.ValidateSetting(directory.SettingTimeZone, "Hanoi"); !errors.Is(err, directory.ErrInvalid) {
		t.Errorf("web.timezone Hanoi: %v, want invalid", err)
	}
	if !directory.IsSettingKey(directory.SettingTimeZone) || directory.SettingDefaults[directory.SettingTimeZone] != "UTC" {
		t.Error("web.timezone is not a known setting with default UTC")
	}
	// A patch trims the zone and accepts empty (back to the company's).
	for _, z := range []string{" Europe/Warsaw ", ""} {
		p := directory.UserPatch{TimeZone: &z}
		if err := p.Validate(); err != nil {
			t.Errorf("patch time zone %q: %v", z, err)
		}
	}
}
