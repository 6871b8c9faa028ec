package sip

import (
	"crypto/md5"
	"encoding/hex"
	"net"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/digest"
)

// registrarCarrier is a carrier's registrar on 127.0.0.2: it challenges
// every REGISTER without credentials with 401, checks the digest, and
// answers 200 granting 60s, or 403 while refuse is set.
type registrarCarrier struct {
	addr   *net.UDPAddr
	regs   chan carrierReg // every REGISTER that carried credentials
	refuse atomic.Bool
}

type carrierReg struct {
	expires string
	valid   bool
	callID  string
	cseq    uint32
	contact string
}

func startRegistrarCarrier(t *testing.T, user, password string) *registrarCarrier {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("TestRegistrar"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ua.Close() })
	srv, err := sipgo.NewServer(ua)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenPacket("udp", "127.0.0.2:0")
	if err != nil {
		t.Fatalf("listen on 127.0.0.2 (all of 127.0.0.0/8 is loopback): %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	c := &registrarCarrier{addr: conn.LocalAddr().(*net.UDPAddr), regs: make(chan carrierReg, 32)}
	sum := md5.Sum([]byte(user + ":carrier:" + password))
	ha1 := hex.EncodeToString(sum[:])
	srv.OnRegister(func(req *sip.Request, tx sip.ServerTransaction) {
		h := req.GetHeader("Authorization")
		if h == nil {
			res := sip.NewResponseFromRequest(req, 401, "Unauthorized", nil)
			res.AppendHeader(sip.NewHeader("WWW-Authenticate",
				`Digest realm="carrier", nonce="n`+strconv.Itoa(int(req.CSeq().SeqNo))+`", qop="auth", algorithm=MD5`))
			tx.Respond(res)
			return
		}
		cr, err := digest.ParseAuthorization(h.Value())
		valid := false
		if alg, _, cerr := cr.Check(); err == nil && cerr == nil && cr.Username == user {
			valid = cr.Verify(alg, ha1, "REGISTER")
		}
		r := carrierReg{valid: valid, callID: req.CallID().Value(), cseq: req.CSeq().SeqNo}
		if e := req.GetHeader("Expires"); e != nil {
			r.expires = e.Value()
		}
		if ct := req.Contact(); ct != nil {
			r.contact = ct.Address.String()
		}
		c.regs <- r
		switch {
		case !valid:
			tx.Respond(sip.NewResponseFromRequest(req, 403, "Bad Credentials", nil))
		case c.refuse.Load():
			tx.Respond(sip.NewResponseFromRequest(req, 403, "Account Suspended", nil))
		default:
			res := sip.NewResponseFromRequest(req, 200, "OK", nil)
			res.AppendHeader(sip.NewHeader("Expires", "60"))
			tx.Respond(res)
		}
	})
	go srv.ServeUDP(conn)
	return c
}

func (c *registrarCarrier) trunkSetting(name string) string {
	return directory.MarshalTrunks([]directory.TrunkSetting{{Name: name, Host: "127.0.0.2", Port: c.addr.Port,
		Username: "pbx", Password: "trunk-secret", Register: true}})
}

// TestTrunkRegistration registers to a carrier named in the trunks
// setting: digest auth, refresh before expiry, back-off after refusals, a
// new registration when the setting changes, unregistering at shutdown.
func TestTrunkRegistration(t *testing.T) {
	st, _ := openSQLite(t)
	car := startRegistrarCarrier(t, "pbx", "trunk-secret")
	if err := st.SetSetting(t.Context(), directory.SettingTrunks, car.trunkSetting("carrier")); err != nil {
		t.Fatal(err)
	}
	waits := make(chan time.Duration, 8)
	fire := make(chan time.Time)
	ts := startServerHooked(t, st, nil, func(s *Server) {
		s.tk.RetryMin, s.tk.RetryMax = time.Second, 3*time.Second
		s.tk.After = func(d time.Duration) <-chan time.Time {
			waits <- d
			return fire
		}
	})
	next := func(what string) carrierReg {
		t.Helper()
		r := wait(t, car.regs, what)
		if !r.valid {
			t.Fatalf("%s: the digest did not verify", what)
		}
		return r
	}
	wantWait := func(want time.Duration, what string) {
		t.Helper()
		if d := wait(t, waits, what); d != want {
			t.Errorf("%s: waits %v, want %v", what, d, want)
		}
	}

	first := next("first REGISTER")
	if first.expires != "3600" || first.contact == "" {
		t.Errorf("first REGISTER: Expires %q, Contact %q", first.expires, first.contact)
	}
	wantWait(30*time.Second, "refresh halfway through the 60s granted")
	regs := ts.TrunkRegistrations()
	if len(regs) != 1 || regs[0].Trunk != "carrier" || regs[0].State != TrunkRegistered || regs[0].Expires.IsZero() {
		t.Errorf("TrunkRegistrations() = %+v", regs)
	}

	fire <- time.Now()
	refresh := next("refresh")
	if refresh.callID != first.callID || refresh.cseq <= first.cseq {
		t.Errorf("refresh: Call-ID %s CSeq %d after %s %d: want the same Call-ID, a higher CSeq",
			refresh.callID, refresh.cseq, first.callID, first.cseq)
	}
	wantWait(30*time.Second, "the next refresh")

	car.refuse.Store(true)
	fire <- time.Now()
	next("refused refresh")
	wantWait(time.Second, "first back-off")
	if regs := ts.TrunkRegistrations(); len(regs) != 1 || regs[0].State != TrunkFailed || regs[0].Error != "403 Account Suspended" {
		t.Errorf("after a refusal: %+v", regs)
	}
	fire <- time.Now()
	next("retry")
	wantWait(2*time.Second, "second back-off")
	fire <- time.Now()
	next("retry")
	wantWait(3*time.Second, "back-off at its cap")
	car.refuse.Store(false)
	fire <- time.Now()
	next("retry accepted")
	wantWait(30*time.Second, "refresh after recovering")

	// A new name in the setting: the old registration goes, a new one comes.
	if err := st.SetSetting(t.Context(), directory.SettingTrunks, car.trunkSetting("carrier2")); err != nil {
		t.Fatal(err)
	}
	if err := ts.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if r := next("unregister of the old trunk"); r.expires != "0" || r.callID != first.callID {
		t.Errorf("old trunk: Expires %q Call-ID %s, want 0 and %s", r.expires, r.callID, first.callID)
	}
	second := next("REGISTER of the new trunk")
	if second.expires != "3600" || second.callID == first.callID {
		t.Errorf("new trunk: Expires %q, Call-ID %s", second.expires, second.callID)
	}
	wantWait(30*time.Second, "refresh of the new trunk")
	if got := ts.tk.Trunks(); len(got) != 1 || got[0].Name != "carrier2" {
		t.Errorf("Trunks() = %+v", got)
	}

	ts.stop()
	if r := next("unregister at shutdown"); r.expires != "0" || r.callID != second.callID {
		t.Errorf("at shutdown: Expires %q Call-ID %s", r.expires, r.callID)
	}
	if regs := ts.TrunkRegistrations(); len(regs) != 0 {
		t.Errorf("after shutdown: %+v", regs)
	}
}
