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
