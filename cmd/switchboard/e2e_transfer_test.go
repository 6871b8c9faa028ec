package main

import (
	"context"
	"log/slog"
	"os"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/internal/baresip"
	"github.com/switchboard-pbx/switchboard/internal/dirstore"
)

// TestBaresipBlindTransfer: anna calls piotr, piotr presses transfer to
// ewa (baresip's menu "transfer", a REFER); ewa answers, piotr's call
// closes, anna and ewa hear each other's tone through the relay, and the
// history holds the call ended by the transfer and anna's call with ewa.
func TestBaresipBlindTransfer(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("-short: end-to-end test skipped (never under CI=true)")
	}
	bin := buildBinary(t)
	data := t.TempDir()
	users := []e2eUser{
		{"Anna Nowak", "anna@example.com", "10001", "k7#Qm2vLx9", ""},
		{"Piotr Wisniewski", "piotr@example.com", "10002", "Zr4!pW8qTe", ""},
		{"Ewa Kowalska", "ewa@example.com", "10003", "Hq9$wE3rTy", ""},
	}
	addUsers(t, bin, data, users)
	transferred := false
	t.Cleanup(func() { // after serve has exited
		if transferred {
			checkTransferRows(t, data)
		}
	})
	sipAddr := serveProcess(t, bin, data)

	anna := baresip.Start(t, baresip.Options{Name: "anna", Tone: 440})
	piotr := baresip.Start(t, baresip.Options{Name: "piotr", Tone: 880})
	ewa := baresip.Start(t, baresip.Options{Name: "ewa", Tone: 660})
	registerAs(t, sipAddr, []*baresip.Phone{anna, piotr, ewa}, users)
	ctx := t.Context()

	markA, markP, markE := anna.Mark(), piotr.Mark(), ewa.Mark()
	if err := anna.Dial("sip:10002@" + sipAddr); err != nil {
		t.Fatal(err)
	}
	established(t, anna, markA)
	established(t, piotr, markP)
	if _, err := piotr.Command("transfer", "sip:10003@"+sipAddr); err != nil {
		t.Fatal(err)
	}
	established(t, ewa, markE)
	ev := closed(t, piotr, markP)
	t.Logf("transferor's call closed: %q", ev.Param)
	transferred = true
	for _, e := range anna.Events()[markA:] {
		if e.Type == "CALL_CLOSED" {
			t.Fatalf("the transferee's call closed: %q", e.Param)
		}
	}

	talk := time.NewTimer(talkTime)
	select {
	case <-talk.C:
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	markA = anna.Mark()
	if err := anna.Hangup(); err != nil {
		t.Fatal(err)
	}
	closed(t, anna, markA)
	closed(t, ewa, markE)

	// ewa heard anna, through the relay leg that was piotr's, and anna
	// heard ewa: the relay keeps anna's incoming stream one stream across
	// the transfer (same SSRC, sequence numbers and timestamps going on),
	// or baresip's jitter buffer would drop ewa's audio as late.
	checkReceivedTone(t, ewa, 440)
	checkReceivedTone(t, anna, 660)
}

// checkTransferRows reads the history once serve has exited: anna's call
// with piotr ended by the transfer, and anna's call with ewa.
func checkTransferRows(t *testing.T, data string) {
	t.Helper()
	ctx := context.Background()
	st, err := dirstore.Open(ctx, "", data, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Errorf("open the store: %v", err)
		return
	}
	defer st.Close()
	calls, err := st.Calls(ctx, directory.CallFilter{Vis: directory.Visibility{All: true}})
	if err != nil {
		t.Errorf("list calls: %v", err)
		return
	}
	var first, second bool
	for _, c := range calls {
		switch {
		case c.From == "10001" && c.To == "10002" && c.HangupBy == "transfer" && c.Disposition == directory.Answered:
			first = true
		case c.From == "10001" && c.To == "10003" && c.Disposition == directory.Answered && c.HangupBy == "caller":
			second = true
		}
	}
	if !first || !second || len(calls) != 2 {
		t.Errorf("call history after the transfer: %+v", calls)
	}
}
