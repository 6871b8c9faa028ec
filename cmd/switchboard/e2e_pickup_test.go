package main

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/internal/baresip"
	"github.com/switchboard-pbx/switchboard/internal/dirstore"
)

// TestBaresipPickupAndPark: real softphones through a running `switchboard
// serve`. Anna calls Piotr, whose phone rings (manual answer); Ewa, an
// Admin, picks the call up with **10002, and Piotr's phone stops ringing.
// Ewa and Anna talk; Ewa parks Anna with a blind transfer to *70; Piotr
// dials orbit 701 and talks with Anna. Ewa and Piotr each hear Anna's tone;
// the call history tells the story.
func TestBaresipPickupAndPark(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("-short: end-to-end test skipped (never under CI=true)")
	}
	bin := buildBinary(t)
	data := t.TempDir()
	users := []e2eUser{
		{"Anna Nowak", "anna@example.com", "10001", "k7#Qm2vLx9", ""},
		{"Piotr Wisniewski", "piotr@example.com", "10002", "Zr4!pW8qTe", ""},
		{"Ewa Kowalska", "ewa@example.com", "10003", "Hq3$vN7mWs", "Admin"},
	}
	addUsers(t, bin, data, users)
	t.Cleanup(func() { checkPickupParkRows(t, data) }) // after serve has stopped
	sipAddr := serveProcess(t, bin, data)

	anna := baresip.Start(t, baresip.Options{Name: "anna", Tone: 440})
	piotr := baresip.Start(t, baresip.Options{Name: "piotr", Tone: 880, ManualAnswer: true})
	ewa := baresip.Start(t, baresip.Options{Name: "ewa", Tone: 660})
	registerAs(t, sipAddr, []*baresip.Phone{anna, piotr, ewa}, users)

	ctx := t.Context()
	markA, markP, markE := anna.Mark(), piotr.Mark(), ewa.Mark()
	if err := anna.Dial("sip:10002@" + sipAddr); err != nil {
		t.Fatal(err)
	}
	if _, err := piotr.WaitEvent(ctx, markP, func(e baresip.Event) bool { return e.Type == "CALL_INCOMING" }); err != nil {
		t.Fatalf("piotr's phone never rang: %v\n%s", err, piotr.Log())
	}
	if err := ewa.Dial("sip:**10002@" + sipAddr); err != nil {
		t.Fatal(err)
	}
	established(t, ewa, markE)
	established(t, anna, markA)
	closed(t, piotr, markP) // cancelled: the call was picked up
	talk(t, ctx)

	markP = piotr.Mark()
	if _, err := ewa.Command("transfer", "sip:*70@"+sipAddr); err != nil {
		t.Fatal(err)
	}
	closed(t, ewa, markE)
	if err := piotr.Dial("sip:701@" + sipAddr); err != nil {
		t.Fatal(err)
	}
	established(t, piotr, markP)
	talk(t, ctx)
	for _, e := range anna.Events()[markA:] {
		if e.Type == "CALL_CLOSED" {
			t.Fatalf("anna's call closed while parked or retrieved: %q", e.Param)
		}
	}
	if err := anna.Hangup(); err != nil {
		t.Fatal(err)
	}
	closed(t, anna, markA)
	closed(t, piotr, markP)
	checkReceivedTone(t, ewa, 440)
	checkLongestReceivedTone(t, piotr, 440)
}

// talk lets a call run for talkTime.
func talk(t *testing.T, ctx context.Context) {
	t.Helper()
	tm := time.NewTimer(talkTime)
	defer tm.Stop()
	select {
	case <-tm.C:
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
}

func checkPickupParkRows(t *testing.T, data string) {
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
	for _, c := range calls {
		t.Logf("row: %s -> %s (dialed %s) %s hangup by %q reason %q", c.From, c.To, c.Dialed, c.Disposition, c.HangupBy, c.Reason)
	}
	var picked, retrieved bool
	for _, c := range calls {
		picked = picked || (c.From == "10001" && c.To == "10003" && c.Disposition == directory.Answered)
		retrieved = retrieved || (c.From == "10001" && c.To == "10002" && c.Disposition == directory.Answered && c.HangupBy != "")
	}
	if !picked || !retrieved {
		t.Errorf("call history without the picked up call (%v) or the retrieved one (%v)", picked, retrieved)
	}
}

// checkLongestReceivedTone is checkReceivedTone on the longest of the
// phone's recordings of what it received (a phone that rang before has
// one of that call too).
func checkLongestReceivedTone(t *testing.T, p *baresip.Phone, peerTone float64) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(p.RecDir, "*-dec.wav"))
	var longest string
	var size int64
	for _, f := range files {
		if fi, err := os.Stat(f); err == nil && fi.Size() > size {
			longest, size = f, fi.Size()
		}
	}
	for _, f := range files {
		if f != longest {
			os.Remove(f)
		}
	}
	checkReceivedTone(t, p, peerTone)
}
