package directory_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/directory"
)

func TestFeatureCodesSetting(t *testing.T) {
	for _, tc := range []struct {
		value string
		rule  string // "" when valid
	}{
		{"", ""},
		{"dnd.on=*55, dnd.off=*56", ""},
		{"park=#70", ""},
		{"dnd.on", "feature=code pairs"},
		{"fly=*99", "unknown feature"},
		{"dnd.on=55", "starting with * or #"},
		{"dnd.on=*", "2 to 6"},
		{"dnd.on=*1234567", "2 to 6"},
		{"dnd.on=*7a", "2 to 6"},
		{"dnd.on=*7", "prefix"},       // *7 is a prefix of *70, *72, *73, *79
		{"dnd.on=*79", "prefix"},      // the same as dnd.off
		{"pickup.group=*3", "prefix"}, // of *31..*33
		{"intercom=*8", "prefix"},     // pickup.group's
		{"monitor.listen=*32", "prefix"},
	} {
		err := directory.ValidateSetting(directory.SettingFeatureCodes, tc.value)
		switch {
		case tc.rule == "" && err != nil:
			t.Errorf("%q: %v", tc.value, err)
		case tc.rule != "" && (err == nil || !errors.Is(err, directory.ErrInvalid) || !strings.Contains(err.Error(), tc.rule)):
			t.Errorf("%q: %v, want an invalid error about %q", tc.value, err, tc.rule)
		}
	}
}

func TestFeatureMatch(t *testing.T) {
	table, err := directory.ParseFeatureCodes("dnd.on=*55")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		dialed  string
		feature directory.Feature
		arg     string
	}{
		{"*55", directory.FeatureDNDOn, ""},
		{"*78", "", ""}, // moved
		{"*79", directory.FeatureDNDOff, ""},
		{"*7910", "", ""},
		{"*72+48 22 123 45 67", directory.FeatureForwardOn, "+48221234567"},
		{"*7210002", directory.FeatureForwardOn, "10002"},
		{"*72", "", ""},
		{"*73", directory.FeatureForwardOff, ""},
		{"*3110002", directory.FeatureMonitorListen, "10002"},
		{"*31123", "", ""},
		{"**10002", directory.FeaturePickupDirected, "10002"},
		{"*8", directory.FeaturePickupGroup, ""},
		{"*9010002", directory.FeatureIntercom, "10002"},
		{"*9120000", directory.FeaturePaging, "20000"},
		{"*91", "", ""},
		{"10002", "", ""},
	} {
		f, arg, ok := directory.MatchFeature(table, tc.dialed)
		if ok != (tc.feature != "") || f.Feature != tc.feature || arg != tc.arg {
			t.Errorf("%q: %q %q %v, want %q %q", tc.dialed, f.Feature, arg, ok, tc.feature, tc.arg)
		}
	}
	for _, f := range table {
		if !f.Ready {
			t.Errorf("%s not ready", f.Feature)
		}
	}
}
