package sip

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtp"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/media"
	"github.com/switchboard-pbx/switchboard/sip/transfer"
)

// inDialog sends requests inside one phone's dialog with the PBX, from
// either end of it.
type inDialog struct {
	do     func(context.Context, *sip.Request) (*sip.Response, error)
	target sip.Uri // the PBX's Contact
	ext    string
}

func callerSide(p *callPhone, s *sipgo.DialogClientSession) inDialog {
	return inDialog{do: s.Do, target: s.InviteResponse.Contact().Address, ext: p.ext}
}

func calleeSide(p *callPhone, s *sipgo.DialogServerSession) inDialog {
	return inDialog{do: s.Do, target: s.InviteRequest.Contact().Address, ext: p.ext}
}

// refer sends REFER with the headers given (name, value pairs) and returns
// the status.
func (d inDialog) refer(t *testing.T, referTo string, extra ...string) int {
	t.Helper()
	req := sip.NewRequest(sip.REFER, d.target)
	if referTo != "" {
		req.AppendHeader(sip.NewHeader("Refer-To", referTo))
	}
	for i := 0; i+1 < len(extra); i += 2 {
		req.AppendHeader(sip.NewHeader(extra[i], extra[i+1]))
	}
	req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: d.ext, Host: "192.168.1.50", Port: 5060}})
	res, err := d.do(t.Context(), req)
	if err != nil {
		t.Fatalf("REFER: %v", err)
	}
	return res.StatusCode
}

// reinvite sends a re-INVITE with the phone's SDP in direction dir and
// ACKs its 2xx; it returns the status.
func (d inDialog) reinvite(t *testing.T, p *callPhone, dir string, ack func(*sip.Request) error) int {
	t.Helper()
	var res *sip.Response
	// 491 while the PBX has not yet taken the ACK of its 200: a phone
	// tries again a little later (RFC 3261 §14.1).
	for try := 0; try < 50; try++ {
		req := sip.NewRequest(sip.INVITE, d.target)
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		req.SetBody(p.offer(dir))
		var err error
		if res, err = d.do(t.Context(), req); err != nil {
			t.Fatalf("re-INVITE: %v", err)
		}
		if res.StatusCode != 491 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if res.IsSuccess() {
		if err := ack(sip.NewRequest(sip.ACK, d.target)); err != nil {
			t.Fatal(err)
		}
		p.setRemote(res.Body())
	}
	return res.StatusCode
}

// wantNotify waits for a NOTIFY of transfer progress carrying status line
// frag, terminated or not.
func wantNotify(t *testing.T, p *callPhone, frag string, terminated bool) {
	t.Helper()
	n := wait(t, p.notifies, "NOTIFY "+frag)
	body := strings.TrimSpace(string(n.Body()))
	// The target's ringing is reported too: skipped unless asked for.
	for strings.HasPrefix(body, "SIP/2.0 18") && !strings.HasPrefix(frag, "SIP/2.0 18") {
		n = wait(t, p.notifies, "NOTIFY "+frag)
		body = strings.TrimSpace(string(n.Body()))
	}
	if !strings.HasPrefix(body, frag) {
		t.Errorf("NOTIFY body %q, want %q", body, frag)
	}
	if h := n.GetHeader("Event"); h == nil || !strings.HasPrefix(h.Value(), "refer") {
		t.Errorf("NOTIFY without Event: refer:\n%s", n)
	}
	if h := n.GetHeader("Content-Type"); h == nil || !strings.HasPrefix(h.Value(), "message/sipfrag") {
		t.Errorf("NOTIFY without message/sipfrag:\n%s", n)
	}
	h := n.GetHeader("Subscription-State")
	if h == nil || strings.HasPrefix(h.Value(), "terminated") != terminated {
		t.Errorf("NOTIFY %q: Subscription-State %v, want terminated=%v", frag, h, terminated)
	}
}

// TestTransferByCallee: A calls B, B transfers A to C.
func TestTransferByCallee(t *testing.T) {
	st, _ := openSQLite(t)
	a, _, c := addUser(t, st, "10001"), addUser(t, st, "10002"), addUser(t, st, "10003")
	cs := startCallServer(t, st, CallConfig{})
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)
	pc := newCallPhone(t, cs, "10003", answerOK)

	sess, err := pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	dlgB := wait(t, pb.incoming, "answered call")
	pa.sendRTP(t, pb, 5)

	if got := calleeSide(pb, dlgB).refer(t, "<sip:10003@"+cs.realm()+">"); got != 202 {
		t.Fatalf("REFER: %d, want 202", got)
	}
	wantNotify(t, pb, "SIP/2.0 100 Trying", false)
	inv := wait(t, pc.invites, "INVITE at the target")
	if h := inv.GetHeader("Referred-By"); h == nil || !strings.Contains(h.Value(), "10002") {
		t.Errorf("INVITE to the target without Referred-By:\n%s", inv)
	}
	// The dashboard and monitoring read calls from other goroutines.
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			cs.ActiveCalls()
			cs.b.monitors.Monitored("10003")
		}
	})
	wait(t, pc.incoming, "answer by the target")
	wantNotify(t, pb, "SIP/2.0 200 OK", true)
	wait(t, pb.ended, "BYE at the transferor")
	close(stop)
	readers.Wait()
	if c, leg, _ := cs.b.monitors.Monitored("10003"); c == nil || leg != media.LegB {
		t.Errorf("monitoring finds the target on leg %v of %v, want leg B", leg, c)
	}

	pa.sendRTP(t, pc, 10)
	pc.sendRTP(t, pa, 10)
	cs.b.Mu.Lock()
	slotsB, slotsC := cs.b.PerExt["10002"], cs.b.PerExt["10003"]
	cs.b.Mu.Unlock()
	if slotsB != 0 || slotsC != 1 {
		t.Errorf("call slots after the transfer: 10002 %d, 10003 %d; want 0 and 1", slotsB, slotsC)
	}

	first := cs.nextCDR(t)
	if first.Disposition != directory.Answered || first.HangupBy != "transfer" || first.From != "10001" ||
		first.To != "10002" || !strings.Contains(first.Reason, "10003") {
		t.Errorf("first row: %+v", first)
	}
	if err := sess.Bye(t.Context()); err != nil {
		t.Fatalf("bye: %v", err)
	}
	wait(t, pc.ended, "BYE at the target")
	second := cs.nextCDR(t)
	if second.Disposition != directory.Answered || second.Direction != directory.Internal || second.From != "10001" ||
		second.To != "10003" || second.CallerID != a.ID || second.CalleeID != c.ID || second.HangupBy != "caller" ||
		second.Dialed != "10003" || second.AnsweredAt.IsZero() || second.SIPCallID != first.SIPCallID {
		t.Errorf("second row: %+v", second)
	}
	cs.noCallLeft(t)
}

// TestTransferByCaller: A calls B, A transfers B to C; C hangs up.
func TestTransferByCaller(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	b, c := addUser(t, st, "10002"), addUser(t, st, "10003")
	cs := startCallServer(t, st, CallConfig{})
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)
	pc := newCallPhone(t, cs, "10003", answerOK)

	sess, err := pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	wait(t, pb.incoming, "answered call")
	if got := callerSide(pa, sess).refer(t, "sip:10003@"+cs.realm()); got != 202 {
		t.Fatalf("REFER: %d, want 202", got)
	}
	wantNotify(t, pa, "SIP/2.0 100 Trying", false)
	dlgC := wait(t, pc.incoming, "answer by the target")
	wantNotify(t, pa, "SIP/2.0 200 OK", true)
	wait(t, pa.ended, "BYE at the transferor")
	if c, leg, _ := cs.b.monitors.Monitored("10003"); c == nil || leg != media.LegA {
		t.Errorf("monitoring finds the target on leg %v of %v, want leg A", leg, c)
	}
	if c, _, _ := cs.b.monitors.Monitored("10001"); c != nil {
		t.Errorf("monitoring still finds the transferor in the call")
	}
	pb.sendRTP(t, pc, 10)
	pc.sendRTP(t, pb, 10)

	if first := cs.nextCDR(t); first.HangupBy != "transfer" {
		t.Errorf("first row: %+v", first)
	}
	if err := dlgC.Bye(t.Context()); err != nil {
		t.Fatalf("bye: %v", err)
	}
	wait(t, pb.ended, "BYE at the transferee")
	second := cs.nextCDR(t)
	if second.From != "10002" || second.To != "10003" || second.CallerID != b.ID || second.CalleeID != c.ID ||
		second.HangupBy != "callee" || second.Direction != directory.Internal {
		t.Errorf("second row: %+v", second)
	}
	cs.noCallLeft(t)
}

// TestTransferToBusy: the target is busy; A and B go on talking, and B
// resumes from hold.
func TestTransferToBusy(t *testing.T) {
	cs, pa, pb, pc, sess, dlgB := transferCall(t, answerBusy)
	b := calleeSide(pb, dlgB)
	ackB := func(r *sip.Request) error { return dlgB.WriteRequest(r) }
	if got := b.reinvite(t, pb, "sendonly", ackB); got != 200 { // hold
		t.Fatalf("hold: %d", got)
	}
	wait(t, pa.reinvite, "hold at the transferee")
	if got := b.refer(t, "<sip:10003@"+cs.realm()+">"); got != 202 {
		t.Fatalf("REFER: %d, want 202", got)
	}
	wantNotify(t, pb, "SIP/2.0 100 Trying", false)
	wait(t, pc.invites, "INVITE at the busy target")
	wantNotify(t, pb, "SIP/2.0 486 Busy Here", true)
	if row := cs.nextCDR(t); row.Disposition != directory.Busy || row.From != "10002" || row.To != "10003" ||
		!strings.HasPrefix(row.Reason, "transfer failed") {
		t.Errorf("attempt row: %+v", row)
	}
	if got := b.reinvite(t, pb, "sendrecv", ackB); got != 200 { // resume
		t.Fatalf("resume: %d", got)
	}
	wait(t, pa.reinvite, "resume at the transferee")
	pa.sendRTP(t, pb, 5)
	pb.sendRTP(t, pa, 5)
	sess.Bye(t.Context())
	wait(t, pb.ended, "BYE at B")
	if row := cs.nextCDR(t); row.Disposition != directory.Answered || row.HangupBy != "caller" || row.To != "10002" {
		t.Errorf("call row: %+v", row)
	}
	cs.noCallLeft(t)
}

// TestTransferOutsideDenied: the transferor's outbound rule applies to the
// number it transfers to.
func TestTransferOutsideDenied(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	b := addUser(t, st, "10002")
	if err := st.SetOverrides(t.Context(), b.ID, map[string]string{"calls.outbound": "none"}); err != nil {
		t.Fatal(err)
	}
	car := startCarrier(t, false)
	cs := startCallServer(t, st, CallConfig{Trunks: []Trunk{car.trunk()}})
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)
	sess, err := pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	dlgB := wait(t, pb.incoming, "answered call")
	if got := calleeSide(pb, dlgB).refer(t, "<sip:+48229999999@"+cs.realm()+";user=phone>"); got != 202 {
		t.Fatalf("REFER: %d, want 202", got)
	}
	wantNotify(t, pb, "SIP/2.0 100 Trying", false)
	wantNotify(t, pb, "SIP/2.0 403 Forbidden ("+authz.ReasonOutboundNone+")", true)
	if row := cs.nextCDR(t); row.Disposition != directory.Denied || row.Direction != directory.Outbound ||
		row.CallerID != b.ID || row.Reason != "transfer failed: "+authz.ReasonOutboundNone {
		t.Errorf("attempt row: %+v", row)
	}
	select {
	case inv := <-car.invites:
		t.Errorf("the carrier got an INVITE: %s", inv.Recipient.String())
	default:
	}
	pa.sendRTP(t, pb, 5)
	sess.Bye(t.Context())
	cs.nextCDR(t)
	cs.noCallLeft(t)
}

// TestTransferRequests covers the refusals: a second REFER during a
// transfer, attended transfer, REFER and NOTIFY outside a call.
func TestTransferRequests(t *testing.T) {
	cs, pa, pb, pc, sess, dlgB := transferCall(t, answerRing)
	b := calleeSide(pb, dlgB)
	realm := cs.realm()
	// Attended transfer naming a dialog the PBX does not have: the call
	// goes on.
	if got := b.refer(t, "<sip:10003@"+realm+"?Replaces=abc%3Bto-tag%3D1%3Bfrom-tag%3D2>"); got != 202 {
		t.Errorf("attended transfer to an unknown dialog: %d, want 202", got)
	}
	wantNotify(t, pb, "SIP/2.0 100 Trying", false)
	wantNotify(t, pb, "SIP/2.0 481 Call/Transaction Does Not Exist", true)
	if row := cs.nextCDR(t); row.Disposition != directory.Failed || row.From != "10002" ||
		!strings.HasPrefix(row.Reason, "transfer failed: replaces") {
		t.Errorf("attempt row: %+v", row)
	}
	if got := b.refer(t, "<sip:10003@"+realm+"?Replaces=abc%3Bto-tag%3D1>"); got != 400 {
		t.Errorf("Replaces without from-tag: %d, want 400", got)
	}
	pa.sendRTP(t, pb, 5)
	pb.sendRTP(t, pa, 5)
	if got := b.refer(t, ""); got != 400 {
		t.Errorf("REFER without Refer-To: %d, want 400", got)
	}
	// A NOTIFY inside the call is answered.
	n := sip.NewRequest(sip.NOTIFY, b.target)
	n.AppendHeader(sip.NewHeader("Event", "talk"))
	if res, err := b.do(t.Context(), n); err != nil || res.StatusCode != 200 {
		t.Errorf("NOTIFY in a call: %v %v", res, err)
	}
	if got := b.refer(t, "<sip:10003@"+realm+">"); got != 202 {
		t.Fatalf("REFER: %d, want 202", got)
	}
	wantNotify(t, pb, "SIP/2.0 100 Trying", false)
	wait(t, pc.invites, "INVITE at the target")
	if got := b.refer(t, "<sip:10003@"+realm+">"); got != 491 {
		t.Errorf("second REFER: %d, want 491", got)
	}
	// The transferee hangs up while the target rings: the transfer is
	// abandoned.
	sess.Bye(t.Context())
	wait(t, pb.ended, "BYE at the transferor")
	wait(t, pc.cancels, "CANCEL at the target")
	if row := cs.nextCDR(t); row.HangupBy != "caller" || row.To != "10002" {
		t.Errorf("call row: %+v", row)
	}
	cs.noCallLeft(t)

	base := "%s sip:10002@" + cs.udp + " SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK%s;rport\r\n" +
		"From: <sip:10001@x>;tag=1\r\nTo: <sip:10002@x>%s\r\nCall-ID: %s\r\nCSeq: 1 %s\r\nMax-Forwards: 70\r\n" +
		"Contact: <sip:10001@127.0.0.1:5999>\r\nRefer-To: <sip:10003@x>\r\nEvent: refer\r\nContent-Length: 0\r\n\r\n"
	for i, tc := range []struct {
		method, toTag string
		code          int
	}{
		{"REFER", "", 403},
		{"REFER", ";tag=9", 481},
		{"NOTIFY", "", 481},
		{"NOTIFY", ";tag=9", 481},
	} {
		raw := fmt.Sprintf(base, tc.method, "xf"+strconv.Itoa(i), tc.toTag, "nocall-"+strconv.Itoa(i), tc.method)
		if res := rawExchange(t, cs.udp, raw); res.StatusCode != tc.code {
			t.Errorf("%s to-tag %q: %d %s, want %d", tc.method, tc.toTag, res.StatusCode, res.Reason, tc.code)
		}
	}
	opt := fmt.Sprintf(base, "OPTIONS", "opt", "", "options-allow", "OPTIONS")
	if res := rawExchange(t, cs.udp, opt); res.GetHeader("Allow") == nil ||
		!strings.Contains(res.GetHeader("Allow").Value(), "REFER") {
		t.Errorf("OPTIONS: Allow without REFER:\n%s", res)
	}
}

// TestTransferFromHoldTransferorLeaves: B puts A on hold, transfers it and
// hangs up at once, as desk phones do; C answers, A is taken off hold and
// talks to C.
func TestTransferFromHoldTransferorLeaves(t *testing.T) {
	cs, pa, pb, pc, sess, dlgB := transferCall(t, answerWhenTold)
	b := calleeSide(pb, dlgB)
	if got := b.reinvite(t, pb, "sendonly", func(r *sip.Request) error { return dlgB.WriteRequest(r) }); got != 200 {
		t.Fatalf("hold: %d", got)
	}
	wait(t, pa.reinvite, "hold at the transferee")
	if got := b.refer(t, "\"Desk\" <sip:10003@"+cs.realm()+";user=phone>"); got != 202 {
		t.Fatalf("REFER: %d, want 202", got)
	}
	wantNotify(t, pb, "SIP/2.0 100 Trying", false)
	inv := wait(t, pc.invites, "INVITE at the target")
	if body := string(inv.Body()); !strings.Contains(body, "a=sendrecv") || strings.Contains(body, "sendonly") ||
		strings.Contains(body, "recvonly") {
		t.Errorf("offer to the target is not sendrecv:\n%s", body)
	}
	if err := dlgB.Bye(t.Context()); err != nil {
		t.Fatalf("transferor bye: %v", err)
	}
	pc.answerNow <- struct{}{}
	wait(t, pc.incoming, "answer by the target")
	unhold := wait(t, pa.reinvite, "re-INVITE taking the transferee off hold")
	if body := string(unhold.Body()); !strings.Contains(body, "a=sendrecv") {
		t.Errorf("transferee still on hold:\n%s", body)
	}
	pa.sendRTP(t, pc, 10)
	pc.sendRTP(t, pa, 10)
	if first := cs.nextCDR(t); first.HangupBy != "transfer" {
		t.Errorf("first row: %+v", first)
	}
	sess.Bye(t.Context())
	wait(t, pc.ended, "BYE at the target")
	if second := cs.nextCDR(t); second.From != "10001" || second.To != "10003" || second.HangupBy != "caller" {
		t.Errorf("second row: %+v", second)
	}
	for len(pb.notifies) > 0 {
		// Its ringing may be reported before the transferor's BYE.
		if n := <-pb.notifies; !strings.HasPrefix(string(n.Body()), "SIP/2.0 180") {
			t.Errorf("NOTIFY to a transferor that left:\n%s", n)
		}
	}
	cs.noCallLeft(t)
}

// TestTransferFailsTransferorGone: the transferor left and nobody answers:
// the transferee is hung up.
func TestTransferFailsTransferorGone(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	addUser(t, st, "10002")
	addUser(t, st, "10003")
	cs := startCallServer(t, st, CallConfig{RingTime: 300 * time.Millisecond})
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)
	pc := newCallPhone(t, cs, "10003", answerRing)

	sess, err := pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	_ = sess
	dlgB := wait(t, pb.incoming, "answered call")
	if got := calleeSide(pb, dlgB).refer(t, "<tel:10003>"); got != 202 {
		t.Fatalf("REFER: %d, want 202", got)
	}
	wantNotify(t, pb, "SIP/2.0 100 Trying", false)
	wait(t, pc.invites, "INVITE at the target")
	if err := dlgB.Bye(t.Context()); err != nil {
		t.Fatalf("transferor bye: %v", err)
	}
	wait(t, pc.cancels, "CANCEL at the target")
	wait(t, pa.ended, "BYE at the transferee")
	if row := cs.nextCDR(t); row.Disposition != directory.NoAnswer || row.From != "10002" ||
		row.Reason != "transfer failed: no answer" {
		t.Errorf("attempt row: %+v", row)
	}
	if row := cs.nextCDR(t); row.HangupBy != "callee" || !strings.Contains(row.Reason, "failed") {
		t.Errorf("call row: %+v", row)
	}
	cs.noCallLeft(t)
}

func TestReferTarget(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		ok       bool
	}{
		{"<sip:10003@pbx>", "10003", true},
		{"sip:10003@pbx", "10003", true},
		{`"Desk" <sip:+48221234567@pbx;user=phone>;x=1`, "+48221234567", true},
		{"<sips:10003@pbx:5061;transport=tls>", "10003", true},
		{"<tel:+48221234567>", "+48221234567", true},
		{"tel:10003;phone-context=pbx", "10003", true},
		{"10003", "10003", true},
		{"<sip:pbx>", "", false},
		{"<http://example.com/>", "", false},
		{"<sip:10003@pbx", "", false},
		{"", "", false},
	} {
		got, ok := transfer.ReferTarget(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("referTarget(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
		}
	}
}

// TestTransferRecorded: the recording of a call goes on after a transfer,
// with the target's voice, and stays with the call's first row.
func TestTransferRecorded(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	addUser(t, st, "10002")
	addUser(t, st, "10003")
	setSetting(t, st, directory.SettingRecording, "all")
	cs, recs := startRecordingServer(t, st, t.TempDir())
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)
	pc := newCallPhone(t, cs, "10003", answerOK)

	sess, err := pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	dlgB := wait(t, pb.incoming, "answered call")
	started := wait(t, recs, "recording row")
	if got := calleeSide(pb, dlgB).refer(t, "<sip:10003@"+cs.realm()+">"); got != 202 {
		t.Fatalf("REFER: %d, want 202", got)
	}
	wait(t, pc.incoming, "answer by the target")
	wait(t, pb.ended, "BYE at the transferor")
	first := cs.nextCDR(t)
	if first.ID == 0 || first.ID != started.CallID || first.HangupBy != "transfer" {
		t.Errorf("first row %+v, recording of call %d", first, started.CallID)
	}
	bothTalk(t, pa, pc, 0, 50, 0, 0)
	sess.Bye(t.Context())
	wait(t, pc.ended, "BYE at the target")
	if second := cs.nextCDR(t); second.ID == first.ID || second.To != "10003" {
		t.Errorf("second row: %+v", second)
	}
	cs.noCallLeft(t)
	got := recordingsOf(t, st, first.ID)
	if len(got) != 1 || got[0].State != directory.RecordingDone {
		t.Fatalf("recordings of the call: %+v", got)
	}
	left, right := wavChannels(t, got[0].Path)
	mid := func(x []int16) []int16 { return x[len(x)/10 : len(x)*9/10] }
	checkTone(t, "left (transferee)", mid(left), 440, 1000)
	checkTone(t, "right (target)", mid(right), 1000, 440)
}

// TestTransferStrayRTPFromTransferor: the transferor still sends RTP when
// the target answers; its late packet must not keep the target's leg.
func TestTransferStrayRTPFromTransferor(t *testing.T) {
	cs, pa, pb, pc, sess, dlgB := transferCall(t, answerOK)
	pb.mu.Lock()
	pb.onNotify = func(n *sip.Request) {
		if !strings.Contains(string(n.Body()), "200 OK") {
			return
		}
		// The relay has pointed B's leg at the target by now.
		pb.mu.Lock()
		dst := pb.remote
		pb.mu.Unlock()
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, SSRC: 777, SequenceNumber: 1}, Payload: make([]byte, 160)}
		raw, _ := pkt.Marshal()
		pb.rtp.WriteToUDPAddrPort(raw, dst)
	}
	pb.mu.Unlock()
	if got := calleeSide(pb, dlgB).refer(t, "<sip:10003@"+cs.realm()+">"); got != 202 {
		t.Fatalf("REFER: %d, want 202", got)
	}
	wait(t, pc.incoming, "answer by the target")
	wait(t, pb.ended, "BYE at the transferor")
	pa.sendRTP(t, pc, 10)
	pc.sendRTP(t, pa, 10)
	sess.Bye(t.Context())
	wait(t, pc.ended, "BYE at the target")
	cs.nextCDR(t)
	cs.nextCDR(t)
	cs.noCallLeft(t)
}

// TestTransferOutside: B transfers A to a number outside, through a trunk
// that challenges the INVITE.
func TestTransferOutside(t *testing.T) {
	st, _ := openSQLite(t)
	a := addUser(t, st, "10001")
	addUser(t, st, "10002")
	car := startCarrier(t, true)
	cs := startCallServer(t, st, CallConfig{Trunks: []Trunk{car.trunk()}})
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
	inv := wait(t, car.invites, "INVITE at the carrier")
	if inv.Recipient.User != "+48601999888" || inv.From().Address.User != "+48221000000" {
		t.Errorf("carrier got INVITE %s from %s", inv.Recipient.String(), inv.From().Address.String())
	}
	wantNotify(t, pb, "SIP/2.0 200 OK", true)
	wait(t, pb.ended, "BYE at the transferor")
	if first := cs.nextCDR(t); first.HangupBy != "transfer" || first.Reason != "transferred to +48601999888 by 10002" {
		t.Errorf("first row: %+v", first)
	}
	sess.Bye(t.Context())
	second := cs.nextCDR(t)
	if second.Direction != directory.Outbound || second.From != "10001" || second.CallerID != a.ID ||
		second.To != "+48601999888" || second.CalleeID != 0 || second.Disposition != directory.Answered {
		t.Errorf("second row: %+v", second)
	}
	cs.noCallLeft(t)
}

// transferCall starts a call server with extensions 10001 to 10003, 10003
// answering as mode says, and returns it and the phones once 10001's call
// to 10002 is answered.
func transferCall(t *testing.T, mode answerMode) (cs *callServer, pa, pb, pc *callPhone,
	sess *sipgo.DialogClientSession, dlgB *sipgo.DialogServerSession) {
	t.Helper()
	st, _ := openSQLite(t)
	for _, ext := range []string{"10001", "10002", "10003"} {
		addUser(t, st, ext)
	}
	cs = startCallServer(t, st, CallConfig{})
	pa = newCallPhone(t, cs, "10001", answerOK)
	pb = newCallPhone(t, cs, "10002", answerOK)
	pc = newCallPhone(t, cs, "10003", mode)
	sess, err := pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	return cs, pa, pb, pc, sess, wait(t, pb.incoming, "answered call")
}
