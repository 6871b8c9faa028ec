package sip

import (
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// TestVoicemailLateOffer: a caller whose INVITE has no SDP leaves a
// message too, when the callee does not answer and when the callee is not
// registered: the mailbox's offer goes in our 200, the caller's answer in
// the ACK, and the greeting starts after it.
func TestVoicemailLateOffer(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	bob, carol := addUser(t, st, "10002"), addUser(t, st, "10003")
	enableVoicemail(t, st, bob.ID, "")
	enableVoicemail(t, st, carol.ID, "")
	cs, vms := voicemailServer(t, st)
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerRing)
	for _, tc := range []struct {
		ext string
		id  int64
	}{{"10002", bob.ID}, {"10003", carol.ID}} { // bob does not answer, carol has no phone
		sess, err := pa.dialLate(t.Context(), tc.ext, pa.answerWith(t))
		if err != nil {
			t.Fatalf("late offer to %s: %v", tc.ext, err)
		}
		if tc.ext == "10002" {
			wait(t, pb.cancels, "cancel at bob's phone")
		}
		awaitBeep(t, pa)
		pa.talk(t, tone{freq: 440, ssrc: 0x4747, n: 25})
		time.Sleep(100 * time.Millisecond)
		if err := sess.Bye(t.Context()); err != nil {
			t.Fatal(err)
		}
		v := wait(t, vms, "the voicemail row of "+tc.ext)
		if v.UserID != tc.id || v.Duration < 400*time.Millisecond {
			t.Fatalf("%s: voicemail row %+v", tc.ext, v)
		}
		if cdr := cs.nextCDR(t); cdr.Disposition != directory.Answered || cdr.CalleeID != tc.id {
			t.Errorf("%s: cdr %+v", tc.ext, cdr)
		}
	}
	// No answer in the ACK: the call ends, no message is kept.
	if _, err := pa.dialLate(t.Context(), "10003", func([]byte) []byte { return nil }); err != nil {
		t.Fatalf("late offer without an answer: %v", err)
	}
	wait(t, pa.ended, "the PBX's BYE after an ACK without an answer")
	if cdr := cs.nextCDR(t); cdr.Disposition != directory.Failed || cdr.Reason != "no sdp answer in ack" {
		t.Errorf("cdr %+v", cdr)
	}
	cs.noCallLeft(t)
	// Its file is gone with the call: carol keeps the one message.
	files, _ := filepath.Glob(filepath.Join(cs.b.RecordingsDir, "voicemail", strconv.FormatInt(carol.ID, 10), "*.wav"))
	if len(files) != 1 {
		t.Fatalf("carol's message files: %v, want the one message", files)
	}
}
