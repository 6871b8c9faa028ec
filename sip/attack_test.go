package sip

import (
	"fmt"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/guard"
)

// handledFrom counts, per source IP, the requests that reached a handler.
type handledFrom struct {
	mu sync.Mutex
	n  map[netip.Addr]int
}

func (h *handledFrom) hook(s *Server) {
	h.n = make(map[netip.Addr]int)
	s.hooks.handled = func(src netip.Addr, _ string) {
		h.mu.Lock()
		h.n[src]++
		h.mu.Unlock()
	}
}

func (h *handledFrom) count(ip string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.n[netip.MustParseAddr(ip)]
}

// unauthInvite is an INVITE without credentials, as a toll-fraud scanner
// sends them.
func unauthInvite(src, realm string, i int) string {
	return fmt.Sprintf("INVITE sip:0048221234%03d@%s SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP %s;branch=z9hG4bKflood%d;rport\r\n"+
		"From: <sip:10001@%s>;tag=f%d\r\nTo: <sip:0048221234%03d@%s>\r\n"+
		"Call-ID: flood-%d@%s\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\n"+
		"Contact: <sip:10001@%s>\r\nContent-Length: 0\r\n\r\n",
		i%1000, realm, src, i, realm, i, i%1000, realm, i, src, src)
}

// TestStatelessChallenge: REGISTERs and INVITEs without credentials are
// answered with their challenge before any transaction or handler exists
// for them; a phone that answers the challenge is served as usual.
func TestStatelessChallenge(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	var h handledFrom
	ts := startServerHooked(t, st, nil, h.hook)
	evil := newStranger(t, strangerIP, ts.udp)
	for i := range 50 {
		res := evil.exchange(unauthInvite(evil.addr(), ts.realm(), i))
		if res.StatusCode != 407 || res.GetHeader("Proxy-Authenticate") == nil {
			t.Fatalf("INVITE without credentials: %d %s, want 407 with a challenge", res.StatusCode, res.Reason)
		}
		if via := res.Via(); via == nil || !strings.Contains(via.Value(), "received=") {
			t.Fatalf("407 without received on its Via: %s", res)
		}
	}
	p := newPhone(t, ts, "10001", testPassword, from(strangerIP))
	res, err := p.do(t.Context(), p.request(300))
	if err != nil || res.StatusCode != 401 || res.GetHeader("WWW-Authenticate") == nil {
		t.Fatalf("REGISTER without credentials: %v %v, want 401 with a challenge", res, err)
	}
	if n := h.count(strangerIP); n != 0 {
		t.Fatalf("%d requests without credentials reached a handler, want none", n)
	}
	// The same phone answers its challenge: the registrar handles it.
	wantStatus(t, p.register(300), 200)
	if n := h.count(strangerIP); n != 1 {
		t.Errorf("%d requests with credentials handled, want 1", n)
	}
}

// TestFloodFromOneSource: 10,000 INVITEs at 2,000/s from one source while
// two phones on another address register and call each other. The source
// is throttled and then banned; the phones see no failure; the server's
// goroutines stay few.
func TestFloodFromOneSource(t *testing.T) {
	if testing.Short() {
		t.Skip("a 5 s flood; not in -short")
	}
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	addUser(t, st, "10002")
	var cs *callServer
	cs = startCallServer(t, st, CallConfig{})
	// Thousands of drops: count them without the test channel's limit.
	var drops atomic.Int64
	var dmu sync.Mutex
	dropsBy := map[string]int{}
	cs.hooks.dropped = func(ip netip.Addr, reason string) {
		drops.Add(1)
		dmu.Lock()
		dropsBy[ip.String()+" "+reason]++
		dmu.Unlock()
	}
	defer func() {
		dmu.Lock()
		t.Logf("drops: %v", dropsBy)
		dmu.Unlock()
	}()
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)

	evil := newStranger(t, strangerIP, cs.udp)
	var answers atomic.Int64
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		buf := make([]byte, 65535)
		for {
			evil.conn.SetReadDeadline(time.Now().Add(2 * time.Second))
			if _, err := evil.conn.Read(buf); err != nil {
				return
			}
			answers.Add(1)
		}
	}()
	var peak atomic.Int64
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stopSampling:
				return
			case <-tick.C:
				if n := int64(runtime.NumGoroutine()); n > peak.Load() {
					peak.Store(n)
				}
			}
		}
	}()
	flooded := make(chan struct{})
	go func() {
		defer close(flooded)
		// 10,000 in 500 bursts of 20, one burst every 10 ms: 2,000/s.
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for b := range 500 {
			<-tick.C
			for i := range 20 {
				evil.send(unauthInvite(evil.addr(), cs.realm(), b*20+i))
			}
		}
	}()
	calls := 0
	pace := time.NewTicker(100 * time.Millisecond)
	defer pace.Stop()
	for {
		select {
		case <-flooded:
		case <-pace.C:
			wantStatus(t, pa.register(300), 200)
			sess, err := pa.dial(t.Context(), "10002")
			if err != nil {
				t.Fatalf("call %d during the flood: %v", calls+1, err)
			}
			wait(t, pb.incoming, "answer")
			pa.sendRTP(t, pb, 3)
			if err := sess.Bye(t.Context()); err != nil {
				t.Fatalf("bye: %v", err)
			}
			wait(t, pb.ended, "BYE at the callee")
			wait(t, pb.invites, "INVITE at the callee")
			cs.nextCDR(t)
			calls++
			continue
		}
		break
	}
	<-readDone
	close(stopSampling)
	<-sampled
	banned := false
	for _, b := range cs.Bans() {
		if b.Source == strangerIP && b.Reason == "request flood" {
			banned = true
		}
	}
	t.Logf("flood: 10000 INVITEs, %d answered, %d dropped; %d calls by the phones; peak goroutines %d",
		answers.Load(), drops.Load(), calls, peak.Load())
	if !banned {
		t.Errorf("the flooding source is not banned: %+v", cs.Bans())
	}
	// Two windows at most get through before the ban.
	if limit := int64(2*200 + 100); answers.Load() > limit {
		t.Errorf("the flooding source got %d answers, want at most %d", answers.Load(), limit)
	}
	if calls == 0 {
		t.Error("no call was made during the flood")
	}
	if peak.Load() >= 1000 {
		t.Errorf("peak goroutines %d, want under 1000", peak.Load())
	}
	cs.noCallLeft(t)
}

// TestExtensionBudget: guesses from ever new sources spend the
// extension's budget; past it, not even the right password is checked
// from a new source, while the phone already registered goes on.
func TestExtensionBudget(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	ts := startServer(t, st, nil, func(c *Config) {
		c.Guard.ExtBudget = 12
		c.Guard.MaxFailures = 1000 // no source ban: the budget alone acts
		c.Guard.MaxExtFailures = 1000
	})
	real := newPhone(t, ts, "10001", testPassword)
	wantStatus(t, real.register(300), 200)
	for i := range 6 { // 6 sources, 2 guesses each
		p := newPhone(t, ts, "10001", testPassword, from(fmt.Sprintf("127.0.7.%d", i+1)))
		for range 2 {
			wantStatus(t, p.registerWith("Wrong-pass-1", 300), 401)
		}
	}
	spent := false
	for _, b := range ts.Bans() {
		if b.Extension == "10001" && b.Source == guard.AnySource {
			spent = true
		}
	}
	if !spent {
		t.Fatalf("bans after 12 failures: %+v, want the extension's budget spent", ts.Bans())
	}
	// A new source with the right password is not verified.
	fresh := newPhone(t, ts, "10001", testPassword, from("127.0.7.99"))
	if res := fresh.register(300); res.StatusCode != 401 {
		t.Fatalf("right password from a new source after the budget: %d, want 401", res.StatusCode)
	}
	// The registered phone is.
	wantStatus(t, real.register(300), 200)
	// The budget comes back after its hour.
	ts.clock.Advance(time.Hour + time.Second)
	wantStatus(t, fresh.register(300), 200)
}

// TestStrictDigest: a digest whose uri is not the Request-URI, or whose
// nonce we never made, is a failure (401 without stale, counted), even
// with the right password; a nonce of a previous run on the same store is
// ours.
func TestStrictDigest(t *testing.T) {
	st, reopen := openSQLite(t)
	addUser(t, st, "10001")
	ts := startServer(t, st, nil)
	p := newPhone(t, ts, "10001", testPassword)
	wantStatus(t, p.register(300), 200)
	drain(ts.failed)

	// The digest of another Request-URI.
	res, _ := p.do(t.Context(), p.request(300))
	chal := p.pick(res)
	req := p.request(300)
	cred, err := digest.Digest(chal, digest.Options{Method: "REGISTER", URI: "sip:evil.example.com",
		Username: "10001", Password: testPassword, Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	req.AppendHeader(sip.NewHeader("Authorization", cred.String()))
	res, err = p.do(t.Context(), req)
	if err != nil || res.StatusCode != 401 {
		t.Fatalf("digest of another uri: %v %v, want 401", res, err)
	}
	if got := wait(t, ts.failed, "failure counted"); got != "10001" {
		t.Errorf("failure of %q", got)
	}

	// A nonce we never made, with the right password.
	forged := *chal
	forged.Nonce = strings.Repeat("A", len(chal.Nonce))
	req = p.request(300)
	p.authorize(req, &forged, testPassword)
	res, err = p.do(t.Context(), req)
	if err != nil || res.StatusCode != 401 {
		t.Fatalf("forged nonce: %v %v, want 401", res, err)
	}
	if h := res.GetHeader("WWW-Authenticate"); h == nil || strings.Contains(h.Value(), "stale") {
		t.Errorf("forged nonce answered with stale=true: %s", res)
	}
	wait(t, ts.failed, "forged nonce counted")

	// A restart: the phone goes on with the nonce of the previous run.
	p.register(300)
	ts.stop()
	ts2 := startServer(t, reopen(), nil)
	p.srv = ts2
	if res := p.again(300); res.StatusCode != 200 {
		t.Fatalf("nonce of the previous run, right password: %d %s, want 200", res.StatusCode, res.Reason)
	}
	select {
	case ext := <-ts2.failed:
		t.Errorf("the previous run's nonce counted as a failure of %s", ext)
	default:
	}
}

// TestDeletedUserAtOnce: the moment an account is deleted its phone can
// neither register nor call, although this node's cache has not yet heard
// of it (the change log is read hourly in these tests); a new extension
// password takes effect at once too.
func TestDeletedUserAtOnce(t *testing.T) {
	st, _ := openSQLite(t)
	u := addUser(t, st, "10001")
	v := addUser(t, st, "10002")
	cs := startCallServer(t, st, CallConfig{})
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)

	if err := st.SetSIPSecret(t.Context(), v.ID, directory.NewSIPSecret("10002", cs.realm(), "New-pass-456")); err != nil {
		t.Fatal(err)
	}
	if res := pb.register(300); res.StatusCode != 401 {
		t.Errorf("old extension password after a change: %d, want 401", res.StatusCode)
	}
	pb.pw = "New-pass-456"
	wantStatus(t, pb.register(300), 200)

	if err := st.SetUserState(t.Context(), u.ID, directory.UserDeleted); err != nil {
		t.Fatal(err)
	}
	if res := pa.register(300); res.StatusCode != 403 {
		t.Fatalf("REGISTER of a deleted account: %d, want 403", res.StatusCode)
	}
	_, err := pa.dial(t.Context(), "10002")
	if got := status(err); got != 403 {
		t.Fatalf("INVITE of a deleted account: %d (%v), want 403", got, err)
	}
	if bs := cs.Bindings("10001"); len(bs) != 0 {
		t.Errorf("the deleted account's bindings: %+v", bs)
	}
}

func drain[T any](ch <-chan T) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// TestRoutingStoreErrorLogged: when the directory fails while a call is
// routed, the log names the call and the error before the caller gets 503.
func TestRoutingStoreErrorLogged(t *testing.T) {
	base, _ := openSQLite(t)
	st := &flakyStore{Store: base}
	addUser(t, st, "10001")
	cs := startCallServer(t, st, CallConfig{})
	pa := newCallPhone(t, cs, "10001", answerOK)
	st.down.Store(true)
	_, err := pa.dial(t.Context(), "10077") // not cached: the directory must answer
	if got := status(err); got != 503 {
		t.Fatalf("call while the directory fails: %d (%v), want 503", got, err)
	}
	log := cs.log.String()
	if !strings.Contains(log, `msg="call refused"`) || !strings.Contains(log, "call_id=") ||
		!strings.Contains(log, "database unreachable") {
		t.Errorf("no log line naming the call and the error:\n%s", log)
	}
	st.down.Store(false)
	cs.nextCDR(t)
}
