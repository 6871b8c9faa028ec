package main

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/baresip"
	"github.com/switchboard-pbx/switchboard/internal/linphone"
)

// TestLinphoneCallsBaresip: two independent softphones, Debian's
// linphone-daemon and baresip, registered to `switchboard serve`: linphone
// calls baresip through the B2BUA (answering the PBX's digest challenge
// itself) and plays a 770 Hz tone into the call; baresip hears that tone.
func TestLinphoneCallsBaresip(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("-short: end-to-end test skipped (never under CI=true)")
	}
	bin := buildBinary(t)
	data := t.TempDir()
	users := []e2eUser{
		{"Linda Tran", "linda@example.com", "10001", "Ln7#pQ2vXe", ""},
		{"Bartek Lis", "bartek@example.com", "10002", "Bk4!wR9zTu", ""},
	}
	addUsers(t, bin, data, users)
	sipAddr := serveProcess(t, bin, data)

	bartek := baresip.Start(t, baresip.Options{Name: "bartek", Tone: 880})
	registerAs(t, sipAddr, []*baresip.Phone{nil, bartek}, users)
	linda := linphone.Start(t, "linda")
	ctx := t.Context()
	if err := linda.Account("sip:10001@127.0.0.1", "sip:"+sipAddr, users[0].pw); err != nil {
		t.Fatal(err)
	}

	wav := filepath.Join(t.TempDir(), "tone770.wav")
	writeToneWAV(t, wav, 770, 8000, 6*time.Second)
	mark := bartek.Mark()
	if err := linda.Call(ctx, "sip:10002@"+sipAddr); err != nil {
		t.Fatal(err)
	}
	established(t, bartek, mark)
	if err := linda.Play(wav); err != nil {
		t.Fatal(err)
	}
	// The call has to last: this is its talk time, not a wait for an event.
	talk := time.NewTimer(talkTime)
	select {
	case <-talk.C:
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	if err := linda.Hangup(); err != nil {
		t.Fatal(err)
	}
	closed(t, bartek, mark)
	checkReceivedTone(t, bartek, 770)
}

// writeToneWAV writes a mono 16-bit PCM WAV of a sine at freq Hz.
func writeToneWAV(t *testing.T, path string, freq float64, rate int, d time.Duration) {
	t.Helper()
	n := int(d.Seconds() * float64(rate))
	data := make([]byte, 44+2*n)
	copy(data[0:], "RIFF")
	binary.LittleEndian.PutUint32(data[4:], uint32(36+2*n))
	copy(data[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(data[16:], 16)
	binary.LittleEndian.PutUint16(data[20:], 1)
	binary.LittleEndian.PutUint16(data[22:], 1)
	binary.LittleEndian.PutUint32(data[24:], uint32(rate))
	binary.LittleEndian.PutUint32(data[28:], uint32(2*rate))
	binary.LittleEndian.PutUint16(data[32:], 2)
	binary.LittleEndian.PutUint16(data[34:], 16)
	copy(data[36:], "data")
	binary.LittleEndian.PutUint32(data[40:], uint32(2*n))
	for i := range n {
		v := int16(12000 * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
		binary.LittleEndian.PutUint16(data[44+2*i:], uint16(v))
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestLinphonePicksUp: Anna (baresip) calls Piotr (baresip), whose phone
// rings; Linda, an Admin on Debian's linphone-daemon, answers it with
// directed pickup (**10002). Piotr's phone stops ringing and Anna hears
// Linda's 770 Hz tone through the relay.
func TestLinphonePicksUp(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("-short: end-to-end test skipped (never under CI=true)")
	}
	bin := buildBinary(t)
	data := t.TempDir()
	users := []e2eUser{
		{"Anna Nowak", "anna@example.com", "10001", "k7#Qm2vLx9", ""},
		{"Piotr Wisniewski", "piotr@example.com", "10002", "Zr4!pW8qTe", ""},
		{"Linda Tran", "linda@example.com", "10003", "Ln7#pQ2vXe", "Admin"},
	}
	addUsers(t, bin, data, users)
	sipAddr := serveProcess(t, bin, data)

	anna := baresip.Start(t, baresip.Options{Name: "anna", Tone: 440})
	piotr := baresip.Start(t, baresip.Options{Name: "piotr", Tone: 880, ManualAnswer: true})
	registerAs(t, sipAddr, []*baresip.Phone{anna, piotr}, users)
	linda := linphone.Start(t, "linda")
	ctx := t.Context()
	if err := linda.Account("sip:10003@127.0.0.1", "sip:"+sipAddr, users[2].pw); err != nil {
		t.Fatal(err)
	}
	wav := filepath.Join(t.TempDir(), "tone770.wav")
	writeToneWAV(t, wav, 770, 8000, 6*time.Second)

	markA, markP := anna.Mark(), piotr.Mark()
	if err := anna.Dial("sip:10002@" + sipAddr); err != nil {
		t.Fatal(err)
	}
	if _, err := piotr.WaitEvent(ctx, markP, func(e baresip.Event) bool { return e.Type == "CALL_INCOMING" }); err != nil {
		t.Fatalf("piotr's phone never rang: %v\n%s", err, piotr.Log())
	}
	if err := linda.Call(ctx, "sip:**10002@"+sipAddr); err != nil {
		t.Fatal(err)
	}
	established(t, anna, markA)
	closed(t, piotr, markP)
	if err := linda.Play(wav); err != nil {
		t.Fatal(err)
	}
	talk(t, ctx)
	if err := linda.Hangup(); err != nil {
		t.Fatal(err)
	}
	closed(t, anna, markA)
	checkReceivedTone(t, anna, 770)
}
