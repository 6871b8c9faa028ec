package route

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/trunk"
	"github.com/switchboard-pbx/switchboard/sip/wire"
)

func TestAssertedUser(t *testing.T) {
	for _, tc := range []struct {
		in, user string
		ok       bool
	}{
		{"<sip:+48221234567@carrier.example;user=phone>", "+48221234567", true},
		{`"Office" <sips:10001@pbx.example>, <tel:+48221234567>`, "10001", true},
		{"tel:+48221234567;phone-context=x", "+48221234567", true},
		{"<tel:+48221234567>", "+48221234567", true},
		{"<sip:carrier.example>", "", false},
		{"<sip:10001@pbx.example", "", false},
		{"", "", false},
	} {
		if user, ok := assertedUser(tc.in); user != tc.user || ok != tc.ok {
			t.Errorf("assertedUser(%q) = %q, %v; want %q, %v", tc.in, user, ok, tc.user, tc.ok)
		}
	}
}

func TestPath(t *testing.T) {
	if got := splitPath(""); got != nil {
		t.Errorf("splitPath(\"\") = %q, want nil", got)
	}
	path := splitPath("<sip:edge.example:5070;lr>,<sip:core.example;lr>")
	if len(path) != 2 {
		t.Fatalf("splitPath: %q, want 2 entries", path)
	}
	if hop, ok := pathHop(path); !ok || hop != "edge.example:5070" {
		t.Errorf("pathHop(%q) = %q, %v; want edge.example:5070", path, hop, ok)
	}
	if hop, ok := pathHop([]string{"<sip:192.0.2.7;lr>"}); !ok || hop != "192.0.2.7:5060" {
		t.Errorf("pathHop without a port = %q, %v; want 192.0.2.7:5060", hop, ok)
	}
	for _, bad := range [][]string{nil, {"sip:edge.example;lr"}, {"<sip:edge.example"}} {
		if hop, ok := pathHop(bad); ok {
			t.Errorf("pathHop(%q) = %q, want none", bad, hop)
		}
	}
	if got := wire.HostPort("2001:db8::1", 5060); got != "[2001:db8::1]:5060" {
		t.Errorf("hostPort of an IPv6 host = %q", got)
	}
	if got := wire.HostPort("[2001:db8::1]", 5061); got != "[2001:db8::1]:5061" {
		t.Errorf("hostPort of a bracketed IPv6 host = %q", got)
	}
}

func TestRingFor(t *testing.T) {
	var none *Route
	if got := none.RingFor(30 * time.Second); got != 30*time.Second {
		t.Errorf("nil route rings %v, want the default", got)
	}
	if got := (&Route{RingTime: 12 * time.Second}).RingFor(30 * time.Second); got != 12*time.Second {
		t.Errorf("route with its own ring time rings %v, want 12s", got)
	}
}

func TestNoteForwards(t *testing.T) {
	rt := &Route{Notes: []string{"10001 (busy)"}, Stale: []string{"callee busy"}, Final: "no answer"}
	row := &directory.Call{Reason: "callee busy"}
	rt.NoteForwards(row)
	if want := "forwarded from 10001 (busy); no answer"; row.Reason != want {
		t.Errorf("reason %q, want %q", row.Reason, want)
	}
	row = &directory.Call{Reason: "declined"}
	(&Route{}).NoteForwards(row)
	if row.Reason != "declined" {
		t.Errorf("a route without forwards changed the reason to %q", row.Reason)
	}
}

func TestIdentity(t *testing.T) {
	tk := &trunk.Trunk{Host: "carrier.example", Username: "acct1", CallerID: "+48220000000",
		PAI: directory.IdentityUser, Diversion: directory.DiversionHeader}
	u := &directory.User{CallerID: "+48601000200"}
	id := NewIdentity(tk, u, "10001")
	if id.From != "+48601000200" || id.PAI != "+48601000200" || id.Anonymous || id.Privacy != "" {
		t.Errorf("user identity: %+v", id)
	}
	tk.FromUser = directory.IdentityTrunk
	if id := NewIdentity(tk, u, "10001"); id.From != "acct1" {
		t.Errorf("trunk identity From %q, want the trunk's username", id.From)
	}
	tk.FromUser = ""
	hidden := &directory.User{CallerID: "+48601000200", HideNumber: true}
	id = NewIdentity(tk, hidden, "10001")
	if !id.Anonymous || id.Privacy != "id" || id.PAI != "+48601000200" {
		t.Errorf("hidden number identity: %+v", id)
	}

	id.DivNumber, id.DivWhy, id.DivCount = "+48221234567", "busy", 1
	req := sip.NewRequest(sip.INVITE, sip.Uri{Scheme: "sip", User: "+48229999999", Host: "carrier.example"})
	req.AppendHeader(&sip.FromHeader{DisplayName: "Ann", Address: sip.Uri{Scheme: "sip", User: id.From, Host: "carrier.example"}})
	ApplyIdentity(req, Target{Trunk: tk, Identity: id, Domain: "carrier.example", URI: req.Recipient})
	if f := req.From(); f.Address.User != "anonymous" || f.DisplayName != "Anonymous" {
		t.Errorf("From %s, want anonymous", f.Value())
	}
	want := map[string]string{
		"P-Asserted-Identity": "<sip:+48601000200@carrier.example>",
		"Privacy":             "id",
		"Diversion":           "<sip:+48221234567@carrier.example>;reason=user-busy;counter=1",
	}
	for name, v := range want {
		if h := req.GetHeader(name); h == nil || h.Value() != v {
			t.Errorf("%s: %v, want %q", name, h, v)
		}
	}
	plain := sip.NewRequest(sip.INVITE, req.Recipient)
	ApplyIdentity(plain, Target{Identity: id}) // no trunk: a phone's leg
	for name := range want {
		if h := plain.GetHeader(name); h != nil {
			t.Errorf("a leg with no trunk got %s: %s", name, h.Value())
		}
	}
}
