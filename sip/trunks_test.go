package sip

import (
	"net"
	"net/netip"
	"strconv"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
)

// TestCallInboundDIDFromSettings: a carrier known only from the trunks
// setting calls a number of the dids setting, changed while serving.
func TestCallInboundDIDFromSettings(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10002")
	c := addUser(t, st, "10003")
	car := startCarrier(t, false)
	tr := car.trunk()
	set := func(key, value string) {
		t.Helper()
		if err := st.SetSetting(t.Context(), key, value); err != nil {
			t.Fatal(err)
		}
	}
	set(directory.SettingTrunks, directory.MarshalTrunks([]directory.TrunkSetting{{Name: "carrier", Host: tr.Host, Port: tr.Port}}))
	set(directory.SettingDIDs, `{"+48221000100":"10002"}`)
	cs := startCallServer(t, st, CallConfig{})
	newCallPhone(t, cs, "10002", answerOK)
	pc := newCallPhone(t, cs, "10003", answerOK)
	set(directory.SettingDIDs, `{"+48221000100":"10003"}`)
	if err := cs.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}

	host, port, _ := net.SplitHostPort(cs.udp)
	dua := sipgoDialogUA(car)
	rtpAddr := car.rtp.LocalAddr().(*net.UDPAddr)
	body := "v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio " +
		strconv.Itoa(rtpAddr.Port) + " RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "+48601999888", Host: "127.0.0.2"},
		Params: sip.HeaderParams{{K: "tag", V: "c1"}}}
	sess, err := dua.Invite(t.Context(), sip.Uri{Scheme: "sip", User: "+48221000100", Host: host, Port: atoiPort(port)},
		[]byte(body), from, sip.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.WaitAnswer(t.Context(), sipgoAnswer(nil)); err != nil {
		t.Fatalf("inbound call: %v", err)
	}
	sess.Ack(t.Context())
	wait(t, pc.incoming, "inbound call at the extension the DID now maps to")
	sess.Bye(t.Context())
	row := cs.nextCDR(t)
	if row.Direction != directory.Inbound || row.CalleeID != c.ID || row.Dialed != "+48221000100" ||
		row.Disposition != directory.Answered {
		t.Errorf("cdr: %+v", row)
	}
	cs.noCallLeft(t)
}

// TestTrunksFromSettings merges the trunks and dids settings with the
// configured ones, and follows them as they change.
func TestTrunksFromSettings(t *testing.T) {
	st, _ := openSQLite(t)
	cfg := CallConfig{Trunks: []Trunk{{Name: "static", Host: "127.0.0.3"}, {Name: "carrier", Host: "127.0.0.4"}},
		DIDs: map[string]string{"+48221000001": "10001", "+48221000002": "10002"}}
	ts := startServer(t, st, nil, func(c *Config) { c.Calls = cfg })
	if got := ts.tk.First(); got == nil || got.Name != "static" {
		t.Errorf("outbound trunk before any setting: %+v", got)
	}
	if err := st.SetSetting(t.Context(), directory.SettingTrunks,
		`[{"name":"carrier","host":"127.0.0.5","username":"u","password":"p"}]`); err != nil {
		t.Fatal(err)
	}
	if err := st.SetSetting(t.Context(), directory.SettingDIDs, `{"+48221000002":"10020","0221000003":"10003"}`); err != nil {
		t.Fatal(err)
	}
	if err := ts.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	got := ts.tk.Trunks()
	if len(got) != 2 || got[0].Name != "carrier" || got[0].Host != "127.0.0.5" || got[0].Password != "p" || got[1].Name != "static" {
		t.Errorf("Trunks() = %+v: want the setting's carrier first, replacing the configured one, then static", got)
	}
	if tr := ts.trunkFrom(netip.MustParseAddr("127.0.0.5")); tr == nil || tr.Name != "carrier" {
		t.Errorf("trunkFrom(127.0.0.5) = %+v", tr)
	}
	if tr := ts.trunkFrom(netip.MustParseAddr("127.0.0.4")); tr != nil {
		t.Errorf("trunkFrom(127.0.0.4) = %+v: the replaced host is no trunk any more", tr)
	}
	for num, want := range map[string]string{"+48221000001": "10001", "+48221000002": "10020", "0221000003": "10003"} {
		if ext, _ := ts.didTarget(num); ext != want {
			t.Errorf("DID %s -> %q, want %q", num, ext, want)
		}
	}
	if err := st.SetSetting(t.Context(), directory.SettingTrunks, ""); err != nil {
		t.Fatal(err)
	}
	if err := ts.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got := ts.tk.Trunks(); len(got) != 2 || got[0].Name != "static" || got[1].Host != "127.0.0.4" {
		t.Errorf("Trunks() after the setting was emptied = %+v", got)
	}
}
