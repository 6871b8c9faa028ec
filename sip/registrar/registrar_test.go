package registrar

import (
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/sip/digest"
	"github.com/switchboard-pbx/switchboard/sip/guard"
	"github.com/switchboard-pbx/switchboard/sip/wire"
)

func rawRegister(headers ...string) string {
	base := []string{
		"REGISTER sip:pbx.example.com SIP/2.0",
		"Via: SIP/2.0/UDP 192.168.1.50:5060;branch=z9hG4bK" + sip.GenerateTagN(12) + ";rport",
		"Max-Forwards: 70",
		"To: <sip:10001@pbx.example.com>",
		"From: <sip:10001@pbx.example.com>;tag=456248",
		"Call-ID: 843817637684230@998sdasdh09",
		"CSeq: 1826 REGISTER",
	}
	return strings.Join(append(base, headers...), "\r\n") + "\r\nContent-Length: 0\r\n\r\n"
}

func parseReq(t testing.TB, raw string) *sip.Request {
	t.Helper()
	m, err := sip.ParseMessage([]byte(raw))
	if err != nil {
		t.Fatalf("parse: %v\n%s", err, raw)
	}
	return m.(*sip.Request)
}

func TestParseRegister(t *testing.T) {
	r, err := parseRegister(parseReq(t, rawRegister(
		"Contact: <sip:10001@192.168.1.50:5060>;expires=120, <sip:10001@192.168.1.50:5062;transport=tcp>",
		"Contact: <sips:10001@phone.example.com>;q=0.5",
		"Expires: 300")))
	if err != nil {
		t.Fatal(err)
	}
	if r.ext != "10001" || r.cseq != 1826 || r.callID != "843817637684230@998sdasdh09" || r.expires != 300 {
		t.Errorf("parsed %+v", r)
	}
	want := []contact{{"sip:10001@192.168.1.50:5060", 120}, {"sip:10001@192.168.1.50:5062;transport=tcp", -1},
		{"sips:10001@phone.example.com", -1}}
	if len(r.contacts) != len(want) {
		t.Fatalf("contacts %+v", r.contacts)
	}
	for i := range want {
		if r.contacts[i] != want[i] {
			t.Errorf("contact %d: %+v, want %+v", i, r.contacts[i], want[i])
		}
	}

	r, err = parseRegister(parseReq(t, rawRegister("Contact: *", "Expires: 0")))
	if err != nil || !r.wildcard {
		t.Errorf("Contact *: %+v %v", r, err)
	}
}

// Malformed REGISTERs get a 400 whose reason says what is wrong.
func TestParseRegisterRefuses(t *testing.T) {
	for _, tc := range []struct {
		name, raw, reason string
	}{
		{"bad Expires", rawRegister("Contact: <sip:10001@h>", "Expires: soon"), "Bad Expires"},
		{"negative Expires", rawRegister("Contact: <sip:10001@h>", "Expires: -5"), "Bad Expires"},
		{"two Expires", rawRegister("Contact: <sip:10001@h>", "Expires: 60", "Expires: 70"), "More Than One Expires"},
		{"bad contact expires", rawRegister("Contact: <sip:10001@h>;expires=1h"), "Bad Contact Expires"},
		{"tel contact", rawRegister("Contact: <tel:+48221234567>"), "Contact Must Be A SIP URI"},
		{"star with expires", rawRegister("Contact: *", "Expires: 60"), "Contact * Needs Expires 0 And No Other Contact"},
		{"star without expires", rawRegister("Contact: *"), "Contact * Needs Expires 0 And No Other Contact"},
		{"star and another", rawRegister("Contact: *", "Contact: <sip:10001@h>", "Expires: 0"), "Contact * Needs Expires 0 And No Other Contact"},
		{"long contact", rawRegister("Contact: <sip:10001@" + strings.Repeat("h", 600) + ">"), "Contact Too Long"},
		{"wrong CSeq method", strings.Replace(rawRegister(), "1826 REGISTER", "1826 INVITE", 1), "CSeq Method Is Not REGISTER"},
		{"no To", strings.Replace(rawRegister(), "To: <sip:10001@pbx.example.com>\r\n", "", 1), "Missing To"},
		{"no From", strings.Replace(rawRegister(), "From: <sip:10001@pbx.example.com>;tag=456248\r\n", "", 1), "Missing From"},
		{"no Call-ID", strings.Replace(rawRegister(), "Call-ID: 843817637684230@998sdasdh09\r\n", "", 1), "Missing Call-ID"},
	} {
		_, err := parseRegister(parseReq(t, tc.raw))
		if err == nil || err.Error() != tc.reason {
			t.Errorf("%s: err %v, want %q", tc.name, err, tc.reason)
		}
	}
}

// FuzzRegisterParsing runs what the registrar does with a packet before
// authentication: the raw screening, sipgo's parser (with our size limit)
// and parseRegister, which must never panic.
func FuzzRegisterParsing(f *testing.F) {
	f.Add([]byte(rawRegister("Contact: <sip:10001@192.168.1.50:5060>;expires=120", "Expires: 300")))
	f.Add([]byte(rawRegister("Contact: *", "Expires: 0")))
	f.Add([]byte(rawRegister("Contact: \"a,b\" <sip:10001@h;x=\"y\">;expires=", "Expires: 4294967296")))
	f.Add([]byte(rawRegister("Contact: <sip:@:>", "Authorization: Digest username=\"10001\", nc=zz")))
	f.Add([]byte("REGISTER sip:x SIP/2.0\r\nTo: x\r\n\r\n"))
	p := sip.NewParser()
	p.MaxMessageLength = 16 << 10
	f.Fuzz(func(t *testing.T, data []byte) {
		if ua := wire.HeaderValue(data, "user-agent"); ua != nil {
			guard.MatchAgent(ua, guard.DefaultScannerAgents)
		}
		m, err := p.ParseSIP(data)
		if err != nil {
			return
		}
		req, ok := m.(*sip.Request)
		if !ok {
			return
		}
		parseRegister(req)
		for _, h := range req.GetHeaders("Authorization") {
			if c, err := digest.ParseAuthorization(h.Value()); err == nil {
				c.Check()
			}
		}
	})
}
