package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/baresip"
)

// TestBaresipSupervisorBargesIn: two real softphones talk through
// `switchboard serve` (440 Hz and 880 Hz); a third, an admin's, dials *33
// and the callee's extension. The supervisor hears both parties, and the
// callee hears the supervisor's 1500 Hz on top of the caller.
func TestBaresipSupervisorBargesIn(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("-short: end-to-end test skipped (never under CI=true)")
	}
	bin := buildBinary(t)
	data := t.TempDir()
	users := []e2eUser{
		{"Anna Nowak", "anna@example.com", "10001", "k7#Qm2vLx9", "agent"},
		{"Piotr Wisniewski", "piotr@example.com", "10002", "Zr4!pW8qTe", "agent"},
		{"Hoa Tran", "hoa@example.com", "10003", "Mq9$eV3nLp", "admin"},
	}
	addUsers(t, bin, data, users)
	sipAddr := serveProcess(t, bin, data)
	phones := []*baresip.Phone{
		baresip.Start(t, baresip.Options{Name: "anna", Tone: 440}),
		baresip.Start(t, baresip.Options{Name: "piotr", Tone: 880}),
		baresip.Start(t, baresip.Options{Name: "hoa", Tone: 1500}),
	}
	registerAs(t, sipAddr, phones, users)
	anna, piotr, hoa := phones[0], phones[1], phones[2]
	ctx := t.Context()
	markA, markB, markS := anna.Mark(), piotr.Mark(), hoa.Mark()
	if err := anna.Dial("sip:10002@" + sipAddr); err != nil {
		t.Fatal(err)
	}
	established(t, anna, markA)
	established(t, piotr, markB)
	if err := hoa.Dial("sip:*3310002@" + sipAddr); err != nil {
		t.Fatal(err)
	}
	established(t, hoa, markS)

	// The supervisor stays on the call for this long: talk time, not a wait.
	talk := time.NewTimer(talkTime)
	select {
	case <-talk.C:
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	if err := hoa.Hangup(); err != nil {
		t.Fatal(err)
	}
	closed(t, hoa, markS)
	if err := anna.Hangup(); err != nil {
		t.Fatal(err)
	}
	closed(t, anna, markA)
	closed(t, piotr, markB)

	tones := func(p *baresip.Phone) ([]int16, int) {
		t.Helper()
		files, err := filepath.Glob(filepath.Join(p.RecDir, "*-dec.wav"))
		if err != nil || len(files) != 1 {
			t.Fatalf("received audio of %s: %v %v", p.SIPAddr, files, err)
		}
		rate, samples, err := readWAV16(files[0])
		if err != nil {
			t.Fatal(err)
		}
		return samples, rate
	}
	// A tone is there when its power stands far above a frequency nobody
	// sends.
	present := func(who string, samples []int16, rate int, freq float64) bool {
		got, ref := tonePower(samples, rate, freq), tonePower(samples, rate, 300)
		t.Logf("%s: %.0f Hz at %.1f× the 300 Hz background", who, freq, got/ref)
		return got > 50*ref
	}
	s, rate := tones(hoa)
	if !present("supervisor", s, rate, 440) || !present("supervisor", s, rate, 880) {
		t.Error("the supervisor did not hear both parties")
	}
	s, rate = tones(piotr)
	if !present("callee", s, rate, 1500) {
		t.Error("the callee did not hear the supervisor barge in")
	}
}
