package directory_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/directory"
)

func TestTrunkPrefixes(t *testing.T) {
	ts, err := directory.ParseTrunks(`[{"name":"vn","host":"h","prefixes":[" +84","+8424"]},{"name":"any","host":"h"}]`)
	if err != nil || len(ts) != 2 || !slices.Equal(ts[0].Prefixes, []string{"+84", "+8424"}) || ts[1].Prefixes != nil {
		t.Fatalf("ParseTrunks: %+v, %v", ts, err)
	}
	// Trunks without prefixes are written as before.
	if got := directory.MarshalTrunks(ts[1:]); strings.Contains(got, "prefixes") {
		t.Errorf("a trunk without prefixes marshals as %s", got)
	}
	for _, c := range []struct{ value, field string }{
		{`[{"name":"a","host":"h","prefixes":["84"]}]`, "trunks[0].prefixes[0]"},
		{`[{"name":"a","host":"h","prefixes":["+48","+"]}]`, "trunks[0].prefixes[1]"},
		{`[{"name":"a","host":"h","prefixes":["+4a"]}]`, "trunks[0].prefixes[0]"},
		{`[{"name":"a","host":"h","prefixes":["+1234567890123456"]}]`, "trunks[0].prefixes[0]"},
		{`[{"name":"a","host":"h","prefixes":"+48"}]`, "trunks: must be a JSON array"},
	} {
		if err := directory.ValidateSetting(directory.SettingTrunks, c.value); !strings.Contains(errString(err), c.field) {
			t.Errorf("ValidateSetting(%s) = %v, want %s", c.value, err, c.field)
		}
	}
	many := `[{"name":"a","host":"h","prefixes":[` + strings.Repeat(`"+1",`, directory.MaxTrunkPrefixes) + `"+2"]}]`
	if err := directory.ValidateSetting(directory.SettingTrunks, many); !strings.Contains(errString(err), "trunks[0].prefixes:") {
		t.Errorf("too many prefixes: %v", err)
	}
}

func FuzzParseTrunks(f *testing.F) {
	f.Add(`[{"name":"vn","host":"h","prefixes":["+84"]}]`)
	f.Add(`[{"name":"a","host":"10.0.0.1","port":5060,"transport":"tcp","prefixes":[]}]`)
	f.Add(`[{"name":"a","host":"h","prefixes":["+", "+4\u0000"]}]`)
	f.Fuzz(func(t *testing.T, v string) {
		ts, err := directory.ParseTrunks(v)
		if err != nil {
			return
		}
		for _, tr := range ts {
			for _, p := range tr.Prefixes {
				if !directory.IsTrunkPrefix(p) {
					t.Fatalf("accepted prefix %q", p)
				}
			}
		}
		// What was accepted is accepted again once written.
		if _, err := directory.ParseTrunks(directory.MarshalTrunks(ts)); err != nil {
			t.Fatalf("round trip of %q: %v", v, err)
		}
	})
}
