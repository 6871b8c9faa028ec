package sip

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
)

// TestTransferTrunkFailover: a blind transfer to a number outside whose
// first trunk fails goes on to the next trunk with the offer made again
// for the media address that trunk reaches, as the call's own start
// does: one dialer serves both (the transfer's copy of it once sent the
// first trunk's offer on).
func TestTransferTrunkFailover(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	addUser(t, st, "10002")
	first := startFailingCarrier(t, 503, "Service Unavailable")
	second := startCarrier(t, true)
	tr1, tr2 := first.trunk("first"), second.trunk()
	tr2.Name = "second"
	cs := &callServer{cdr: make(chan directory.Call, 100), st: st}
	cs.testServer = startServerHooked(t, st, nil, func(s *Server) {
		cs.b = s.calls
		cs.b.Hooks.Ended = func(c directory.Call) { cs.cdr <- c }
		// The carriers reach our media at two different addresses.
		cs.b.Hooks.MediaIPs = map[string]netip.Addr{
			first.addr:  netip.MustParseAddr("192.0.2.1"),
			second.addr: netip.MustParseAddr("192.0.2.2"),
		}
	}, func(c *Config) {
		c.Calls = CallConfig{RTPLow: 41000, RTPHigh: 44999, MediaIP: netip.MustParseAddr("127.0.0.1"),
			MediaTimeout: time.Minute, Trunks: []Trunk{tr1, tr2}}
	})
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)
	sess, err := pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	dlgB := wait(t, pb.incoming, "answered call")
	if got := calleeSide(pb, dlgB).refer(t, "<sip:601999888@"+cs.realm()+">"); got != 202 {
		t.Fatalf("REFER: %d, want 202", got)
	}
	wantNotify(t, pb, "SIP/2.0 100 Trying", false)
	for _, c := range []struct {
		name string
		inv  chan *sip.Request
		want string
	}{
		{"first", first.invites, "c=IN IP4 192.0.2.1\r\n"},
		{"second", second.invites, "c=IN IP4 192.0.2.2\r\n"},
	} {
		inv := wait(t, c.inv, "INVITE at the "+c.name+" trunk")
		if inv.Recipient.User != "+48601999888" || !strings.Contains(string(inv.Body()), c.want) {
			t.Errorf("%s trunk got INVITE %s with offer\n%s\nwant %q", c.name, inv.Recipient.String(), inv.Body(), c.want)
		}
	}
	wantNotify(t, pb, "SIP/2.0 200 OK", true)
	wait(t, pb.ended, "BYE at the transferor")
	if row := cs.nextCDR(t); row.HangupBy != "transfer" || row.Reason != "transferred to +48601999888 by 10002" {
		t.Errorf("first row: %+v", row)
	}
	sess.Bye(t.Context())
	if row := cs.nextCDR(t); row.Direction != directory.Outbound || row.To != "+48601999888" ||
		row.Disposition != directory.Answered {
		t.Errorf("second row: %+v", row)
	}
	cs.noCallLeft(t)
}
