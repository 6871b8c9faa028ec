package trunk

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/directory"
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

// settings is a directory's settings held in a map.
type settings map[string]string

func (s settings) Setting(_ context.Context, key string) (string, error) { return s[key], nil }

// TestTableMerge: a setting trunk replaces the configured one of the same
// name and comes first, the dids setting wins over the configured DIDs,
// and requests are the trunk's by the addresses its host resolves to.
func TestTableMerge(t *testing.T) {
	hosts := map[string][]netip.Addr{
		"static.example": {netip.MustParseAddr("192.0.2.3")},
		"old.example":    {netip.MustParseAddr("192.0.2.4")},
		"new.example":    {netip.MustParseAddr("::ffff:192.0.2.5")},
	}
	set := settings{
		directory.SettingTrunks: `[{"name":"carrier","host":"new.example","username":"u","password":"p"}]`,
		directory.SettingDIDs:   `{"+48221000002":"10020"}`,
	}
	tab := New(Config{
		Trunks:   []Trunk{{Name: "static", Host: "static.example"}, {Name: "carrier", Host: "old.example"}},
		DIDs:     map[string]string{"+48221000001": "10001", "+48221000002": "10002"},
		Settings: set,
		Resolve: func(host string) []netip.Addr {
			var out []netip.Addr
			for _, a := range hosts[host] {
				out = append(out, a.Unmap())
			}
			return out
		},
	})
	if got := tab.First(); got == nil || got.Name != "static" {
		t.Errorf("First before Load = %+v", got)
	}
	if err := tab.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := tab.Trunks()
	if len(got) != 2 || got[0].Name != "carrier" || got[0].Host != "new.example" || got[0].Password != "p" ||
		got[1].Name != "static" {
		t.Errorf("Trunks() = %+v", got)
	}
	if tr := tab.From(netip.MustParseAddr("::ffff:192.0.2.5")); tr == nil || tr.Name != "carrier" {
		t.Errorf("From(192.0.2.5 as IPv4-mapped) = %+v", tr)
	}
	if tr := tab.From(netip.MustParseAddr("192.0.2.4")); tr != nil {
		t.Errorf("From(192.0.2.4) = %+v: the replaced host is no trunk any more", tr)
	}
	for num, want := range map[string]string{"+48221000001": "10001", "+48221000002": "10020"} {
		if ext, _ := tab.DID(num); ext != want {
			t.Errorf("DID(%s) = %q, want %q", num, ext, want)
		}
	}
	if _, ok := tab.DID("+48221000009"); ok {
		t.Error("DID of an unmapped number")
	}
}

func TestTrunkAddr(t *testing.T) {
	for _, tc := range []struct {
		t           Trunk
		addr, label string
	}{
		{Trunk{Host: "sip.example"}, "sip.example:5060", "sip.example:5060"},
		{Trunk{Name: "c", Host: "sip.example", Transport: "tls"}, "sip.example:5061", "c"},
		{Trunk{Host: "2001:db8::1", Port: 5080}, "[2001:db8::1]:5080", "[2001:db8::1]:5080"},
	} {
		if got := tc.t.Addr(); got != tc.addr {
			t.Errorf("%+v: Addr() = %s, want %s", tc.t, got, tc.addr)
		}
		if got := tc.t.Label(); got != tc.label {
			t.Errorf("%+v: Label() = %s, want %s", tc.t, got, tc.label)
		}
	}
}
