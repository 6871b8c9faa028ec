package wire

import "testing"

func TestParseDeltaSeconds(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "3600": 3600, " 60 ": 60, "4294967295": 1<<32 - 1,
		"99999999999": 1<<32 - 1, "": -1, "-1": -1, "1e3": -1, "+5": -1, "0x10": -1} {
		got, ok := ParseDeltaSeconds(in)
		if want < 0 {
			if ok {
				t.Errorf("%q accepted as %d", in, got)
			}
			continue
		}
		if !ok || got != want {
			t.Errorf("%q: %d %v, want %d", in, got, ok, want)
		}
	}
}

func TestUnescapeUser(t *testing.T) {
	if got := UnescapeUser("%2A70%2a1"); got != "*70*1" {
		t.Errorf("UnescapeUser = %q, want *70*1", got)
	}
}
