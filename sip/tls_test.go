package sip

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/transport"
)

// testCert makes a self-signed certificate in a temp dir and returns the
// server's TLS configuration over it and a pool that trusts it.
func testCert(t testing.TB, hosts ...string) (*tls.Config, *x509.CertPool, *transport.CertFiles) {
	t.Helper()
	cp, kp, made, err := transport.SelfSigned(t.TempDir(), hosts...)
	if err != nil || !made {
		t.Fatalf("self-signed: made %v, %v", made, err)
	}
	cf, err := transport.LoadCertFiles(cp, kp)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(cp)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		t.Fatal("certificate not in the pool")
	}
	return cf.ServerConfig(), roots, cf
}

func withTLS(cfg *tls.Config) serverOption { return func(c *Config) { c.TLS = cfg } }

// overTLS makes the phone register and call over TLS, trusting roots.
func overTLS(roots *x509.CertPool) phoneOption {
	return func(p *phone, _ *[]sipgo.ClientOption) {
		p.transport = "TLS"
		p.tlsConf = &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}
		p.contact = "sip:" + p.ext + "@192.168.1.50:5061;transport=tls"
	}
}

// A phone registers over TLS; its binding says TLS, and a call to it
// reaches it over its own TLS connection (the Contact is unreachable),
// while its call to a UDP phone, made to a sips: URI, is answered with a
// Contact at our TLS port. Audio flows both ways through the relay.
func TestTLSRegisterAndCall(t *testing.T) {
	srvTLS, roots, _ := testCert(t)
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	addUser(t, st, "10002")
	cs := startCallServer(t, st, CallConfig{}, withTLS(srvTLS))
	a := newCallPhone(t, cs, "10001", answerOK, overTLS(roots))
	b := newCallPhone(t, cs, "10002", answerOK)

	bs := cs.Bindings("10001")
	if len(bs) != 1 || bs[0].Transport != "TLS" {
		t.Fatalf("bindings of 10001: %+v, want one over TLS", bs)
	}

	// The TLS phone calls the UDP phone at a sips: URI.
	sess, err := a.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("dial over tls: %v", err)
	}
	if ct := sess.InviteResponse.Contact(); ct == nil || !isTLSContact(ct) || ct.Address.Port != tlsPort(cs.testServer) {
		t.Errorf("200 Contact %v, want transport=tls at our TLS port %s", ct, cs.tls)
	}
	in := wait(t, b.incoming, "the call at 10002")
	a.sendRTP(t, b, 5)
	b.sendRTP(t, a, 5)
	if err := sess.Bye(t.Context()); err != nil {
		t.Fatalf("bye: %v", err)
	}
	wait(t, b.ended, "the bye at 10002")
	in.Close()
	cs.nextCDR(t)

	// The UDP phone calls the TLS phone: the INVITE comes over TLS.
	sess, err = b.dial(t.Context(), "10001")
	if err != nil {
		t.Fatalf("dial to the tls phone: %v", err)
	}
	inv := wait(t, a.invites, "the INVITE at 10001")
	if v := inv.Via(); v == nil || v.Transport != "TLS" || v.Port != tlsPort(cs.testServer) {
		t.Errorf("INVITE to the TLS phone has Via %v, want TLS at our TLS port", v)
	}
	if ct := inv.Contact(); ct == nil || !isTLSContact(ct) {
		t.Errorf("INVITE to the TLS phone has Contact %v, want transport=tls", ct)
	}
	wait(t, a.incoming, "the call at 10001")
	b.sendRTP(t, a, 5)
	a.sendRTP(t, b, 5)
	if err := sess.Bye(t.Context()); err != nil {
		t.Fatalf("bye: %v", err)
	}
	wait(t, a.ended, "the bye at 10001 over tls")
	cs.nextCDR(t)
	cs.noCallLeft(t)
}

// The guard acts on TLS connections as on TCP ones: over the per-source
// cap a connection is closed before any handshake, and a scanner's
// request, seen decrypted, is dropped.
func TestTLSGuard(t *testing.T) {
	srvTLS, roots, _ := testCert(t)
	st, _ := openSQLite(t)
	ts := startServer(t, st, nil, withTLS(srvTLS), func(c *Config) { c.MaxTCPPerSource = 1 })
	conf := &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}

	first, err := tls.Dial("tcp", ts.tls, conf)
	if err != nil {
		t.Fatalf("first tls connection: %v", err)
	}
	defer first.Close()
	if _, err := tls.Dial("tcp", ts.tls, conf); err == nil {
		t.Error("a second connection from the source got through the cap")
	}
	if r := wait(t, ts.dropped, "the second connection dropped"); r != "too many connections" {
		t.Errorf("dropped for %q", r)
	}

	raw := "OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK-1\r\n" +
		"From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:b@127.0.0.1>\r\nCall-ID: tls-scan\r\nCSeq: 1 OPTIONS\r\n" +
		"User-Agent: friendly-scanner\r\nContent-Length: 0\r\n\r\n"
	if _, err := first.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	if r := wait(t, ts.dropped, "the scanner dropped"); r != "scanner" {
		t.Errorf("dropped for %q, want scanner", r)
	}
}

// tlsPort is the port of the server's TLS listener.
func tlsPort(ts *testServer) int {
	_, port, _ := strings.Cut(ts.tls, "127.0.0.1:")
	return atoiPort(port)
}

// A trunk whose transport is TLS gets its INVITE over TLS, verified
// against the roots the PBX is given, with a TLS Via naming our TLS port
// and a sips: Contact; the carrier's answer sets up the call.
func TestTLSTrunk(t *testing.T) {
	carTLS, roots, _ := testCert(t, "127.0.0.2")
	st, _ := openSQLite(t)
	caller := addUser(t, st, "10001")
	if err := st.SetOverrides(t.Context(), caller.ID, map[string]string{"calls.outbound": "any"}); err != nil {
		t.Fatal(err)
	}

	// The carrier: a sipgo UA serving TLS on 127.0.0.2.
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("TestCarrier"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
	csrv, _ := sipgo.NewServer(ua)
	ccl, _ := sipgo.NewClient(ua)
	ln, err := tls.Listen("tcp", "127.0.0.2:0", carTLS)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	crtp, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { crtp.Close() })
	port := ln.Addr().(*net.TCPAddr).Port
	dsc := sipgo.NewDialogServerCache(ccl, sip.ContactHeader{Address: sip.Uri{Scheme: "sips", Host: "127.0.0.2", Port: port}})
	invites := make(chan *sip.Request, 4)
	csrv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		invites <- req
		dlg, err := dsc.ReadInvite(req, tx)
		if err != nil {
			return
		}
		body := fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\n"+
			"m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n", crtp.LocalAddr().(*net.UDPAddr).Port)
		dlg.RespondSDP([]byte(body))
	})
	csrv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { dsc.ReadAck(req, tx) })
	csrv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) { dsc.ReadBye(req, tx) })
	go csrv.ServeTLS(ln)

	srvTLS, _, _ := testCert(t)
	cs := startCallServer(t, st, CallConfig{Trunks: []Trunk{{Name: "tls-carrier", Host: "127.0.0.2", Port: port,
		Transport: "TLS", CallerID: "+48221000000"}}},
		withTLS(srvTLS), func(c *Config) { c.TLSClient = &tls.Config{RootCAs: roots} })
	pa := newCallPhone(t, cs, "10001", answerOK)
	sess, err := pa.dial(t.Context(), "+48221234567")
	if err != nil {
		t.Fatalf("dial out over the tls trunk: %v", err)
	}
	inv := wait(t, invites, "the INVITE at the carrier")
	if v := inv.Via(); v == nil || v.Transport != "TLS" || v.Port != tlsPort(cs.testServer) {
		t.Errorf("trunk INVITE Via %v, want TLS at our TLS port %d", v, tlsPort(cs.testServer))
	}
	if ct := inv.Contact(); ct == nil || !isTLSContact(ct) {
		t.Errorf("trunk INVITE Contact %v, want transport=tls", ct)
	}
	if err := sess.Bye(t.Context()); err != nil {
		t.Fatal(err)
	}
	if row := cs.nextCDR(t); row.Disposition != directory.Answered {
		t.Errorf("cdr: %+v", row)
	}
	cs.noCallLeft(t)
}

// isTLSContact reports whether our Contact leads back over TLS.
func isTLSContact(ct *sip.ContactHeader) bool {
	tr, _ := ct.Address.UriParams.Get("transport")
	return ct.Address.Scheme == "sips" || strings.EqualFold(tr, "tls")
}

// A connection to the TLS port that never finishes its handshake is
// closed after the idle timeout, as a silent TCP connection is, and stops
// counting against its source.
func TestTLSIdleHandshakeClosed(t *testing.T) {
	srvTLS, roots, _ := testCert(t)
	st, _ := openSQLite(t)
	ts := startServer(t, st, nil, withTLS(srvTLS), func(c *Config) {
		c.TCPIdleTimeout = time.Second // the least allowed
		c.TCPUnregisteredIdle = time.Second
		c.TCPMessageTimeout = time.Second
		c.MaxTCPPerSource = 1
	})
	c, err := net.Dial("tcp", ts.tls)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte{0x16, 0x03, 0x01}) // the start of a ClientHello, and then nothing
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("the server answered a third of a record")
	}
	// The slot is free again: a real client gets through.
	for {
		conn, err := tls.Dial("tcp", ts.tls, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
		if err == nil {
			conn.Close()
			break
		}
		// The server may not have counted the first one closed yet: its
		// close ("idle connection") or this one's refusal is reported.
		if r := wait(t, ts.dropped, "a refused connection"); r != "too many connections" && r != "idle connection" {
			t.Fatalf("dropped for %q", r)
		}
	}
}
