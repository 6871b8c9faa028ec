package sip

import (
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/media"
)

// The media of a picked-up call: recorded, and transcoded between the
// caller's codec and the picker's.

// TestPickupRecorded: a call recorded by policy is recorded from the
// pickup on, the caller on the left and the picker on the right, and its
// recording belongs to the row that shows the picker.
func TestPickupRecorded(t *testing.T) {
	st, _ := openSQLite(t)
	users := pickupUsers(t, st, "department")
	setSetting(t, st, directory.SettingRecording, "all")
	cs, recs := startRecordingServer(t, st, t.TempDir())
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerRing)
	pp := newCallPhone(t, cs, "10007", answerOK)

	call := ringFrom(t, pa, "10002")
	wait(t, pb.invites, "10002 rings")
	waitRinging(t, cs, "10002")
	sp, err := pp.dial(t.Context(), "*8")
	if err != nil {
		t.Fatalf("*8: %v", err)
	}
	answered(t, call)
	wait(t, pb.cancels, "CANCEL at 10002")
	started := wait(t, recs, "recording row")
	stopA, stopP := pa.hear(calleeSSRC), pp.hear(callerSSRC)
	bothTalk(t, pa, pp, 0, 50, 0, 0)
	if a, p := stopA(), stopP(); a == 0 || p == 0 {
		t.Errorf("packets heard: caller %d, picker %d", a, p)
	}
	if err := sp.Bye(t.Context()); err != nil {
		t.Fatal(err)
	}
	wait(t, pa.ended, "BYE at the caller")
	row := cs.nextCDR(t)
	if row.CalleeID != users["10007"].ID || row.Reason != "picked up by 10007 from 10002" || started.CallID != row.ID {
		t.Errorf("cdr %+v, recording at answer %+v", row, started)
	}
	got := recordingsOf(t, st, row.ID)
	if len(got) != 1 || got[0].State != directory.RecordingDone || got[0].CallerID != users["10001"].ID ||
		got[0].CalleeID != users["10007"].ID {
		t.Fatalf("recordings of the call: %+v", got)
	}
	left, right := wavChannels(t, got[0].Path)
	mid := func(x []int16) []int16 { return x[len(x)/10 : len(x)*9/10] }
	checkTone(t, "left (caller)", mid(left), 440, 1000)
	checkTone(t, "right (picker)", mid(right), 1000, 440)
	cs.noCallLeft(t)
}

// TestPickupTranscodes: the picker's phone speaks only PCMU, the caller's
// only G.722: the picker is answered PCMU, the caller G.722, and the relay
// transcodes. A picker with no codec the relay can give the caller (G.729
// only) gets 488 and the call rings on.
func TestPickupTranscodes(t *testing.T) {
	st, _ := openSQLite(t)
	pickupUsers(t, st, "department")
	cs := startCallServer(t, st, CallConfig{})
	pa := newCallPhone(t, cs, "10001", answerOK)
	pb := newCallPhone(t, cs, "10002", answerRing)
	pp := newCallPhone(t, cs, "10007", answerOK)
	pa.setMedia(g722Only)

	call := ringFrom(t, pa, "10002")
	wait(t, pb.invites, "10002 rings")
	waitRinging(t, cs, "10002")
	pp.setMedia(g729Only)
	if _, err := pp.dial(t.Context(), "*8"); status(err) != 488 {
		t.Errorf("G.729-only pickup: %v, want 488", err)
	}
	pp.setMedia(pcmuOnly)
	sp, err := pp.dial(t.Context(), "*8")
	if err != nil {
		t.Fatalf("*8: %v", err)
	}
	sa := answered(t, call)
	wait(t, pb.cancels, "CANCEL at 10002")
	if ans := string(sp.InviteResponse.Body()); !strings.Contains(ans, " RTP/AVP 0 101\r\n") {
		t.Errorf("answer to the PCMU picker:\n%s", ans)
	}
	if ans := string(sa.InviteResponse.Body()); !strings.Contains(ans, " RTP/AVP 9") || strings.Contains(ans, "PCMU") {
		t.Errorf("answer to the G.722 caller:\n%s", ans)
	}
	va, vp := newVoice(pa, media.G722, 440), newVoice(pp, media.PCMU, 1000)
	exchange(t, va, vp, 50)
	va.checkHeard(t, 1000, 440)
	vp.checkHeard(t, 440, 1000)
	if err := sp.Bye(t.Context()); err != nil {
		t.Fatal(err)
	}
	wait(t, pa.ended, "BYE at the caller")
	cs.nextCDR(t)
	cs.noCallLeft(t)
}
