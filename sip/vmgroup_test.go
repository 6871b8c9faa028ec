package sip

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/internal/smtptest"
)

// TestVoicemailGroupLampMailAndPhone: a group's mailbox is its members':
// a member's phone watches its lamp on the group number, gets the e-mail
// copy and hears it by *97 and the group number with the group's PIN. A
// member recordings.listen does not let hear it, and someone outside the
// group, get none of this.
func TestVoicemailGroupLampMailAndPhone(t *testing.T) {
	srv := smtptest.Start(t, smtptest.Options{})
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	bob, carol := addUser(t, st, "10002"), addUser(t, st, "10003")
	addUser(t, st, "10004") // dave, not in the group
	if err := st.SetOverrides(t.Context(), carol.ID, map[string]string{"calls.outbound": "any", "recordings.listen": "none"}); err != nil {
		t.Fatal(err)
	}
	g := addGroup(t, st, "Sales", "16000", bob.ID, carol.ID)
	h, err := directory.HashPIN("1357")
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetMailbox(t.Context(), &directory.Mailbox{GroupID: g.ID, Enabled: true, ToEmail: true, PINHash: h}); err != nil {
		t.Fatal(err)
	}
	for k, v := range map[string]string{directory.SettingSMTPHost: srv.Host, directory.SettingSMTPPort: strconv.Itoa(srv.Port),
		directory.SettingSMTPSecurity: "none", directory.SettingMailFrom: "PBX <pbx@example.com>"} {
		setSetting(t, st, k, v)
	}
	cs, vms := voicemailServer(t, st)
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerRing)
	pc := newCallPhone(t, cs, "10003", answerRing)
	pd := newCallPhone(t, cs, "10004", answerOK)

	// The lamp: bob may watch the group's mailbox; carol and dave may not.
	_, res := subscribeTo(t, pb, "16000", "message-summary", 600)
	wantStatus(t, res, 200)
	if body := string(nextNotify(t, pb).Body()); !strings.Contains(body, "Voice-Message: 0/0") {
		t.Fatalf("first NOTIFY of the group's mailbox:\n%s", body)
	}
	_, res = subscribeTo(t, pc, "16000", "message-summary", 600)
	wantStatus(t, res, 403)
	_, res = subscribeTo(t, pd, "16000", "message-summary", 600)
	wantStatus(t, res, 403)
	_, res = subscribeTo(t, pd, "16999", "message-summary", 600) // no one's number
	wantStatus(t, res, 403)

	// Nobody answers the group: a message in its mailbox.
	sess, err := pa.dial(t.Context(), "16000")
	if err != nil {
		t.Fatalf("dial the group: %v", err)
	}
	wait(t, pb.cancels, "cancel at bob")
	awaitBeep(t, pa)
	pa.talk(t, tone{freq: 680, ssrc: 0x4646, n: 25})
	time.Sleep(100 * time.Millisecond)
	if err := sess.Bye(t.Context()); err != nil {
		t.Fatal(err)
	}
	v := wait(t, vms, "the group's voicemail row")
	if v.GroupID != g.ID || v.UserID != 0 {
		t.Fatalf("voicemail row %+v", v)
	}
	cs.nextCDR(t)
	if n := notifyUntil(t, pb, "Voice-Message: 1/0"); !strings.Contains(string(n.Body()), "Messages-Waiting: yes") {
		t.Fatalf("NOTIFY after the message:\n%s", n.Body())
	}
	// The e-mail copy: bob's alone.
	if m := srv.Wait(t, 1)[0]; m.To != bob.Email || !strings.Contains(m.Body, "your group") {
		t.Fatalf("mail to %s:\n%.300s", m.To, m.Body)
	}

	// By phone: dave is refused, a number of no group is not found, bob
	// hears the message with the group's PIN.
	if _, err := pd.dial(t.Context(), "*9716000"); status(err) != 403 {
		t.Fatalf("*9716000 from outside the group: %v", err)
	}
	if _, err := pd.dial(t.Context(), "*9716999"); status(err) != 404 {
		t.Fatalf("*97 and no group's number: %v", err)
	}
	pr := newCallPhone(t, cs, "10002", answerOK) // bob's second phone, for the mailbox call
	if _, err := pr.dial(t.Context(), "*9716000"); err != nil {
		t.Fatalf("dial *9716000: %v", err)
	}
	pr.sendDTMF(t, "1357#")
	tones := heardTones(t, pr)
	if !slices.Contains(tones, 680) {
		t.Fatalf("heard %v, want the 680 Hz message", tones)
	}
	if got, err := st.Voicemail(t.Context(), v.ID); err != nil || !got.Heard {
		t.Fatalf("message not marked heard: %+v %v", got, err)
	}
	if n := notifyUntil(t, pb, "Voice-Message: 0/1"); !strings.Contains(string(n.Body()), "Messages-Waiting: no") {
		t.Fatalf("NOTIFY after the message was heard:\n%s", n.Body())
	}
	if n := srv.Count(); n != 1 {
		t.Fatalf("%d mails, want bob's alone", n)
	}
	cs.noCallLeft(t)
}
