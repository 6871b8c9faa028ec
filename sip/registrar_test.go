package sip

import (
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/switchboard-pbx/switchboard/directory"
)

// Phones register with MD5 and with SHA-256, over UDP and TCP; the 200
// lists the contact with its expiry, and the binding records where the
// REGISTER really came from.
func TestRegister(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	ts := startServer(t, st, nil)
	for _, tc := range []struct {
		name string
		opts []phoneOption
	}{
		{"udp md5", []phoneOption{withAlg("MD5")}},
		{"udp sha-256", []phoneOption{withAlg("SHA-256")}},
		{"tcp md5", []phoneOption{overTCP, withAlg("MD5")}},
		{"tcp sha-256", []phoneOption{overTCP, withAlg("SHA-256")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newPhone(t, ts, "10001", testPassword, tc.opts...)
			res := p.register(300)
			wantStatus(t, res, 200)
			got := contacts(res)
			if got[p.contact] != 300 {
				t.Errorf("200 lists %v, want %s with expires 300", got, p.contact)
			}
			var b directory.Binding
			for _, x := range ts.Bindings("10001") {
				if x.Contact == p.contact && x.CallID == p.callID {
					b = x
				}
			}
			if b.Contact == "" {
				t.Fatalf("no binding for %s in %+v", p.contact, ts.Registrations())
			}
			if b.Transport != p.transport || !strings.HasPrefix(b.Source, "127.0.0.1:") || b.Node != "node-a" ||
				b.UserAgent != "TestPhone/1.0" || !b.Expires.Equal(ts.clock.Now().Add(300*time.Second)) {
				t.Errorf("binding %+v", b)
			}
			if len(storeBindings(t, st, "10001", ts.clock.Now())) == 0 {
				t.Error("binding not persisted")
			}
			// Unregister, so that the next case starts from none.
			wantStatus(t, p.register(0), 200)
		})
	}
}

// The challenge offers SHA-256 and MD5 (RFC 8760), each with qop=auth.
func TestChallengeOffersBothAlgorithms(t *testing.T) {
	st, _ := openSQLite(t)
	ts := startServer(t, st, nil)
	p := newPhone(t, ts, "10001", testPassword)
	res, err := p.do(t.Context(), p.request(60))
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, res, 401)
	var algs []string
	for _, h := range res.GetHeaders("WWW-Authenticate") {
		c, err := digest.ParseChallenge(h.Value())
		if err != nil {
			t.Fatal(err)
		}
		if c.Realm != "switchboard.local" || !c.SupportsQOP("auth") || c.Stale {
			t.Errorf("challenge %q", h.Value())
		}
		algs = append(algs, c.Algorithm)
	}
	if strings.Join(algs, ",") != "SHA-256,MD5" {
		t.Errorf("algorithms %v, want SHA-256 then MD5", algs)
	}

	// baresip 1.x gives up on a 401 that holds SHA-256 at all: MD5 alone.
	p.agent = "baresip v1.0.0 (x86_64/linux)"
	res, err = p.do(t.Context(), p.request(60))
	if err != nil {
		t.Fatal(err)
	}
	if hs := res.GetHeaders("WWW-Authenticate"); len(hs) != 1 || !strings.Contains(hs[0].Value(), "algorithm=MD5") {
		t.Errorf("baresip offered %v", hs)
	}
}

func TestRefreshSeveralContactsAndUnregister(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	ts := startServer(t, st, nil)
	p := newPhone(t, ts, "10001", testPassword)
	desk, soft := "sip:10001@192.168.1.50:5060", "sip:10001@192.168.1.51:5062;transport=tcp"

	wantStatus(t, p.register(600, desk), 200)
	ts.clock.Advance(100 * time.Second)
	res := p.register(600, desk) // refresh
	wantStatus(t, res, 200)
	if got := contacts(res); len(got) != 1 || got[desk] != 600 {
		t.Errorf("refresh lists %v", got)
	}

	res = p.register(-1, soft) // no Expires: the default, 10 minutes
	wantStatus(t, res, 200)
	if got := contacts(res); len(got) != 2 || got[desk] != 600 || got[soft] != 600 {
		t.Errorf("two contacts listed as %v", got)
	}
	ts.clock.Advance(60 * time.Second)
	// A REGISTER without Contact is a query: the bindings with what is left.
	q, err := p.do(t.Context(), queryRequest(p))
	if err != nil {
		t.Fatal(err)
	}
	if q.StatusCode == 401 {
		req := queryRequest(p)
		p.authorize(req, p.pick(q), p.pw)
		q, err = p.do(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
	}
	wantStatus(t, q, 200)
	if got := contacts(q); got[desk] != 540 || got[soft] != 540 {
		t.Errorf("query lists %v, want both with 540s left", got)
	}

	res = p.register(0, desk) // Expires: 0 removes one
	wantStatus(t, res, 200)
	if got := contacts(res); len(got) != 1 || got[soft] == 0 {
		t.Errorf("after removing one: %v", got)
	}
	if n := len(storeBindings(t, st, "10001", ts.clock.Now())); n != 1 {
		t.Errorf("store holds %d bindings, want 1", n)
	}

	res = p.register(0, "*") // Contact: * removes all
	wantStatus(t, res, 200)
	if got := contacts(res); len(got) != 0 {
		t.Errorf("after Contact *: %v", got)
	}
	if n := len(ts.Bindings("10001")) + len(storeBindings(t, st, "10001", ts.clock.Now())); n != 0 {
		t.Errorf("%d bindings left after Contact *", n)
	}
}

// queryRequest is a REGISTER without Contact: it asks for the bindings.
func queryRequest(p *phone) *sip.Request {
	req := p.request(-1)
	req.RemoveHeader("Contact")
	return req
}

func TestExpiresBounds(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	ts := startServer(t, st, nil, func(c *Config) {
		c.MinExpires, c.MaxExpires, c.DefaultExpires = time.Minute, time.Hour, 10*time.Minute
	})
	p := newPhone(t, ts, "10001", testPassword)

	res := p.register(30)
	wantStatus(t, res, 423)
	if h := res.GetHeader("Min-Expires"); h == nil || h.Value() != "60" {
		t.Errorf("423 without Min-Expires: 60:\n%s", res)
	}
	res = p.register(86400)
	wantStatus(t, res, 200)
	if got := contacts(res)[p.contact]; got != 3600 {
		t.Errorf("a day was granted %ds, want the 3600s maximum", got)
	}
	c := "sip:10001@192.168.1.50:5060;x=1"
	res = p.register(-1, c)
	if got := contacts(res)[c]; got != 600 {
		t.Errorf("no Expires granted %ds, want the 600s default", got)
	}
}

// Expired bindings disappear on time: for readers at once, and from memory
// and the store at the next sweep.
func TestExpiredBindingsDisappear(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	ts := startServer(t, st, nil)
	p := newPhone(t, ts, "10001", testPassword)
	wantStatus(t, p.register(60), 200)
	ts.clock.Advance(59 * time.Second)
	if len(ts.Registrations()) != 1 {
		t.Fatal("binding gone early")
	}
	ts.clock.Advance(time.Second)
	if r := ts.Registrations(); len(r) != 0 {
		t.Errorf("expired binding still listed: %+v", r)
	}
	ts.follow.housekeep(t.Context())
	if !strings.Contains(ts.log.String(), "registration expired") {
		t.Error("expiry not logged")
	}
	if n, err := st.Bindings(t.Context(), ts.clock.Now().Add(-time.Hour)); err != nil || len(n) != 0 {
		t.Errorf("store still holds %d bindings after the sweep (%v)", len(n), err)
	}
}

// An unknown extension and a wrong password get the same answer: 401 with
// a fresh challenge, stale absent.
func TestWrongPasswordAndUnknownExtensionLookAlike(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	ts := startServer(t, st, nil)
	shape := func(res *sip.Response) string {
		var b strings.Builder
		b.WriteString(res.StartLine())
		for _, h := range res.GetHeaders("WWW-Authenticate") {
			c, _ := digest.ParseChallenge(h.Value())
			c.Nonce = "N"
			b.WriteString("|" + c.String())
		}
		return b.String()
	}
	wrong := newPhone(t, ts, "10001", "not-the-password")
	unknown := newPhone(t, ts, "10999", testPassword)
	garbage := newPhone(t, ts, "admin", "admin")
	a, b, c := wrong.register(60), unknown.register(60), garbage.register(60)
	wantStatus(t, a, 401)
	if shape(a) != shape(b) || shape(a) != shape(c) {
		t.Errorf("answers differ:\nwrong password:    %s\nunknown extension: %s\nnot an extension:  %s",
			shape(a), shape(b), shape(c))
	}
	if len(ts.Registrations()) != 0 {
		t.Error("something registered")
	}
	for range 3 {
		<-ts.failed // each was counted
	}
}

// A correct digest on an old nonce gets stale=true, not a failure; so does
// a replayed nc. A wrong digest on an old nonce is a plain failure.
func TestStaleNonce(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	ts := startServer(t, st, nil, func(c *Config) { c.NonceTTL = 5 * time.Minute })
	for _, alg := range []string{"MD5", "SHA-256"} {
		t.Run(alg, func(t *testing.T) {
			p := newPhone(t, ts, "10001", testPassword, withAlg(alg))
			wantStatus(t, p.register(600), 200)
			wantStatus(t, p.again(600), 200) // nonce reused with the next nc: fine

			p.nc-- // the same nc again: a replay
			res := p.again(600)
			wantStatus(t, res, 401)
			if !p.pick(res).Stale {
				t.Error("replayed nc without stale=true")
			}

			ts.clock.Advance(5*time.Minute + time.Second)
			res = p.again(600)
			wantStatus(t, res, 401)
			if !p.pick(res).Stale {
				t.Errorf("old nonce with the right password: no stale=true:\n%s", res)
			}
			p.pw = "wrong-password"
			res = p.again(600)
			wantStatus(t, res, 401)
			if p.pick(res).Stale {
				t.Error("old nonce with a wrong password: stale=true tells a guesser nothing is wrong")
			}
			<-ts.failed
			p.pw = testPassword
			wantStatus(t, p.register(600), 200)
			wantStatus(t, p.register(0), 200)
		})
	}
	select {
	case ext := <-ts.failed:
		t.Errorf("a stale nonce was counted as a failure (%s)", ext)
	default:
	}
}

// No registering someone else's extension with your own credentials.
func TestCredentialsOfAnotherExtension(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	addUser(t, st, "10002")
	ts := startServer(t, st, nil)
	p := newPhone(t, ts, "10002", testPassword)
	p.user = "10001" // 10001's (valid) credentials, To: 10002
	res := p.register(60)
	wantStatus(t, res, 403)
	if len(ts.Registrations()) != 0 {
		t.Error("registered someone else's extension")
	}
}

// Blocked users keep their phones; deleted users are refused
// and their bindings go at once.
func TestBlockedAndDeletedUsers(t *testing.T) {
	st, _ := openSQLite(t)
	blocked := addUser(t, st, "10001")
	deleted := addUser(t, st, "10002")
	addUser(t, st, "10003") // keeps the last owner rule out of the way
	ts := startServer(t, st, nil)

	if err := st.SetUserState(t.Context(), blocked.ID, directory.UserBlocked); err != nil {
		t.Fatal(err)
	}
	if err := ts.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, newPhone(t, ts, "10001", testPassword).register(60), 200)

	p := newPhone(t, ts, "10002", testPassword)
	wantStatus(t, p.register(60), 200)
	if err := st.SetUserState(t.Context(), deleted.ID, directory.UserDeleted); err != nil {
		t.Fatal(err)
	}
	if err := ts.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if b := ts.Bindings("10002"); len(b) != 0 {
		t.Errorf("deleted user's bindings kept: %+v", b)
	}
	if b := storeBindings(t, st, "10002", ts.clock.Now()); len(b) != 0 {
		t.Errorf("deleted user's bindings kept in the store: %+v", b)
	}
	wantStatus(t, p.register(60), 403)
	p.pw = "guessing"
	wantStatus(t, p.register(60), 401) // a guesser learns nothing
}

// The device limit and the allowed networks of an extension.
func TestDeviceLimitAndAllowedNetworks(t *testing.T) {
	st, _ := openSQLite(t)
	realm, _ := st.Setting(t.Context(), directory.SettingDomain)
	for _, u := range []*directory.User{
		{Name: "One Phone", Email: "one@example.com", Extension: "10001", State: directory.UserActive, SIPMaxDevices: 1},
		{Name: "Office Only", Email: "office@example.com", Extension: "10002", State: directory.UserActive,
			SIPAllowedNets: []string{"127.0.0.64/26"}},
	} {
		u.SIP = directory.NewSIPSecret(u.Extension, realm, testPassword)
		if err := st.CreateUser(t.Context(), u); err != nil {
			t.Fatal(err)
		}
	}
	ts := startServer(t, st, nil)

	p := newPhone(t, ts, "10001", testPassword)
	wantStatus(t, p.register(60, "sip:10001@192.168.1.50"), 200)
	wantStatus(t, p.register(60, "sip:10001@192.168.1.50"), 200) // a refresh is no new device
	res := p.register(60, "sip:10001@192.168.1.51")
	wantStatus(t, res, 403)
	if !strings.Contains(res.Reason, "Device Limit") {
		t.Errorf("reason %q", res.Reason)
	}

	wantStatus(t, newPhone(t, ts, "10002", testPassword, from("127.0.0.70")).register(60), 200)
	wantStatus(t, newPhone(t, ts, "10002", testPassword, from("127.0.0.1")).register(60), 401)
}

// Malformed REGISTERs get a 400 with a reason (or, when sipgo cannot parse
// them at all, nothing), and the server keeps serving.
func TestMalformedRequests(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	ts := startServer(t, st, nil)
	p := newPhone(t, ts, "10001", testPassword)

	for _, tc := range []struct {
		name, raw, reason string
	}{
		{"bad Expires", rawRegister("Contact: <sip:10001@h>", "Expires: soon"), "Bad Expires"},
		{"bad contact expires", rawRegister("Contact: <sip:10001@h>;expires=-1"), "Bad Contact Expires"},
		{"tel contact", rawRegister("Contact: <tel:+48221234567>"), "Contact Must Be A SIP URI"},
		{"missing From", strings.Replace(rawRegister(), "From: <sip:10001@pbx.example.com>;tag=456248\r\n", "", 1), "Missing From"},
		{"missing To", strings.Replace(rawRegister(), "To: <sip:10001@pbx.example.com>\r\n", "", 1), "Missing To"},
		{"missing Call-ID", strings.Replace(rawRegister(), "Call-ID: 843817637684230@998sdasdh09\r\n", "", 1), "Missing Call-ID"},
		{"wildcard with expiry", rawRegister("Contact: *", "Expires: 3600"), "Contact * Needs Expires 0 And No Other Contact"},
		{"malformed Authorization", rawRegister("Contact: <sip:10001@h>", `Authorization: Digest username="10001", nonce="x`), "Malformed Authorization"},
		{"Authorization without qop", rawRegister("Contact: <sip:10001@h>", `Authorization: Digest username="10001", realm="switchboard.local", nonce="x", uri="sip:x", response="00000000000000000000000000000000"`), "Malformed Authorization"},
	} {
		res := rawExchange(t, ts.udp, tc.raw)
		if res.StatusCode != 400 || res.Reason != tc.reason {
			t.Errorf("%s: got %d %q, want 400 %q", tc.name, res.StatusCode, res.Reason, tc.reason)
		}
	}
	// Missing Via or CSeq: sipgo answers 400 before we see the request.
	res := rawExchange(t, ts.udp, strings.Replace(rawRegister(), "CSeq: 1826 REGISTER\r\n", "", 1))
	wantStatus(t, res, 400)

	// Too large: dropped unparsed.
	req := p.request(60)
	req.AppendHeader(sip.NewHeader("X-Padding", strings.Repeat("x", 20000)))
	if reason := rawDropped(t, ts, req.String()); reason != "too large" {
		t.Errorf("huge message: %q", reason)
	}
	// Unparsable and truncated ones: no answer, and the server goes on.
	for _, raw := range []string{
		"REGISTER sip:x SIP/2.0\r\nContact: <sip:10001@h\r\n\r\n",
		"REGISTER\r\n\r\n",
		strings.Replace(p.request(60).String(), "Content-Length: 0", "Content-Length: 500", 1),
		"\x00\x01\x02garbage",
	} {
		rawSend(t, ts.udp, raw)
		rawSendTCP(t, ts.tcp, raw)
	}
	wantStatus(t, p.register(60), 200)
	tp := newPhone(t, ts, "10001", testPassword, overTCP)
	wantStatus(t, tp.register(60, "sip:10001@192.168.1.52;transport=tcp"), 200)
}

// rawRegister is a REGISTER of 10001 as bytes, with headers added.
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
