package directory_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

func TestParseParkOrbits(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string // orbits joined by spaces; "!" an error
	}{
		{"", "701 702 703 704 705 706 707 708 709"},
		{"none", ""},
		{"801-803, 900", "801 802 803 900"},
		{"0700-0702", "0700 0701 0702"},
		{"801-803,802", "801 802 803"},
		{"10001", "!"},       // an extension's length
		{"70-79", "!"},       // 2 digits
		{"709-701", "!"},     // backwards
		{"99-105", "!"},      // lengths differ
		{"110-115", "!"},     // 112 and 113 to 115 are emergency numbers
		{"1000-1100", "!"},   // more than MaxParkOrbits
		{"7o1", "!"},         // not digits
		{"701-709;800", "!"}, // not a list of ranges
	} {
		got, err := directory.ParseParkOrbits(tc.in)
		var ie *directory.InvalidError
		switch {
		case tc.want == "!":
			if err == nil || !errors.As(err, &ie) || ie.Field != directory.SettingParkOrbits {
				t.Errorf("%q: %v %v, want an error for %s", tc.in, got, err, directory.SettingParkOrbits)
			}
		case err != nil || strings.Join(got, " ") != tc.want:
			t.Errorf("%q: %v %v, want %s", tc.in, got, err, tc.want)
		}
	}
	if d, err := directory.ParseParkTimeout(""); err != nil || d != directory.DefaultParkTimeout {
		t.Errorf("empty timeout: %v %v", d, err)
	}
	if d, err := directory.ParseParkTimeout("0"); err != nil || d != 0 {
		t.Errorf("timeout 0: %v %v", d, err)
	}
	if d, err := directory.ParseParkTimeout("90"); err != nil || d != 90*time.Second {
		t.Errorf("timeout 90: %v %v", d, err)
	}
	for _, bad := range []string{"-1", "3601", "1m"} {
		if _, err := directory.ParseParkTimeout(bad); err == nil {
			t.Errorf("timeout %q accepted", bad)
		}
	}
	for k, v := range map[string]string{directory.SettingParkMOH: "/etc/passwd", directory.SettingParkTimeout: "x",
		directory.SettingQueuePrompts: "prompts/relative"} {
		if directory.ValidateSetting(k, v) == nil {
			t.Errorf("%s=%q accepted", k, v)
		}
	}
	if err := directory.ValidateSetting(directory.SettingParkMOH, "/var/lib/switchboard/hold.wav"); err != nil {
		t.Errorf("a WAV path refused: %v", err)
	}
	if err := directory.ValidateSetting(directory.SettingQueuePrompts, "/var/lib/switchboard/prompts"); err != nil {
		t.Errorf("a prompts directory refused: %v", err)
	}
	if !directory.IsSettingKey(directory.SettingParkOrbits) || directory.SettingDefaults[directory.SettingParkOrbits] != "701-709" {
		t.Error("park.orbits is not an operators' setting with its default")
	}
}
