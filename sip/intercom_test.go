package sip

import (
	"fmt"
	"strings"
	"testing"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
)

// setIntercom gives u the calls.intercom scope (an override), keeping
// the tests' outbound override.
func setIntercom(t *testing.T, st directory.Store, u *directory.User, scope string) {
	t.Helper()
	if err := st.SetOverrides(t.Context(), u.ID, map[string]string{"calls.outbound": "any", "calls.intercom": scope}); err != nil {
		t.Fatal(err)
	}
}

// wantAutoAnswer checks that an INVITE asks the phone to answer by itself
// in both forms phones honour.
func wantAutoAnswer(t *testing.T, inv *sip.Request, realm string) {
	t.Helper()
	ci, ai := inv.GetHeader("Call-Info"), inv.GetHeader("Alert-Info")
	if ci == nil || ci.Value() != "<sip:"+realm+">;answer-after=0" {
		t.Errorf("Call-Info = %v, want <sip:%s>;answer-after=0", ci, realm)
	}
	if ai == nil || ai.Value() != "<http://www.notused.com>;info=alert-autoanswer;delay=0" {
		t.Errorf("Alert-Info = %v, want info=alert-autoanswer", ai)
	}
}

// autoAnswerLines is what a golden file keeps of an intercom or paging
// INVITE: who it is from and to, the auto-answer headers and the media
// line and direction of its offer (ports and tags vary).
func autoAnswerLines(inv *sip.Request) string {
	var b strings.Builder
	from := inv.From().Address
	fmt.Fprintf(&b, "From: %q <sip:%s@realm>\nTo: <sip:%s@realm>\n", inv.From().DisplayName, from.User, inv.To().Address.User)
	for _, name := range []string{"Call-Info", "Alert-Info"} {
		for _, h := range inv.GetHeaders(name) {
			fmt.Fprintf(&b, "%s: %s\n", name, strings.ReplaceAll(h.Value(), inv.From().Address.Host, "realm"))
		}
	}
	for _, l := range strings.Split(string(inv.Body()), "\r\n") {
		switch {
		case strings.HasPrefix(l, "m="):
			f := strings.Fields(l)
			f[1] = "PORT"
			fmt.Fprintln(&b, strings.Join(f, " "))
		case l == "a=sendonly", l == "a=sendrecv", l == "a=recvonly", strings.HasPrefix(l, "a=rtpmap:"):
			fmt.Fprintln(&b, l)
		}
	}
	return b.String()
}

// TestIntercom: *90EXT rings EXT's phone with the auto-answer headers and
// connects like a call, audio both ways; a user without calls.intercom is
// refused with 403 and the reason, and EXT's phone never rings; an
// ordinary call carries no auto-answer header.
func TestIntercom(t *testing.T) {
	st, _ := openSQLite(t)
	caller := addUser(t, st, "10001")
	addUser(t, st, "10002")
	agent := addUser(t, st, "10003")
	setIntercom(t, st, caller, "any")
	setIntercom(t, st, agent, "none")
	cs := startCallServer(t, st, CallConfig{})
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerOK)
	pd := newCallPhone(t, cs, "10003", answerOK)

	_, err := pd.dial(t.Context(), "*9010002")
	if status(err) != 403 || !strings.Contains(reasonOf(err), "intercom not allowed for you") {
		t.Fatalf("intercom without the permission: %v (%q), want 403 with the reason", err, reasonOf(err))
	}
	if row := cs.nextCDR(t); row.Disposition != directory.Denied || row.Dialed != "*9010002" || row.To != "10002" {
		t.Errorf("refused intercom's row %+v", row)
	}
	select {
	case inv := <-pb.invites:
		t.Fatalf("the callee's phone rang for a refused intercom:\n%s", inv)
	default:
	}

	sess, err := pa.dial(t.Context(), "*9010002")
	if err != nil {
		t.Fatalf("intercom: %v", err)
	}
	inv := wait(t, pb.invites, "intercom invite")
	wantAutoAnswer(t, inv, cs.realm())
	golden(t, "intercom.txt", autoAnswerLines(inv))
	dlg := wait(t, pb.incoming, "intercom answered")
	pa.sendRTP(t, pb, 3)
	pb.sendRTP(t, pa, 3)
	if err := sess.Bye(t.Context()); err != nil {
		t.Fatal(err)
	}
	wait(t, pb.ended, "bye at the callee")
	_ = dlg
	row := cs.nextCDR(t)
	if row.Disposition != directory.Answered || row.Dialed != "*9010002" || row.To != "10002" || row.From != "10001" {
		t.Errorf("intercom's row %+v", row)
	}

	// An ordinary call asks for no auto-answer.
	if sess, err = pa.dial(t.Context(), "10002"); err != nil {
		t.Fatal(err)
	}
	if inv := wait(t, pb.invites, "call invite"); inv.GetHeader("Call-Info") != nil || inv.GetHeader("Alert-Info") != nil {
		t.Errorf("an ordinary call asks for auto-answer:\n%s", inv)
	}
	wait(t, pb.incoming, "call answered")
	if err := sess.Bye(t.Context()); err != nil {
		t.Fatal(err)
	}
	wait(t, pb.ended, "bye at the callee")
	cs.nextCDR(t)
	cs.noCallLeft(t)
}
