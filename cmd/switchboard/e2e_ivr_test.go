package main

import (
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/internal/baresip"
)

// TestBaresipIVRThroughDID is the end-to-end test of the auto attendant:
// a real softphone acting as the carrier (on 127.0.0.2,
// the trunk's address) calls an inbound number mapped to a menu; the PBX
// answers with the menu's greeting, the carrier's phone presses 1 (RFC
// 4733, baresip's sndcode), and the extension of option 1, another real
// softphone, answers and hears the carrier's tone through the relay. The
// call history row names the menu and the extension.
func TestBaresipIVRThroughDID(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("-short: end-to-end test skipped (never under CI=true)")
	}
	c := newCLI(t)
	c.ok("", "user", "add", "--name", "Desk", "--email", "desk@example.com", "--extension", "10002",
		"--ext-password", "Desk-pass-1")
	carrier := baresip.Start(t, baresip.Options{Name: "carrier", IP: "127.0.0.2", Tone: 440,
		Accounts: []string{"<sip:carrier@127.0.0.2>;regint=0"}})
	var carrierPort int
	fmt.Sscanf(carrier.SIPAddr, "127.0.0.2:%d", &carrierPort)
	c.ok("", "settings", "set", "trunks", fmt.Sprintf(`[{"name":"carrier","host":"127.0.0.2","port":%d}]`, carrierPort))
	c.ok("", "settings", "set", "dids", `{"+48221000100":"80000"}`)
	m := startMain(t, c, "47300-47399", nil)
	menu := &directory.IVRMenu{Number: "80000", Name: "Reception", DigitTimeout: 10,
		Options: []directory.IVROption{{Digit: "1", Action: directory.IVRExtension, Target: "10002"}}}
	if err := m.Store.CreateIVRMenu(t.Context(), menu); err != nil {
		t.Fatal(err)
	}
	pbx := m.SIPAddr()

	desk := baresip.Start(t, baresip.Options{Name: "desk", Tone: 880})
	registerAs(t, pbx, []*baresip.Phone{desk}, []e2eUser{{"Desk", "desk@example.com", "10002", "Desk-pass-1", ""}})

	markC, markD := carrier.Mark(), desk.Mark()
	if err := carrier.Dial("sip:+48221000100@" + pbx); err != nil {
		t.Fatal(err)
	}
	established(t, carrier, markC) // the menu answered
	// The greeting plays a moment; then the caller presses 1.
	pause := time.NewTimer(500 * time.Millisecond)
	select {
	case <-pause.C:
	case <-t.Context().Done():
		t.Fatal(t.Context().Err())
	}
	if err := carrier.SendDigits("1"); err != nil {
		t.Fatal(err)
	}
	established(t, desk, markD)
	talk := time.NewTimer(talkTime)
	select {
	case <-talk.C:
	case <-t.Context().Done():
		t.Fatal(t.Context().Err())
	}
	if err := carrier.Hangup(); err != nil {
		t.Fatal(err)
	}
	closed(t, carrier, markC)
	closed(t, desk, markD)
	checkReceivedTone(t, desk, 440)

	// The row is written as the call ends; the store is the server's.
	var row directory.Call
	for range 100 {
		calls, err := m.Store.Calls(t.Context(), directory.CallFilter{Vis: directory.Visibility{All: true}, Page: directory.Page{Size: 10}})
		if err != nil {
			t.Fatal(err)
		}
		if len(calls) == 1 && !calls[0].EndedAt.IsZero() {
			row = calls[0]
			break
		}
		time.Sleep(50 * time.Millisecond) // polling: the row has no event of its own here
	}
	if row.Dialed != "+48221000100" || row.To != "10002" || row.Reason != "ivr 80000 option 1" ||
		row.Disposition != directory.Answered || row.Direction != directory.Inbound {
		t.Errorf("call row %+v", row)
	}
}
