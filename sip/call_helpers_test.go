package sip

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"runtime/pprof"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/call"
	"github.com/switchboard-pbx/switchboard/sip/sdpneg"
	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// callServer is a test server with the call side on, and the CDR rows of
// the calls that ended.
type callServer struct {
	*testServer
	b   *b2bua
	cdr chan directory.Call
	st  directory.Store
}

func startCallServer(t testing.TB, st directory.Store, cfg call.Config, opts ...serverOption) *callServer {
	t.Helper()
	return startCallServerHooked(t, st, cfg, nil, opts...)
}

// startCallServerHooked is startCallServer with a chance to change the
// server before it serves.
func startCallServerHooked(t testing.TB, st directory.Store, cfg call.Config, hook func(*Server),
	opts ...serverOption) *callServer {
	t.Helper()
	if cfg.RTPLow == 0 {
		cfg.RTPLow, cfg.RTPHigh = 41000, 44999
	}
	if !cfg.MediaIP.IsValid() {
		cfg.MediaIP = netip.MustParseAddr("127.0.0.1")
	}
	if cfg.MediaTimeout == 0 {
		cfg.MediaTimeout = time.Minute
	}
	cs := &callServer{cdr: make(chan directory.Call, 100), st: st}
	cs.testServer = startServerHooked(t, st, nil, func(s *Server) {
		cs.b = s.calls
		cs.b.Hooks.Ended = func(c directory.Call) { cs.cdr <- c }
		if hook != nil {
			hook(s)
		}
	}, append([]serverOption{func(c *Config) { c.Calls = cfg }}, opts...)...)
	return cs
}

// twoPhones starts a call server with extensions 10001 and 10002, each
// with a registered phone that answers.
func twoPhones(t testing.TB, cfg CallConfig) (directory.Store, *callServer, *callPhone, *callPhone) {
	t.Helper()
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	addUser(t, st, "10002")
	cs := startCallServer(t, st, cfg)
	return st, cs, newCallPhone(t, cs, "10001", answerOK), newCallPhone(t, cs, "10002", answerOK)
}

// nextCDR waits for the next call history row.
func (cs *callServer) nextCDR(t testing.TB) directory.Call {
	t.Helper()
	select {
	case c := <-cs.cdr:
		return c
	case <-time.After(waitLimit):
		t.Fatal("no call ended")
	}
	return directory.Call{}
}

// waitLimit turns a hang into a failure with the server log; nothing in
// these tests should take a tenth of it.
const waitLimit = 20 * time.Second

// wait receives from ch or fails the test after waitLimit.
func wait[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLimit):
		t.Fatalf("waiting for %s: nothing came", what)
	}
	var zero T
	return zero
}

// callee behaviours.
type answerMode int

const (
	answerOK       answerMode = iota // ring, then 200 with SDP
	answerBusy                       // 486
	answerRing                       // ring until cancelled
	answerWhenTold                   // ring until answerNow, then 200
	answerRefuse                     // 488: no codec of the offer will do
)

// callPhone is a registered sipgo phone that places and takes calls and
// sends real RTP.
type callPhone struct {
	*phone
	t    testing.TB
	rtp  *net.UDPConn
	mode answerMode

	dsc *sipgo.DialogServerCache
	dcc *sipgo.DialogClientCache

	mu        sync.Mutex
	incoming  chan *sipgo.DialogServerSession // answered calls
	invites   chan *sip.Request               // every INVITE received
	ended     chan struct{}                   // a BYE came
	reinvite  chan *sip.Request               // re-INVITEs received
	cancels   chan struct{}                   // a ringing INVITE was cancelled
	acks      chan *sip.Request               // ACKs received
	notifies  chan *sip.Request               // NOTIFYs received (transfer progress)
	answerNow chan struct{}                   // answerWhenTold: answer the ringing call
	onNotify  func(*sip.Request)              // if set (under mu), runs before a NOTIFY is answered
	remote    netip.AddrPort                  // where to send RTP (from the last SDP)
	// media, when set (setMedia), replaces the phone's m= lines (PCMU,
	// PCMA, telephone-event); {port} is its RTP port. Under mu.
	media     string
	srtpKey   []byte              // the phone offers SRTP with this key (SDES); nil: plain
	pbxCrypto *sdpneg.Crypto      // the PBX's a=crypto in its last SDP to the phone
	pbxSecure bool                // and its profile was RTP/SAVP
	seal      func([]byte) []byte // encrypts what talk sends (an SRTP phone); nil: plain
}

func newCallPhone(t testing.TB, cs *callServer, ext string, mode answerMode, opts ...phoneOption) *callPhone {
	t.Helper()
	p := &callPhone{phone: newPhone(t, cs.testServer, ext, testPassword, opts...), t: t, mode: mode,
		incoming: make(chan *sipgo.DialogServerSession, 4), invites: make(chan *sip.Request, 8),
		ended: make(chan struct{}, 4), reinvite: make(chan *sip.Request, 4), cancels: make(chan struct{}, 4),
		acks: make(chan *sip.Request, 8), notifies: make(chan *sip.Request, 8),
		answerNow: make(chan struct{}, 1)}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	p.rtp = conn
	contact := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: ext, Host: "192.168.1.50", Port: 5060}}
	p.dsc = sipgo.NewDialogServerCache(p.client, contact)
	p.dcc = sipgo.NewDialogClientCache(p.client, contact)
	srv, err := sipgo.NewServer(p.ua)
	if err != nil {
		t.Fatal(err)
	}
	srv.OnInvite(p.onInvite)
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) {
		if len(req.Body()) > 0 { // the answer to the offer of our 2xx (late offer)
			p.setRemote(req.Body())
		}
		select {
		case p.acks <- req:
		default:
		}
		p.dsc.ReadAck(req, tx)
	})
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
		if err := p.dcc.ReadBye(req, tx); err != nil {
			if err := p.dsc.ReadBye(req, tx); err != nil {
				tx.Respond(sip.NewResponseFromRequest(req, 481, "No Dialog", nil))
				return
			}
		}
		p.ended <- struct{}{}
	})
	srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
		tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	srv.OnNotify(func(req *sip.Request, tx sip.ServerTransaction) {
		p.mu.Lock()
		hook := p.onNotify
		p.mu.Unlock()
		if hook != nil {
			hook(req)
		}
		// Queued before the answer: the PBX sends the next NOTIFY only
		// once this one is answered, so the queue keeps their order.
		select {
		case p.notifies <- req:
		default:
		}
		tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
	})
	wantStatus(t, p.register(300), 200)
	return p
}

// setMedia gives the phone other m= lines: {port} is its RTP port.
func (p *callPhone) setMedia(lines string) {
	p.mu.Lock()
	p.media = lines
	p.mu.Unlock()
}

func (p *callPhone) rtpAddr() netip.AddrPort {
	return p.rtp.LocalAddr().(*net.UDPAddr).AddrPort()
}

// offer is the phone's SDP: PCMU, PCMA and telephone-event.
func (p *callPhone) offer(dir string) []byte {
	a := p.rtpAddr()
	p.mu.Lock()
	lines := p.media
	p.mu.Unlock()
	if lines != "" {
		return []byte(fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\na=%s\r\n",
			a.Addr(), dir) + strings.ReplaceAll(lines, "{port}", fmt.Sprint(a.Port())))
	}
	proto, crypto := "RTP/AVP", ""
	if p.srtpKey != nil {
		proto = "RTP/SAVP"
		crypto = "a=crypto:7 AES_CM_128_HMAC_SHA1_80 inline:" + base64.StdEncoding.EncodeToString(p.srtpKey) + "\r\n"
	}
	return []byte(fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\n"+
		"m=audio %d %s 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:8 PCMA/8000\r\n"+
		"a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\na=%s\r\n%s", a.Addr(), a.Port(), proto, dir, crypto))
}

func (p *callPhone) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	if wire.Tag(req.To().Params) != "" { // re-INVITE
		p.setRemote(req.Body())
		p.reinvite <- req
		res := sip.NewResponseFromRequest(req, 200, "OK", p.offer("sendrecv"))
		res.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		res.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: p.ext, Host: "192.168.1.50", Port: 5060}})
		tx.Respond(res)
		return
	}
	p.invites <- req
	switch p.mode {
	case answerBusy:
		tx.Respond(sip.NewResponseFromRequest(req, 486, "Busy Here", nil))
		return
	case answerRefuse:
		tx.Respond(sip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil))
		return
	}
	dlg, err := p.dsc.ReadInvite(req, tx)
	if err != nil {
		p.t.Errorf("read invite: %v", err)
		return
	}
	if err := dlg.Respond(180, "Ringing", nil); err != nil {
		dlg.Close()
		return
	}
	if p.mode == answerRing {
		<-dlg.Context().Done()
		dlg.Close()
		p.cancels <- struct{}{}
		return
	}
	if p.mode == answerWhenTold {
		select {
		case <-p.answerNow:
		case <-dlg.Context().Done():
			dlg.Close()
			p.cancels <- struct{}{}
			return
		}
	}
	if len(req.Body()) > 0 { // else a late offer: the answer comes in the ACK
		p.setRemote(req.Body())
	}
	if err := dlg.RespondSDP(p.offer("sendrecv")); err != nil {
		// A CANCEL that crossed our answer: the INVITE got 487, and the
		// phone was cancelled (another phone of a group answered first).
		if errors.Is(err, sip.ErrTransactionCanceled) {
			p.cancels <- struct{}{}
			return
		}
		// sipgo runs each request in its own goroutine: a BYE sent right
		// after the ACK may be handled first, which it reports this way.
		if !strings.Contains(err.Error(), "No ACK") {
			p.t.Errorf("answer: %v", err)
		}
		return
	}
	p.incoming <- dlg
}

func (p *callPhone) setRemote(body []byte) {
	_, m, err := sdpneg.Parse(body)
	if err != nil {
		p.t.Errorf("phone %s: sdp from pbx: %v\n%s", p.ext, err, body)
		return
	}
	p.mu.Lock()
	p.remote = m.RTP
	p.pbxCrypto, p.pbxSecure = m.Crypto, m.Secure
	p.mu.Unlock()
}

// dial calls ext and returns the session once answered, or the error.
func (p *callPhone) dial(ctx context.Context, ext string) (*sipgo.DialogClientSession, error) {
	return p.dialBody(ctx, ext, p.offer("sendrecv"))
}

// dialBody is dial with the given SDP offer.
func (p *callPhone) dialBody(ctx context.Context, ext string, offer []byte) (*sipgo.DialogClientSession, error) {
	host, port, _ := net.SplitHostPort(p.srv.udp)
	scheme := "sip"
	if p.transport == "TLS" { // RFC 5630: a sips: Request-URI goes over TLS
		host, port, _ = net.SplitHostPort(p.srv.tls)
		scheme = "sips"
	}
	var n int
	fmt.Sscan(port, &n)
	uri := sip.Uri{Scheme: scheme, User: ext, Host: host, Port: n}
	if scheme == "sips" { // sipgo would send a sips: URI over UDP without it
		uri.UriParams = sip.HeaderParams{{K: "transport", V: "tls"}}
	}
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: p.ext, Host: p.srv.realm()},
		Params: sip.HeaderParams{{K: "tag", V: sip.GenerateTagN(8)}}}
	sess, err := p.dcc.Invite(ctx, uri, offer, from,
		sip.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		return nil, err
	}
	if err := sess.WaitAnswer(ctx, sipgo.AnswerOptions{Username: p.ext, Password: p.pw}); err != nil {
		sess.Close()
		return nil, err
	}
	p.setRemote(sess.InviteResponse.Body())
	if err := sess.Ack(ctx); err != nil {
		return nil, err
	}
	return sess, nil
}

// status returns the final status of a failed dial.
func status(err error) int {
	var de *sipgo.ErrDialogResponse
	if errors.As(err, &de) {
		return de.Res.StatusCode
	}
	return 0
}

// audio sends RTP to where the PBX told the phone to, one packet at a
// time, until the peer has received want packets; it returns what it sent.
func (p *callPhone) sendRTP(t testing.TB, peer *callPhone, want int) int {
	t.Helper()
	p.mu.Lock()
	dst := p.remote
	p.mu.Unlock()
	if !dst.IsValid() {
		t.Fatalf("phone %s has no media address", p.ext)
	}
	got := 0
	buf := make([]byte, 1500)
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SSRC: uint32(len(p.ext)) + 1000},
		Payload: make([]byte, 160)}
	// The relay may renumber a stream (one SSRC per direction across a
	// transfer) but never touches the payload: it says who sent it.
	copy(pkt.Payload, "from "+p.ext)
	sent := 0
	for got < want {
		if sent > 20*want {
			t.Fatalf("phone %s: %d of %d RTP packets reached %s", p.ext, got, want, peer.ext)
		}
		pkt.SequenceNumber++
		pkt.Timestamp += 160
		raw, _ := pkt.Marshal()
		if _, err := p.rtp.WriteToUDPAddrPort(raw, dst); err != nil {
			t.Fatal(err)
		}
		sent++
		// The relay is on loopback: a packet not back within this long
		// is lost, and the next one tries again.
		peer.rtp.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
		n, _, err := peer.rtp.ReadFromUDPAddrPort(buf)
		if err != nil {
			continue
		}
		var in rtp.Packet
		if in.Unmarshal(buf[:n]) == nil && bytes.Equal(in.Payload, pkt.Payload) {
			got++
		}
	}
	return sent
}

// noCallLeft waits until nothing of a call is left: no goroutine of the
// call side, no call in the table, no call slot taken, every RTP port back
// in the pool.
//
// Goroutines are found by what they are, not by name: every goroutine the
// call side starts carries its profiler label (callSideLabel), inherited by
// all it starts in turn, and any goroutine running code of package media
// belongs to a call too. Renaming a type or moving code to another package
// of the module does not hide a leak from this check.
func (cs *callServer) noCallLeft(t testing.TB) {
	t.Helper()
	var left string
	for i := 0; i < 500; i++ {
		left = callGoroutines()
		if left == "" && cs.b.Active() == 0 && cs.b.SlotsHeld() == 0 && cs.b.Pool.Free() == cs.b.Pool.Size() {
			return
		}
		time.Sleep(10 * time.Millisecond) // polling: goroutines leave no event behind
	}
	t.Fatalf("calls left: %d, call slots held %d, free ports %d of %d, goroutines:\n%s", cs.b.Active(),
		cs.b.SlotsHeld(), cs.b.Pool.Free(), cs.b.Pool.Size(), left)
}

// callGoroutines returns the stacks of the goroutines left of calls: those
// labelled as the call side that run code of this module (sipgo's own
// goroutines, started from a call to send a request, end on sipgo's
// timers), and those running code of package media.
func callGoroutines() string {
	var buf bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&buf, 1); err != nil {
		return err.Error()
	}
	return callStacks(buf.String())
}

// callStacks picks the call side's goroutines from a goroutine profile
// written with debug 1.
func callStacks(profile string) string {
	const module = "github.com/switchboard-pbx/switchboard/"
	label := fmt.Sprintf("%q:%q", callSideLabel, "call")
	var out []string
	for _, g := range strings.Split(profile, "\n\n") {
		ours, media := false, false
		for _, line := range strings.Split(g, "\n") {
			f := strings.Fields(line)
			if len(f) < 4 || f[0] != "#" || !strings.HasPrefix(f[2], module) {
				continue
			}
			if strings.HasSuffix(strings.SplitN(f[3], ":", 2)[0], "_test.go") {
				continue
			}
			ours = true
			media = media || strings.HasPrefix(f[2], module+"media.")
		}
		if media || ours && strings.Contains(g, "# labels: {") && strings.Contains(g, label) {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}

// carrier is a sipgo UAS on 127.0.0.2 acting as the trunk's far end: it
// answers every INVITE, after a 407 when challenge is set.
type carrier struct {
	t       testing.TB
	addr    string
	rtp     *net.UDPConn
	invites chan *sip.Request
	client  *sipgo.Client
	ua      *sipgo.UserAgent
	nonce   string
}

func startCarrier(t testing.TB, challenge bool) *carrier {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("TestCarrier"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
	srv, _ := sipgo.NewServer(ua)
	cl, _ := sipgo.NewClient(ua, sipgo.WithClientConnectionAddr("127.0.0.2:0"))
	conn, err := net.ListenPacket("udp", "127.0.0.2:0")
	if err != nil {
		t.Fatalf("listen on 127.0.0.2 (all of 127.0.0.0/8 is loopback): %v", err)
	}
	r, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	c := &carrier{t: t, addr: conn.LocalAddr().String(), rtp: r, invites: make(chan *sip.Request, 8), client: cl, ua: ua}
	dsc := sipgo.NewDialogServerCache(cl, sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: "127.0.0.2",
		Port: conn.LocalAddr().(*net.UDPAddr).Port}})
	srv.OnInvite(func(req *sip.Request, tx sip.ServerTransaction) {
		if challenge && req.GetHeader("Proxy-Authorization") == nil {
			res := sip.NewResponseFromRequest(req, 407, "Proxy Authentication Required", nil)
			res.AppendHeader(sip.NewHeader("Proxy-Authenticate", `Digest realm="carrier", nonce="abc123", qop="auth", algorithm=MD5`))
			tx.Respond(res)
			return
		}
		c.invites <- req
		dlg, err := dsc.ReadInvite(req, tx)
		if err != nil {
			return
		}
		a := r.LocalAddr().(*net.UDPAddr)
		body := fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\n"+
			"m=audio %d RTP/AVP 8 101\r\na=rtpmap:8 PCMA/8000\r\na=rtpmap:101 telephone-event/8000\r\n", a.Port)
		dlg.RespondSDP([]byte(body))
	})
	srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { dsc.ReadAck(req, tx) })
	srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) { dsc.ReadBye(req, tx) })
	go srv.ServeUDP(conn)
	t.Cleanup(func() { conn.Close() })
	return c
}

func (c *carrier) trunk() Trunk {
	host, port, _ := net.SplitHostPort(c.addr)
	var n int
	fmt.Sscan(port, &n)
	return Trunk{Name: "carrier", Host: host, Port: n, Username: "pbx", Password: "trunk-secret", CallerID: "+48221000000"}
}

func atoiPort(s string) int {
	var n int
	fmt.Sscan(s, &n)
	return n
}

func sipgoAnswer(p *callPhone) sipgo.AnswerOptions {
	if p == nil {
		return sipgo.AnswerOptions{}
	}
	return sipgo.AnswerOptions{Username: p.ext, Password: p.pw}
}

func sipgoDialogUA(c *carrier) *sipgo.DialogClientCache {
	return sipgo.NewDialogClientCache(c.client, sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: "127.0.0.2",
		Port: atoiPort(c.addr[strings.LastIndex(c.addr, ":")+1:])}})
}

// reasonOf returns the reason phrase of a failed dial.
func reasonOf(err error) string {
	var de *sipgo.ErrDialogResponse
	if errors.As(err, &de) {
		return de.Res.Reason
	}
	return ""
}
