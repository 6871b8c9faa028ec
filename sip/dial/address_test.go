package dial

import (
	"net/netip"
	"testing"

	"github.com/switchboard-pbx/switchboard/media"
	"github.com/switchboard-pbx/switchboard/sip/sdpneg"
)

// Address takes the offer already parsed (Parsed, the caller's as the
// call's plan read it) instead of parsing Source again; only an offer
// made again for another media address parses Source.
func TestAddressTakesTheParsedOffer(t *testing.T) {
	pool, err := media.NewPortPool(42200, 42210)
	if err != nil {
		t.Fatal(err)
	}
	relay, err := media.NewRelay(media.RelayConfig{Pool: pool, IP: netip.MustParseAddr("127.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	defer relay.Close()
	sd, _, err := sdpneg.Parse([]byte(callerSDP))
	if err != nil {
		t.Fatal(err)
	}
	ip := netip.MustParseAddr("127.0.0.1")
	d := Dialer{Env: &Env{MediaIP: func(string) netip.Addr { return ip }, Relay: relay},
		Source: []byte("not sdp"), Parsed: sd, Origin: &sdpneg.Origin{ID: 1}, Leg: media.LegB}
	if err := d.Address("192.0.2.1:5060"); err != nil {
		t.Fatalf("address with the offer parsed: %v", err)
	}
	if _, m, err := sdpneg.Parse(d.Offer); err != nil || m.RTP.Port() != relay.Local(media.LegB).Port() {
		t.Errorf("offer %q (%v): not at the relay's leg B", d.Offer, err)
	}
	ip = netip.MustParseAddr("127.0.0.2")
	if err := d.Address("192.0.2.2:5060"); err == nil {
		t.Error("offer made again from a Source that does not parse")
	}
}
