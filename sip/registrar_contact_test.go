package sip

import (
	"log/slog"
	"net"
	"strconv"
	"testing"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
)

// sipSocket is a SIP endpoint on a loopback UDP socket of its own that
// answers every INVITE 486 and hands it to the test.
type sipSocket struct {
	addr    string
	port    int
	invites chan *sip.Request
}

func startSIPSocket(t *testing.T) *sipSocket {
	t.Helper()
	quiet := slog.New(slog.DiscardHandler)
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("TestSocket"),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(quiet)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(quiet)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(quiet))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	s := &sipSocket{addr: conn.LocalAddr().String(), port: conn.LocalAddr().(*net.UDPAddr).Port,
		invites: make(chan *sip.Request, 4)}
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		s.invites <- req
		tx.Respond(sip.NewResponseFromRequest(req, 486, "Busy Here", nil))
	})
	srv.OnAck(func(*sip.Request, sip.ServerTransaction) {})
	go srv.ServeUDP(conn)
	return s
}

// noInviteAt fails when s was sent an INVITE.
func noInviteAt(t *testing.T, s *sipSocket, who string) {
	t.Helper()
	select {
	case req := <-s.invites:
		t.Errorf("%s was invited: %s", who, req.StartLine())
	default:
	}
}

// RFC 3261 §10: a REGISTER whose Via sent-by is its source crossed no NAT,
// so its Contact is honoured: a registration made by socket A on behalf of
// socket B makes calls reach B. A NATed one (sent-by not the source) keeps
// reaching the source, whatever its Contact says.
func TestRegisterContactHonouredWithoutNAT(t *testing.T) {
	t.Run("on behalf of another socket", func(t *testing.T) {
		st, _ := openSQLite(t)
		addUser(t, st, "10001")
		addUser(t, st, "10002")
		cs := startCallServer(t, st, CallConfig{})
		pa := newCallPhone(t, cs, "10001", answerOK)
		b := startSIPSocket(t)
		a := newPhone(t, cs.testServer, "10002", testPassword, onLAN)
		wantStatus(t, a.register(300, "sip:10002@"+b.addr), 200)
		if bs := storeBindings(t, st, "10002", cs.clock.Now()); len(bs) != 1 || !bs[0].Direct {
			t.Errorf("stored %+v, want one binding not behind NAT", bs)
		}
		_, err := pa.dial(t.Context(), "10002")
		if status(err) != 486 {
			t.Errorf("dial: %v, want 486 from socket B", err)
		}
		inv := wait(t, b.invites, "the INVITE at socket B")
		if inv.Recipient.Host != "127.0.0.1" || inv.Recipient.Port != b.port || inv.Recipient.User != "10002" {
			t.Errorf("socket B got INVITE %s", inv.Recipient.String())
		}
		if row := cs.nextCDR(t); row.Disposition != directory.Busy || row.To != "10002" {
			t.Errorf("cdr: %+v", row)
		}
		cs.noCallLeft(t)
	})
	t.Run("behind NAT: the source", func(t *testing.T) {
		st, _ := openSQLite(t)
		addUser(t, st, "10001")
		addUser(t, st, "10002")
		cs := startCallServer(t, st, CallConfig{})
		pa := newCallPhone(t, cs, "10001", answerOK)
		pb := newCallPhone(t, cs, "10002", answerOK) // Via 192.168.1.50:5060, sent from 127.0.0.1
		b := startSIPSocket(t)
		wantStatus(t, pb.register(0, pb.contact), 200)
		wantStatus(t, pb.register(300, "sip:10002@"+b.addr), 200)
		if bs := storeBindings(t, st, "10002", cs.clock.Now()); len(bs) != 1 || bs[0].Direct {
			t.Errorf("stored %+v, want one binding behind NAT", bs)
		}
		sess, err := pa.dial(t.Context(), "10002")
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		wait(t, pb.incoming, "the call at the phone that registered")
		sess.Bye(t.Context())
		if row := cs.nextCDR(t); row.Disposition != directory.Answered {
			t.Errorf("cdr: %+v", row)
		}
		noInviteAt(t, b, "the Contact of a NATed registration")
		cs.noCallLeft(t)
	})
}

// RFC 3327: the Path of a REGISTER is stored with the binding, echoed in
// the 200 to a UA that supports it, and is the Route set of requests to
// that contact, which go to its first hop (an edge proxy).
func TestRegisterPath(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	addUser(t, st, "10002")
	cs := startCallServer(t, st, CallConfig{})
	pa := newCallPhone(t, cs, "10001", answerOK)
	edge := startSIPSocket(t)
	path := "<sip:127.0.0.1:" + strconv.Itoa(edge.port) + ";lr>"
	p := newPhone(t, cs.testServer, "10002", testPassword)
	p.headers = []sip.Header{sip.NewHeader("Path", path+", <sip:core-edge.example.net;lr>"),
		sip.NewHeader("Supported", "path"), sip.NewHeader("Require", "path")}
	res := p.register(300)
	wantStatus(t, res, 200)
	var echoed []string
	for _, h := range res.GetHeaders("Path") {
		echoed = append(echoed, h.Value())
	}
	if len(echoed) != 2 || echoed[0] != path || echoed[1] != "<sip:core-edge.example.net;lr>" {
		t.Errorf("200 Path %q, want %s and the second hop", echoed, path)
	}
	bs := storeBindings(t, st, "10002", cs.clock.Now())
	if len(bs) != 1 || bs[0].Path != path+",<sip:core-edge.example.net;lr>" {
		t.Fatalf("stored %+v", bs)
	}

	_, err := pa.dial(t.Context(), "10002")
	if status(err) != 486 {
		t.Errorf("dial: %v, want 486 from the edge", err)
	}
	inv := wait(t, edge.invites, "the INVITE at the edge proxy")
	var route []string
	for _, h := range inv.GetHeaders("Route") {
		route = append(route, h.Value())
	}
	if len(route) != 2 || route[0] != path || route[1] != "<sip:core-edge.example.net;lr>" {
		t.Errorf("Route %q, want the Path", route)
	}
	if inv.Recipient.String() != p.contact {
		t.Errorf("Request-URI %s, want the Contact %s", inv.Recipient.String(), p.contact)
	}
	cs.nextCDR(t)
	cs.noCallLeft(t)

	// Without Supported: path nothing is echoed; a bad Path is refused.
	p.headers = []sip.Header{sip.NewHeader("Path", path)}
	if res := p.register(300); res.StatusCode != 200 || res.GetHeader("Path") != nil {
		t.Errorf("REGISTER without Supported: path: %d, Path %v", res.StatusCode, res.GetHeader("Path"))
	}
	p.headers = []sip.Header{sip.NewHeader("Path", "sip:no-brackets")}
	wantStatus(t, p.register(300), 400)
	// Path is the only extension a REGISTER may require.
	p.headers = []sip.Header{sip.NewHeader("Require", "path, 100rel")}
	res = p.register(300)
	if res.StatusCode != 420 || res.GetHeader("Unsupported") == nil || res.GetHeader("Unsupported").Value() != "100rel" {
		t.Errorf("Require: path, 100rel: %s", res.StartLine())
	}
}
