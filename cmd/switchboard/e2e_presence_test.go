package main

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/baresip"
)

// TestBaresipPresence: baresip's presence module, with 10002 in its
// contacts, subscribes through a running `switchboard serve` and follows
// 10002: offline, then online once 10002's phone registers, then busy
// while 10002 is in a call, then online again.
func TestBaresipPresence(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("-short: end-to-end test skipped (never under CI=true)")
	}
	bin := buildBinary(t)
	data := t.TempDir()
	users := []e2eUser{
		{"Anna Nowak", "anna@example.com", "10001", "k7#Qm2vLx9", ""},
		{"Piotr Wisniewski", "piotr@example.com", "10002", "Zr4!pW8qTe", ""},
		{"Ewa Kowalska", "ewa@example.com", "10003", "Hq3$vN7mWs", ""},
	}
	addUsers(t, bin, data, users)
	sipAddr := serveProcess(t, bin, data)

	// Anna's phone: registered from its accounts file, subscribed to 10002.
	anna := baresip.Start(t, baresip.Options{Name: "anna",
		Accounts: []string{"<sip:10001@" + sipAddr + ">;auth_pass=" + users[0].pw + ";answermode=auto;regint=600"},
		Contacts: []string{`"Piotr" <sip:10002@` + sipAddr + `>;presence=p2p`}})
	status := func(want string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			r, err := anna.Command("contacts", "")
			if err == nil && strings.Contains(r.Data, want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("presence of 10002 never %q: %q, %v\n%s", want, r.Data, err, anna.Log())
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	status("Offline")
	piotr := baresip.Start(t, baresip.Options{Name: "piotr", Tone: 880})
	ewa := baresip.Start(t, baresip.Options{Name: "ewa", Tone: 660})
	registerAs(t, sipAddr, []*baresip.Phone{nil, piotr, ewa}, users)
	status("Online")

	mark := piotr.Mark()
	if err := piotr.Dial("sip:10003@" + sipAddr); err != nil {
		t.Fatal(err)
	}
	established(t, piotr, mark) // 10003 answers by itself
	status("Busy")
	if err := piotr.Hangup(); err != nil {
		t.Fatal(err)
	}
	closed(t, piotr, mark)
	status("Online")

}
