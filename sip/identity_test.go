package sip

import (
	"cmp"
	"flag"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// golden compares got with testdata/name, or rewrites it under -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run with -update to write it)", err)
	}
	if string(want) != got {
		t.Errorf("%s differs from what was sent:\n--- got\n%s--- want\n%s", path, got, want)
	}
}

// identityHeaders are the caller identity headers of a trunk INVITE, one
// a line, without the From tag and with the carrier's port as PORT.
func identityHeaders(inv *sip.Request, port int) string {
	from := sip.FromHeader{DisplayName: inv.From().DisplayName, Address: inv.From().Address}
	var b strings.Builder
	b.WriteString("From: " + from.Value() + "\n")
	for _, name := range []string{"P-Asserted-Identity", "Privacy", "Diversion", "History-Info"} {
		for _, h := range inv.GetHeaders(name) {
			b.WriteString(name + ": " + h.Value() + "\n")
		}
	}
	return strings.ReplaceAll(b.String(), ":"+strconv.Itoa(port), ":PORT")
}

// hdr returns the value of a header of req, "" when absent.
func hdr(req *sip.Request, name string) string {
	if h := req.GetHeader(name); h != nil {
		return h.Value()
	}
	return ""
}

// TestTrunkIdentity checks, at a simulated carrier, the From,
// P-Asserted-Identity and Privacy of the trunk leg for each choice a trunk
// offers, and for a user who hides their number.
func TestTrunkIdentity(t *testing.T) {
	const (
		own     = "+48221234501" // the user's outbound caller ID
		company = "+48221000000" // the trunk's caller ID
	)
	var msgs strings.Builder // the golden messages, testdata/trunk_identity.txt
	for _, tc := range []struct {
		name                     string
		fromUser, pai, privacy   string
		hide                     bool
		wantFrom, wantPAI, wantP string
	}{
		{"default: the user's caller ID, nothing else", "", "", "", false, own, "", ""},
		{"From the company number", directory.IdentityCompany, "", "", false, company, "", ""},
		{"From the trunk's account", directory.IdentityTrunk, "", "", false, "pbx", "", ""},
		{"From the company, PAI the user", directory.IdentityCompany, directory.IdentityUser, "", false, company, own, ""},
		{"From the trunk, PAI the company", directory.IdentityTrunk, directory.IdentityCompany, "", false, "pbx", company, ""},
		{"Privacy: none on every presented call", "", "", directory.PrivacyAlways, false, own, "", "none"},
		{"hidden: anonymous From, Privacy id, PAI the real number", "", "", "", true, "anonymous", own, "id"},
		{"hidden, PAI the company", "", directory.IdentityCompany, directory.PrivacyAlways, true, "anonymous", company, "id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, _ := openSQLite(t)
			u := addUser(t, st, "10001")
			if _, err := st.UpdateUser(t.Context(), u.ID, directory.UserPatch{CallerID: sp(own),
				HideNumber: &tc.hide}); err != nil {
				t.Fatal(err)
			}
			car := startCarrier(t, false)
			tr := car.trunk()
			tr.FromUser, tr.PAI, tr.Privacy = tc.fromUser, tc.pai, tc.privacy
			cs := startCallServer(t, st, CallConfig{Trunks: []Trunk{tr}})
			pa := newCallPhone(t, cs, "10001", answerOK)
			sess, err := pa.dial(t.Context(), "+48229999999")
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			inv := wait(t, car.invites, "INVITE at the carrier")
			msgs.WriteString("# " + tc.name + "\n" + identityHeaders(inv, tr.Port) + "\n")
			from := inv.From().Address
			if from.User != tc.wantFrom {
				t.Errorf("From %s, want user %s", from.String(), tc.wantFrom)
			}
			if tc.hide && (from.Host != "anonymous.invalid" || inv.From().DisplayName != "Anonymous") {
				t.Errorf("From of a hidden number: %s", inv.From().Value())
			}
			wantPAI := ""
			if tc.wantPAI != "" {
				wantPAI = "<sip:" + tc.wantPAI + "@" + tr.Host + ">"
			}
			if got := hdr(inv, "P-Asserted-Identity"); got != wantPAI {
				t.Errorf("P-Asserted-Identity %q, want %q", got, wantPAI)
			}
			if got := hdr(inv, "Privacy"); got != tc.wantP {
				t.Errorf("Privacy %q, want %q", got, tc.wantP)
			}
			if got := hdr(inv, "Diversion") + hdr(inv, "History-Info"); got != "" {
				t.Errorf("a call not forwarded carries %q", got)
			}
			sess.Bye(t.Context())
			if row := cs.nextCDR(t); row.From != "10001" || row.CallerID != u.ID {
				t.Errorf("cdr: %+v", row)
			}
			cs.noCallLeft(t)
		})
	}
	golden(t, "trunk_identity.txt", msgs.String())
}

// carrierCall places a call from the carrier to a DID with the given From
// user and extra headers; it returns once the call is answered.
func carrierCall(t *testing.T, cs *callServer, car *carrier, did, fromUser string, hdrs ...sip.Header) func() {
	t.Helper()
	host, port, _ := net.SplitHostPort(cs.udp)
	rtpAddr := car.rtp.LocalAddr().(*net.UDPAddr)
	body := "v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio " +
		strconv.Itoa(rtpAddr.Port) + " RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: fromUser, Host: "127.0.0.2"},
		Params: sip.HeaderParams{{K: "tag", V: sip.GenerateTagN(8)}}}
	hs := append([]sip.Header{from, sip.NewHeader("Content-Type", "application/sdp")}, hdrs...)
	sess, err := sipgoDialogUA(car).Invite(t.Context(), sip.Uri{Scheme: "sip", User: did, Host: host,
		Port: atoiPort(port)}, []byte(body), hs...)
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.WaitAnswer(t.Context(), sipgoAnswer(nil)); err != nil {
		t.Fatalf("inbound call: %v", err)
	}
	sess.Ack(t.Context())
	return func() { sess.Bye(t.Context()) }
}

// TestTrunkInboundCaller checks that the caller of a call from a trunk is
// taken from P-Asserted-Identity, else From, in E.164 with the default
// country, both at the called phone and in the call history.
func TestTrunkInboundCaller(t *testing.T) {
	for _, tc := range []struct {
		name, from, pai, privacy string
		want                     string
	}{
		{"PAI wins over From", "carrier-gw", "<tel:601999888>", "", "+48601999888"},
		{"PAI as a sip URI with a display name", "+48111111111", `"Jan" <sip:0048601999888@127.0.0.2;user=phone>`, "",
			"+48601999888"},
		{"no PAI: From, national, normalized", "601999888", "", "", "+48601999888"},
		{"Privacy: id: the number is withheld", "anonymous", "<tel:+48601999888>", "id", "anonymous"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, _ := openSQLite(t)
			b := addUser(t, st, "10002")
			car := startCarrier(t, false)
			cs := startCallServer(t, st, CallConfig{Trunks: []Trunk{car.trunk()},
				DIDs: map[string]string{"+48221000100": "10002"}})
			pb := newCallPhone(t, cs, "10002", answerOK)
			var hs []sip.Header
			if tc.pai != "" {
				hs = append(hs, sip.NewHeader("P-Asserted-Identity", tc.pai))
			}
			if tc.privacy != "" {
				hs = append(hs, sip.NewHeader("Privacy", tc.privacy))
			}
			bye := carrierCall(t, cs, car, "+48221000100", tc.from, hs...)
			inv := wait(t, pb.invites, "INVITE at the phone")
			if u := inv.From().Address.User; u != tc.want {
				t.Errorf("the phone sees the caller as %q, want %s", u, tc.want)
			}
			bye()
			row := cs.nextCDR(t)
			if row.Direction != directory.Inbound || row.CalleeID != b.ID || row.From != tc.want {
				t.Errorf("cdr: %+v", row)
			}
			cs.noCallLeft(t)
		})
	}
}

// TestTrunkForwardDiversion checks that a call from outside that a user's
// forward sends back out by the trunk tells the carrier so, as the trunk
// asks: Diversion (RFC 5806) or History-Info (RFC 7044) naming the
// forwarding user's number and why, with the outside caller's number in
// the From.
func TestTrunkForwardDiversion(t *testing.T) {
	const own = "+48221234502"
	var msgs strings.Builder // the golden messages, testdata/trunk_diversion.txt
	for _, tc := range []struct {
		mode     string
		wantFrom string
		check    func(t *testing.T, inv *sip.Request, target string)
	}{
		{"", own, func(t *testing.T, inv *sip.Request, _ string) {
			if got := hdr(inv, "Diversion") + hdr(inv, "History-Info"); got != "" {
				t.Errorf("a trunk that wants none got %q", got)
			}
		}},
		{directory.DiversionHeader, "+48601999888", func(t *testing.T, inv *sip.Request, _ string) {
			want := "<sip:" + own + "@127.0.0.2>;reason=unconditional;counter=1"
			if got := hdr(inv, "Diversion"); got != want {
				t.Errorf("Diversion %q, want %q", got, want)
			}
		}},
		{directory.DiversionHistoryInfo, "+48601999888", func(t *testing.T, inv *sip.Request, target string) {
			var got []string
			for _, h := range inv.GetHeaders("History-Info") {
				got = append(got, h.Value())
			}
			want := []string{"<sip:" + own + "@127.0.0.2?Reason=SIP%3Bcause%3D302%3Btext%3D%22always%22>;index=1",
				"<" + target + ">;index=1.1;mp=1"}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("History-Info\n got %q\nwant %q", got, want)
			}
		}},
	} {
		t.Run("diversion "+tc.mode, func(t *testing.T) {
			st, _ := openSQLite(t)
			b := addUser(t, st, "10002")
			car := startCarrier(t, false)
			tr := car.trunk()
			tr.Diversion = tc.mode
			cs := startCallServer(t, st, CallConfig{Trunks: []Trunk{tr},
				DIDs: map[string]string{"+48221000100": "10002"}})
			newCallPhone(t, cs, "10002", answerOK)
			setForward(t, cs, b.ID, directory.UserPatch{CallerID: sp(own), ForwardAlways: sp("+48229999999")})
			bye := carrierCall(t, cs, car, "+48221000100", "+48601999888")
			inv := wait(t, car.invites, "the forwarded INVITE at the carrier")
			if inv.Recipient.User != "+48229999999" {
				t.Fatalf("carrier invited for %s", inv.Recipient.String())
			}
			if u := inv.From().Address.User; u != tc.wantFrom {
				t.Errorf("From %s, want %s", inv.From().Address.String(), tc.wantFrom)
			}
			tc.check(t, inv, inv.Recipient.String())
			msgs.WriteString("# diversion " + cmp.Or(tc.mode, "(default)") + "\n" + identityHeaders(inv, tr.Port) + "\n")
			bye()
			if row := cs.nextCDR(t); row.From != "+48601999888" || row.Reason != "forwarded from 10002 (always)" {
				t.Errorf("cdr: %+v", row)
			}
			cs.noCallLeft(t)
		})
	}
	golden(t, "trunk_diversion.txt", msgs.String())
}
