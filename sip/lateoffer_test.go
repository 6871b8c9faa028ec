package sip

import (
	"context"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/sdpneg"
)

// dialLate calls ext with an INVITE without SDP (late offer): the PBX's
// 200 carries the offer and the ACK whatever answer returns for it (nil:
// an ACK without SDP).
func (p *callPhone) dialLate(ctx context.Context, ext string, answer func(offer []byte) []byte) (*sipgo.DialogClientSession, error) {
	host, port, _ := net.SplitHostPort(p.srv.udp)
	uri := sip.Uri{Scheme: "sip", User: ext, Host: host, Port: atoiPort(port)}
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: p.ext, Host: p.srv.realm()},
		Params: sip.HeaderParams{{K: "tag", V: sip.GenerateTagN(8)}}}
	sess, err := p.dcc.Invite(ctx, uri, nil, from)
	if err != nil {
		return nil, err
	}
	if err := sess.WaitAnswer(ctx, sipgoAnswer(p)); err != nil {
		sess.Close()
		return nil, err
	}
	ack := sip.NewRequest(sip.ACK, sess.InviteResponse.Contact().Address)
	if body := answer(sess.InviteResponse.Body()); body != nil {
		ack.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		ack.SetBody(body)
	}
	if err := sess.WriteAck(ctx, ack); err != nil {
		return nil, err
	}
	return sess, nil
}

// answerWith is the answer of a phone that takes the PBX's offer.
func (p *callPhone) answerWith(t testing.TB) func([]byte) []byte {
	return func(offer []byte) []byte {
		if !strings.Contains(string(offer), "c=IN IP4 127.0.0.1") || !strings.Contains(string(offer), "a=rtpmap:0 PCMU/8000") {
			t.Errorf("offer from the PBX:\n%s", offer)
		}
		p.setRemote(offer)
		return p.offer("sendrecv")
	}
}

// TestCallLateOffer: an INVITE without SDP reaches the callee without SDP,
// the callee's offer reaches the caller in the 200 and the caller's answer
// the callee in the ACK, all through the relay; audio flows both ways.
func TestCallLateOffer(t *testing.T) {
	st, _ := openSQLite(t)
	a, b := addUser(t, st, "10001"), addUser(t, st, "10002")
	cs := startCallServer(t, st, CallConfig{})
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)

	sess, err := pa.dialLate(t.Context(), "10002", pa.answerWith(t))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	if inv := wait(t, pb.invites, "INVITE at callee"); len(inv.Body()) != 0 {
		t.Errorf("the callee's INVITE has a body:\n%s", inv.Body())
	}
	ack := wait(t, pb.acks, "ACK at callee")
	if body := string(ack.Body()); !strings.Contains(body, "c=IN IP4 127.0.0.1") ||
		strings.Contains(body, fmt.Sprint(pa.rtpAddr().Port())) {
		t.Errorf("the callee's ACK carries:\n%s", body)
	}
	wait(t, pb.incoming, "answered call")
	pa.sendRTP(t, pb, 10)
	pb.sendRTP(t, pa, 10)

	// A re-INVITE without SDP is answered by the PBX with the offer the
	// caller already has; the answer in the ACK keeps the audio going.
	before := string(sess.InviteResponse.Body())
	req := sip.NewRequest(sip.INVITE, sess.InviteResponse.Contact().Address)
	res, err := sess.Do(t.Context(), req)
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("re-INVITE without sdp: %v %v", res, err)
	}
	if string(res.Body()) != before {
		t.Errorf("offer in the re-INVITE's 200:\n%s\nwant the session unchanged:\n%s", res.Body(), before)
	}
	reack := sip.NewRequest(sip.ACK, sess.InviteResponse.Contact().Address)
	reack.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	reack.SetBody(pa.offer("sendrecv"))
	if err := sess.WriteRequest(reack); err != nil {
		t.Fatal(err)
	}
	pa.sendRTP(t, pb, 5)
	pb.sendRTP(t, pa, 5)
	select {
	case r := <-pb.reinvite:
		t.Errorf("the callee got a re-INVITE:\n%s", r)
	default:
	}

	if err := sess.Bye(t.Context()); err != nil {
		t.Fatalf("bye: %v", err)
	}
	wait(t, pb.ended, "bye at callee")
	row := cs.nextCDR(t)
	if row.Disposition != directory.Answered || row.HangupBy != "caller" || row.CallerID != a.ID ||
		row.CalleeID != b.ID || row.AnsweredAt.IsZero() {
		t.Errorf("cdr: %+v", row)
	}
	cs.noCallLeft(t)
}

// TestCallLateOfferNoAnswer: an ACK without an answer, or with one that is
// not SDP, ends the call: the callee gets an ACK refusing its offer and a
// BYE, the caller a BYE, and the call is failed.
func TestCallLateOfferNoAnswer(t *testing.T) {
	_, cs, pa, pb := twoPhones(t, CallConfig{})
	for _, tc := range []struct {
		name   string
		answer []byte
		reason string
	}{
		{"no sdp in the ack", nil, "no sdp answer in ack"},
		{"not sdp", []byte("v=0\r\nthis is not sdp\r\n"), "bad sdp answer in ack"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := pa.dialLate(t.Context(), "10002", func([]byte) []byte { return tc.answer }); err != nil {
				t.Fatalf("dial: %v", err)
			}
			wait(t, pa.ended, "bye at caller")
			wait(t, pb.ended, "bye at callee")
			ack := wait(t, pb.acks, "ACK at callee")
			if _, m, err := sdpneg.Parse(ack.Body()); err != nil || m.RTP.IsValid() {
				t.Errorf("the callee's ACK should refuse its offer, carries:\n%s", ack.Body())
			}
			row := cs.nextCDR(t)
			if row.Disposition != directory.Failed || row.HangupBy != "system" || row.Reason != tc.reason ||
				!row.AnsweredAt.IsZero() {
				t.Errorf("cdr: %+v", row)
			}
		})
	}
	cs.noCallLeft(t)
}

// TestRecordingLateOffer: a late offer call is recorded with the caller on
// the left and the callee on the right.
func TestRecordingLateOffer(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	addUser(t, st, "10002")
	setSetting(t, st, directory.SettingRecording, "all")
	cs, recs := startRecordingServer(t, st, t.TempDir())
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)
	sess, err := pa.dialLate(t.Context(), "10002", pa.answerWith(t))
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	wait(t, pb.incoming, "answered call")
	started := wait(t, recs, "recording row")
	stopA, stopB := pa.hear(calleeSSRC), pb.hear(callerSSRC)
	bothTalk(t, pa, pb, 0, 50, 0, 0)
	if heard := [2]int{stopA(), stopB()}; heard[0] == 0 || heard[1] == 0 {
		t.Errorf("packets heard: caller %d, callee %d", heard[0], heard[1])
	}
	if err := sess.Bye(t.Context()); err != nil {
		t.Fatalf("bye: %v", err)
	}
	wait(t, pb.ended, "bye at callee")
	row := cs.nextCDR(t)
	if row.Disposition != directory.Answered || started.CallID != row.ID {
		t.Errorf("cdr %+v, recording %+v", row, started)
	}
	got := recordingsOf(t, st, row.ID)
	if len(got) != 1 || got[0].State != directory.RecordingDone {
		t.Fatalf("recordings of the call: %+v", got)
	}
	left, right := wavChannels(t, got[0].Path)
	mid := func(x []int16) []int16 { return x[len(x)/10 : len(x)*9/10] }
	checkTone(t, "left (caller)", mid(left), 440, 1000)
	checkTone(t, "right (callee)", mid(right), 1000, 440)
	cs.noCallLeft(t)
}

// TestCallLateOfferGroup: a late offer call to a group rings every member
// without SDP; the one who answers gets the caller's answer in its ACK,
// the other is cancelled.
func TestCallLateOfferGroup(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	b, c := addUser(t, st, "10002"), addUser(t, st, "10003")
	g := addGroup(t, st, "Sales", "20000", b.ID, c.ID)
	cs := startCallServer(t, st, CallConfig{})
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)
	pc := newCallPhone(t, cs, "10003", answerRing)
	sess, err := pa.dialLate(t.Context(), "20000", pa.answerWith(t))
	if err != nil {
		t.Fatalf("dial group: %v", err)
	}
	if inv := wait(t, pc.invites, "INVITE at the other member"); len(inv.Body()) != 0 {
		t.Errorf("INVITE with a body:\n%s", inv.Body())
	}
	wait(t, pb.incoming, "answer by a member")
	wait(t, pc.cancels, "cancel at the other member")
	pa.sendRTP(t, pb, 5)
	pb.sendRTP(t, pa, 5)
	sess.Bye(t.Context())
	row := cs.nextCDR(t)
	if row.Disposition != directory.Answered || row.GroupID != g.ID || row.CalleeID != b.ID {
		t.Errorf("cdr: %+v", row)
	}
	cs.noCallLeft(t)
}

// TestCallLateOfferReinviteBeforeAck: a re-INVITE that reaches the PBX
// before the ACK with the answer to its late offer gets 491, and the ACK
// that comes after still connects the call.
func TestCallLateOfferReinviteBeforeAck(t *testing.T) {
	_, cs, pa, pb := twoPhones(t, CallConfig{})
	host, port, _ := net.SplitHostPort(cs.udp)
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "10001", Host: cs.realm()},
		Params: sip.HeaderParams{{K: "tag", V: sip.GenerateTagN(8)}}}
	sess, err := pa.dcc.Invite(t.Context(), sip.Uri{Scheme: "sip", User: "10002", Host: host, Port: atoiPort(port)}, nil, from)
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.WaitAnswer(t.Context(), sipgoAnswer(pa)); err != nil {
		t.Fatalf("dial: %v", err)
	}
	ok := sess.InviteResponse
	pa.setRemote(ok.Body())
	target := ok.Contact().Address
	reinv := sip.NewRequest(sip.INVITE, target)
	reinv.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	reinv.SetBody(pa.offer("sendonly"))
	if res, err := sess.Do(t.Context(), reinv); err != nil || res.StatusCode != 491 {
		t.Fatalf("re-INVITE before the ACK: %v %v, want 491", res, err)
	}
	ack := sip.NewRequest(sip.ACK, target)
	ack.AppendHeader(sip.HeaderClone(sess.InviteRequest.From()))
	ack.AppendHeader(sip.HeaderClone(ok.To()))
	ack.AppendHeader(sip.HeaderClone(ok.CallID()))
	ack.AppendHeader(&sip.CSeqHeader{SeqNo: ok.CSeq().SeqNo, MethodName: sip.ACK})
	mf := sip.MaxForwardsHeader(70)
	ack.AppendHeader(&mf)
	ack.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	ack.SetBody(pa.offer("sendrecv"))
	if err := pa.client.WriteRequest(ack); err != nil {
		t.Fatal(err)
	}
	wait(t, pb.incoming, "answered call")
	pa.sendRTP(t, pb, 5)
	pb.sendRTP(t, pa, 5)
	// sipgo's dialog never saw our ACK: the BYE is built by hand too.
	if res, err := sess.Do(t.Context(), sip.NewRequest(sip.BYE, target)); err != nil || res.StatusCode != 200 {
		t.Fatalf("bye: %v %v", res, err)
	}
	wait(t, pb.ended, "bye at callee")
	if row := cs.nextCDR(t); row.Disposition != directory.Answered {
		t.Errorf("cdr: %+v", row)
	}
	cs.noCallLeft(t)
}

// TestQueueLateOfferAtCallLimit: a caller already at their call limit is
// refused for the limit (403), whether or not the INVITE carries an offer;
// a queue's own refusal of a late offer (488) comes only for a caller who
// may call.
func TestQueueLateOfferAtCallLimit(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	b := addUser(t, st, "10002")
	q := directory.Queue{Number: "18000", Name: "Sales", Strategy: "ring_all", Members: []int64{b.ID}}
	if err := st.CreateQueue(t.Context(), &q); err != nil {
		t.Fatal(err)
	}
	cs := startCallServer(t, st, CallConfig{MaxCallsPerExt: 1})
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)
	if _, err := pb.dialLate(t.Context(), "18000", pb.answerWith(t)); status(err) != 488 {
		t.Fatalf("late offer to the queue: %v, want 488", err)
	}
	cs.nextCDR(t)
	sess, err := pa.dial(t.Context(), "10002")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	wait(t, pb.incoming, "answered call")
	if _, err := pa.dialLate(t.Context(), "18000", pa.answerWith(t)); status(err) != 403 {
		t.Fatalf("late offer to the queue from a caller at the limit: %v, want 403", err)
	}
	if row := cs.nextCDR(t); row.Reason != "caller call limit" {
		t.Errorf("cdr: %+v", row)
	}
	sess.Bye(t.Context())
	cs.nextCDR(t)
	cs.noCallLeft(t)
}
