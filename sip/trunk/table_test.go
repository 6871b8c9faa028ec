package trunk

import (
	"strings"
	"testing"
)

// FuzzOutboundTrunks: the trunks a number goes to serve it, longest
// matching prefix first, then those without prefixes.
func FuzzOutboundTrunks(f *testing.F) {
	f.Add("+842438123456", "+84", "+8424,+48", "")
	f.Add("+48221234567", "+4", "+48", "+")
	f.Add("", "", ",", "+1")
	f.Fuzz(func(t *testing.T, num, p1, p2, p3 string) {
		split := func(s string) []string {
			if s == "" {
				return nil
			}
			return strings.Split(s, ",")
		}
		tt := &table{trunks: []*Trunk{{Name: "a", Prefixes: split(p1)}, {Name: "b", Prefixes: split(p2)},
			{Name: "c", Prefixes: split(p3)}}}
		last := 1 << 30
		for _, tr := range tt.outbound(num) {
			match := 0
			for _, p := range tr.Prefixes {
				if strings.HasPrefix(num, p) && len(p) > match {
					match = len(p)
				}
			}
			if len(tr.Prefixes) > 0 && match == 0 || match > last {
				t.Fatalf("number %q: trunk %s (prefixes %q) out of place", num, tr.Name, tr.Prefixes)
			}
			last = match
		}
	})
}
