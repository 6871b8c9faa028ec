package sip

import (
	"strconv"
	"testing"

	"github.com/switchboard-pbx/switchboard/directory"
)

// TestVoicemailPINChangeByPhone: after the messages, 8 and the new PIN
// twice (each with '#') change one's own PIN; two that differ change
// nothing.
func TestVoicemailPINChangeByPhone(t *testing.T) {
	st, _ := openSQLite(t)
	bob := addUser(t, st, "10002")
	enableVoicemail(t, st, bob.ID, "2468")
	cs, _ := voicemailServer(t, st)
	pb := newCallPhone(t, cs, "10002", answerOK)
	pin := func() string {
		t.Helper()
		m, err := st.Mailbox(t.Context(), bob.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"2468", "1357", "1111", "2222"} {
			if directory.CheckPIN(m.PINHash, p) {
				return p
			}
		}
		return "?"
	}
	for _, tc := range []struct{ keys, want string }{
		{"2468#81111#2222#", "2468"}, // the two differ
		{"2468#8135#135#", "2468"},   // too short
		{"2468#81357#1357#", "1357"},
		{"1357#", "1357"}, // no key at the menu: the PBX hangs up
	} {
		if _, err := pb.dial(t.Context(), "*97"); err != nil {
			t.Fatalf("dial *97: %v", err)
		}
		pb.sendDTMF(t, tc.keys)
		heardTones(t, pb) // until the PBX hangs up
		if got := pin(); got != tc.want {
			t.Fatalf("keys %s: the PIN is %s, want %s", tc.keys, got, tc.want)
		}
	}
	log, err := st.AuditLog(t.Context(), directory.AuditFilter{Action: "voicemail.mailbox", Object: "user:" + strconv.FormatInt(bob.ID, 10)})
	if err != nil || len(log) != 1 || log[0].Detail != "pin changed by phone" {
		t.Fatalf("audit %+v %v, want the one change", log, err)
	}
	cs.noCallLeft(t)
}
