package sip

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/switchboard-pbx/switchboard/directory"
)

// TestQueueSpokenPosition: with queue.prompts naming a directory of
// prompts, a caller hears "you are caller number" (here a 900 Hz tone)
// and their position (1.wav 1300 Hz, 2.wav 1700 Hz); when the caller
// ahead leaves, the second hears their new position, 1.
func TestQueueSpokenPosition(t *testing.T) {
	dir := t.TempDir()
	for name, freq := range map[string]float64{"position.wav": 900, "1.wav": 1300, "2.wav": 1700} {
		b, err := os.ReadFile(toneWAV(t, freq, 400))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	st, _ := openSQLite(t)
	for _, ext := range []string{"10001", "10003", "10004"} {
		addUser(t, st, ext)
	}
	agent := addUser(t, st, "10002")
	if err := st.CreateQueue(t.Context(), &directory.Queue{Number: "18000", Name: "Sales", Members: []int64{agent.ID}}); err != nil {
		t.Fatal(err)
	}
	setSetting(t, st, directory.SettingQueuePrompts, dir)
	cs := startCallServer(t, st, CallConfig{})
	pa, pb, pd := newCallPhone(t, cs, "10001", answerOK), newCallPhone(t, cs, "10002", answerOK), newCallPhone(t, cs, "10004", answerOK)
	agentCode(t, pb, "*60", "Logged In")
	agentCode(t, pb, "*62", "Paused")

	first := callQueue(t, pa)
	hear(t, pa, 900)
	hear(t, pa, 1300)
	second := callQueue(t, pd)
	hear(t, pd, 900)
	hear(t, pd, 1700)
	first.Bye(t.Context())
	cs.nextCDR(t)
	hear(t, pd, 900)
	hear(t, pd, 1300)
	second.Bye(t.Context())
	cs.nextCDR(t)
	cs.noCallLeft(t)
}
