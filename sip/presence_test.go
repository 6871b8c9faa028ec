package sip

import (
	"context"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/presence"
	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// subscription is a test phone's SUBSCRIBE dialog.
type subscription struct {
	p      *callPhone
	target string
	event  string
	callID string
	ftag   string
	ttag   string // from our 200
	cseq   uint32
}

// subscribeReq builds a SUBSCRIBE of s (in-dialog once ttag is known).
func (s *subscription) request(expires int) *sip.Request {
	host, port, _ := net.SplitHostPort(s.p.srv.udp)
	n, _ := strconv.Atoi(port)
	req := sip.NewRequest(sip.SUBSCRIBE, sip.Uri{Scheme: "sip", User: s.target, Host: host, Port: n})
	req.SetTransport("UDP")
	req.AppendHeader(&sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: s.p.ext, Host: s.p.srv.realm()},
		Params: sip.HeaderParams{{K: "tag", V: s.ftag}}})
	to := &sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: s.target, Host: s.p.srv.realm()}}
	if s.ttag != "" {
		to.Params = sip.HeaderParams{{K: "tag", V: s.ttag}}
	}
	req.AppendHeader(to)
	cid := sip.CallIDHeader(s.callID)
	req.AppendHeader(&cid)
	s.cseq++
	req.AppendHeader(&sip.CSeqHeader{SeqNo: s.cseq, MethodName: sip.SUBSCRIBE})
	req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: s.p.ext, Host: "192.168.1.50", Port: 5060}})
	if s.event != "" {
		req.AppendHeader(sip.NewHeader("Event", s.event))
	}
	if expires >= 0 {
		req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(expires)))
	}
	return req
}

// subscribeTo sends a new SUBSCRIBE from p to target, answering the
// challenge, and returns the final response.
func subscribeTo(t testing.TB, p *callPhone, target, event string, expires int) (*subscription, *sip.Response) {
	t.Helper()
	s := &subscription{p: p, target: target, event: event, callID: sip.GenerateTagN(12) + "@sub", ftag: sip.GenerateTagN(8)}
	res, err := p.do(t.Context(), s.request(expires))
	if err != nil {
		t.Fatalf("SUBSCRIBE: %v", err)
	}
	if res.StatusCode != 401 {
		return s, res
	}
	req := s.request(expires)
	chal, err := digest.ParseChallenge(res.GetHeader("WWW-Authenticate").Value())
	if err != nil {
		t.Fatal(err)
	}
	cred, err := digest.Digest(chal, digest.Options{Method: "SUBSCRIBE", URI: req.Recipient.String(),
		Username: p.ext, Password: p.pw, Count: 1})
	if err != nil {
		t.Fatal(err)
	}
	req.AppendHeader(sip.NewHeader("Authorization", cred.String()))
	if res, err = p.do(t.Context(), req); err != nil {
		t.Fatalf("SUBSCRIBE with credentials: %v", err)
	}
	if res.StatusCode == 200 {
		s.ttag = wire.Tag(res.To().Params)
	}
	return s, res
}

// notify waits for p's next NOTIFY.
func nextNotify(t testing.TB, p *callPhone) *sip.Request {
	t.Helper()
	return wait(t, p.notifies, "a NOTIFY at "+p.ext)
}

// notifyUntil reads p's NOTIFYs until one whose body holds want.
func notifyUntil(t testing.TB, p *callPhone, want string) *sip.Request {
	t.Helper()
	for {
		n := nextNotify(t, p)
		if strings.Contains(string(n.Body()), want) {
			return n
		}
	}
}

func subState(n *sip.Request) string {
	if h := n.GetHeader("Subscription-State"); h != nil {
		return h.Value()
	}
	return ""
}

// presenceServer: extensions 10001..10003, the first three in one group
// (numbered 16000) so that agents may watch each other, 10009 in none.
func presenceServer(t *testing.T, opts ...serverOption) (directory.Store, *callServer, map[string]*directory.User) {
	t.Helper()
	st, _ := openSQLite(t)
	users := map[string]*directory.User{}
	for _, ext := range []string{"10001", "10002", "10003", "10009"} {
		users[ext] = addUser(t, st, ext)
	}
	// New users land in the default group: 10009 must share none.
	dg, err := st.DefaultGroup(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		st.RemoveMember(t.Context(), dg.ID, u.ID) // not a member: nothing to do
	}
	addGroup(t, st, "Sales", "16000", users["10001"].ID, users["10002"].ID, users["10003"].ID)
	cs := startCallServer(t, st, CallConfig{}, opts...)
	return st, cs, users
}

func TestPresenceSubscribeRefusals(t *testing.T) {
	_, cs, _ := presenceServer(t)
	w := newCallPhone(t, cs, "10003", answerOK)
	outsider := newCallPhone(t, cs, "10009", answerOK)

	// No credentials: the registrar's challenge.
	s := &subscription{p: w, target: "10002", event: "dialog", callID: "x@sub", ftag: "f1"}
	res, err := w.do(t.Context(), s.request(600))
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, res, 401)

	_, res = subscribeTo(t, w, "10002", "conference", 600)
	wantStatus(t, res, 489)
	if h := res.GetHeader("Allow-Events"); h == nil || !strings.Contains(h.Value(), "dialog") || !strings.Contains(h.Value(), "message-summary") {
		t.Errorf("489 without Allow-Events naming dialog: %v", res)
	}
	_, res = subscribeTo(t, w, "10002", "", 600)
	wantStatus(t, res, 489)

	// An agent outside the group may not watch a member.
	_, res = subscribeTo(t, outsider, "10002", "dialog", 600)
	wantStatus(t, res, 403)
	if !strings.Contains(res.Reason, "presence.observe") {
		t.Errorf("403 reason %q does not name presence.observe", res.Reason)
	}
	_, res = subscribeTo(t, outsider, "16000", "presence", 600)
	wantStatus(t, res, 403)

	_, res = subscribeTo(t, w, "10077", "dialog", 600)
	wantStatus(t, res, 404)

	_, res = subscribeTo(t, w, "10002", "dialog", 5)
	wantStatus(t, res, 423)
	if h := res.GetHeader("Min-Expires"); h == nil || h.Value() != "60" {
		t.Errorf("423 Min-Expires = %v, want 60", h)
	}
}

func TestPresenceShareRefused(t *testing.T) {
	st, cs, users := presenceServer(t)
	if err := st.SetOverrides(t.Context(), users["10002"].ID, map[string]string{"presence.share": "none"}); err != nil {
		t.Fatal(err)
	}
	w := newCallPhone(t, cs, "10003", answerOK)
	_, res := subscribeTo(t, w, "10002", "dialog", 600)
	wantStatus(t, res, 403)
	if !strings.Contains(res.Reason, "presence.share") {
		t.Errorf("403 reason %q does not name presence.share", res.Reason)
	}
	// Oneself is always visible.
	_, res = subscribeTo(t, newCallPhone(t, cs, "10002", answerOK), "10002", "presence", 600)
	wantStatus(t, res, 200)
}

func TestBLFDialogSequence(t *testing.T) {
	_, cs, _ := presenceServer(t)
	caller := newCallPhone(t, cs, "10001", answerOK)
	callee := newCallPhone(t, cs, "10002", answerWhenTold)
	w := newCallPhone(t, cs, "10003", answerOK)

	_, res := subscribeTo(t, w, "10002", "dialog", 600)
	wantStatus(t, res, 200)
	if h := res.GetHeader("Expires"); h == nil || h.Value() != "600" {
		t.Errorf("Expires = %v, want 600", h)
	}
	first := nextNotify(t, w)
	if !strings.HasPrefix(subState(first), "active") || first.GetHeader("Event").Value() != "dialog" {
		t.Fatalf("first NOTIFY: %s", first)
	}
	if ct := first.GetHeader("Content-Type").Value(); ct != "application/dialog-info+xml" {
		t.Errorf("Content-Type %q", ct)
	}
	if strings.Contains(string(first.Body()), "<dialog ") {
		t.Errorf("idle extension shows a dialog:\n%s", first.Body())
	}

	done := make(chan error, 1)
	go func() {
		sess, err := caller.dial(context.Background(), "10002")
		if err == nil {
			time.Sleep(100 * time.Millisecond)
			err = sess.Bye(context.Background())
		}
		done <- err
	}()
	early := notifyUntil(t, w, "<state>early</state>")
	if b := string(early.Body()); !strings.Contains(b, `direction="recipient"`) || !strings.Contains(b, "sip:10001@") {
		t.Errorf("ringing NOTIFY lacks the direction or the caller (shared in the group):\n%s", b)
	}
	callee.answerNow <- struct{}{}
	notifyUntil(t, w, "<state>confirmed</state>")
	if err := <-done; err != nil {
		t.Fatalf("call: %v", err)
	}
	over := notifyUntil(t, w, "<state>terminated</state>")
	if strings.Contains(string(over.Body()), "<state>confirmed</state>") {
		t.Errorf("ended call still confirmed:\n%s", over.Body())
	}
}

func TestBLFCallerHidden(t *testing.T) {
	st, cs, users := presenceServer(t)
	if err := st.SetOverrides(t.Context(), users["10002"].ID, map[string]string{"calls.share": "none"}); err != nil {
		t.Fatal(err)
	}
	caller := newCallPhone(t, cs, "10001", answerOK)
	newCallPhone(t, cs, "10002", answerRing)
	w := newCallPhone(t, cs, "10003", answerOK)
	_, res := subscribeTo(t, w, "10002", "dialog", 600)
	wantStatus(t, res, 200)
	nextNotify(t, w)
	ctx, cancel := context.WithCancel(t.Context())
	dialed := make(chan struct{})
	go func() { defer close(dialed); caller.dial(ctx, "10002") }()
	early := notifyUntil(t, w, "<state>early</state>")
	if b := string(early.Body()); strings.Contains(b, "10001") || strings.Contains(b, "call-id=") {
		t.Errorf("caller shown although 10002 shares no call information:\n%s", b)
	}
	cancel() // the caller gives up while the phones are still there
	<-dialed
}

func TestPresenceRegistrationAndGroup(t *testing.T) {
	_, cs, _ := presenceServer(t)
	w := newCallPhone(t, cs, "10003", answerOK)
	_, res := subscribeTo(t, w, "10002", "presence", 600)
	wantStatus(t, res, 200)
	n := nextNotify(t, w)
	if ct := n.GetHeader("Content-Type").Value(); ct != "application/pidf+xml" {
		t.Errorf("Content-Type %q", ct)
	}
	if !strings.Contains(string(n.Body()), "<basic>closed</basic>") {
		t.Errorf("unregistered extension not closed:\n%s", n.Body())
	}
	p2 := newCallPhone(t, cs, "10002", answerWhenTold)
	notifyUntil(t, w, "<basic>open</basic>")

	// The group is busy when a member is.
	_, res = subscribeTo(t, w, "16000", "presence", 600)
	wantStatus(t, res, 200)
	notifyUntil(t, w, `entity="sip:16000@`)
	caller := newCallPhone(t, cs, "10001", answerOK)
	dialed := make(chan struct{})
	go func() { defer close(dialed); caller.dial(t.Context(), "10002") }()
	wait(t, p2.invites, "the call at 10002")
	p2.answerNow <- struct{}{}
	notifyUntil(t, w, "on-the-phone")
	<-dialed
	wantStatus(t, p2.register(0), 200)
}

func TestSubscribeForgedRefresh(t *testing.T) {
	_, cs, _ := presenceServer(t)
	w := newCallPhone(t, cs, "10003", answerOK)
	s, res := subscribeTo(t, w, "10002", "dialog", 600)
	wantStatus(t, res, 200)
	nextNotify(t, w)

	attacker := newCallPhone(t, cs, "10001", answerOK, from("127.0.0.66"))
	forged := *s
	forged.p = attacker
	for _, exp := range []int{600, 0} {
		res, err := attacker.do(t.Context(), forged.request(exp))
		if err != nil {
			t.Fatal(err)
		}
		wantStatus(t, res, 481)
	}
	// The subscriber's own refresh and un-subscribe still work.
	res, err := w.do(t.Context(), s.request(1200))
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, res, 200)
	if h := res.GetHeader("Expires"); h == nil || h.Value() != "1200" {
		t.Errorf("refresh Expires = %v", h)
	}
	if n := nextNotify(t, w); !strings.HasPrefix(subState(n), "active") {
		t.Errorf("refresh NOTIFY state %q", subState(n))
	}
	res, err = w.do(t.Context(), s.request(0))
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, res, 200)
	if n := nextNotify(t, w); !strings.HasPrefix(subState(n), "terminated") {
		t.Errorf("un-subscribe NOTIFY state %q", subState(n))
	}
	res, err = w.do(t.Context(), s.request(600))
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, res, 481)
}

func TestPresenceExpiry(t *testing.T) {
	_, cs, _ := presenceServer(t, func(c *Config) {
		c.Subscriptions = presence.Config{MinExpires: time.Second}
	})
	w := newCallPhone(t, cs, "10003", answerOK)
	_, res := subscribeTo(t, w, "10002", "dialog", 1)
	wantStatus(t, res, 200)
	if n := nextNotify(t, w); !strings.HasPrefix(subState(n), "active") {
		t.Fatalf("first NOTIFY %q", subState(n))
	}
	if n := nextNotify(t, w); subState(n) != "terminated;reason=timeout" {
		t.Errorf("expiry NOTIFY state %q, want terminated;reason=timeout", subState(n))
	}
}

func TestPresenceShutdownNotifies(t *testing.T) {
	_, cs, _ := presenceServer(t)
	w := newCallPhone(t, cs, "10003", answerOK)
	_, res := subscribeTo(t, w, "10002", "presence", 600)
	wantStatus(t, res, 200)
	nextNotify(t, w)
	go cs.stop()
	if n := nextNotify(t, w); subState(n) != "terminated;reason=deactivated" {
		t.Errorf("shutdown NOTIFY state %q", subState(n))
	}
}

func TestSubscribeRefreshRevoked(t *testing.T) {
	st, cs, users := presenceServer(t)
	w := newCallPhone(t, cs, "10003", answerOK)
	s, res := subscribeTo(t, w, "10002", "dialog", 600)
	wantStatus(t, res, 200)
	nextNotify(t, w)
	if err := st.SetOverrides(t.Context(), users["10003"].ID, map[string]string{"presence.observe": "none"}); err != nil {
		t.Fatal(err)
	}
	res, err := w.do(t.Context(), s.request(600))
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, res, 403)
	if n := nextNotify(t, w); subState(n) != "terminated;reason=rejected" {
		t.Errorf("NOTIFY after the refused refresh: %q", subState(n))
	}
}

func TestPresenceDeletedExtension(t *testing.T) {
	st, cs, users := presenceServer(t)
	w := newCallPhone(t, cs, "10003", answerOK)
	_, res := subscribeTo(t, w, "10002", "presence", 600)
	wantStatus(t, res, 200)
	nextNotify(t, w)
	if err := st.SetUserState(t.Context(), users["10002"].ID, directory.UserDeleted); err != nil {
		t.Fatal(err)
	}
	if err := cs.Sync(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := nextNotify(t, w); subState(n) != "terminated;reason=noresource" {
		t.Errorf("NOTIFY after the extension was deleted: %q", subState(n))
	}
}
