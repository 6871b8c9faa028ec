package transport

import "testing"

func TestToTag(t *testing.T) {
	for _, c := range []struct{ v, want string }{
		{`<sip:20002@127.0.0.1>;tag=sl.abc`, "sl.abc"},
		{`"Anna" <sip:20002@127.0.0.1;tag=uri>;tag=x1`, "x1"},
		{`<sip:20002@127.0.0.1;tag=uri>`, ""},
		{`sip:20002@127.0.0.1;tag=x2`, "x2"},
		{`sip:20002@127.0.0.1 ; TAG = x3 ;foo`, "x3"},
		{`sip:20002@127.0.0.1`, ""},
		{``, ""},
	} {
		if got := toTag(c.v); got != c.want {
			t.Errorf("toTag(%q) = %q, want %q", c.v, got, c.want)
		}
	}
}
