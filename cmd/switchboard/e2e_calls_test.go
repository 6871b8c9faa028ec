package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/internal/baresip"
	"github.com/switchboard-pbx/switchboard/internal/dirstore"
)

// talkTime is how long the end-to-end call lasts: long enough for each
// side to record more than 1.5 s of the other's tone.
const talkTime = 2500 * time.Millisecond

// TestBaresipCallThroughServe is the end-to-end test of a call: two real
// softphones registered to a running `switchboard serve` call each other
// through the B2BUA; each records what it receives, which must be the
// other's tone (so it crossed the relay, not a local loop); the call
// history holds the answered call once serve has stopped.
func TestBaresipCallThroughServe(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("-short: end-to-end test skipped (never under CI=true)")
	}
	bin := buildBinary(t)
	data := t.TempDir()
	users := []e2eUser{
		{"Anna Nowak", "anna@example.com", "10001", "k7#Qm2vLx9", ""},
		{"Piotr Wisniewski", "piotr@example.com", "10002", "Zr4!pW8qTe", ""},
	}
	addUsers(t, bin, data, users)

	// Cleanups run last-in first-out: this one runs after serve (started
	// below) has exited, when every call has ended and written its row.
	var answeredAfter time.Time
	t.Cleanup(func() {
		if !answeredAfter.IsZero() {
			checkCallRow(t, data, answeredAfter)
		}
	})
	sipAddr := serveProcess(t, bin, data)

	anna := baresip.Start(t, baresip.Options{Name: "anna", Tone: 440})
	piotr := baresip.Start(t, baresip.Options{Name: "piotr", Tone: 880})
	registerAs(t, sipAddr, []*baresip.Phone{anna, piotr}, users)

	ctx := t.Context()
	markA, markB := anna.Mark(), piotr.Mark()
	dialed := time.Now().UTC()
	if err := anna.Dial("sip:10002@" + sipAddr); err != nil {
		t.Fatal(err)
	}
	// piotr answers by himself (answermode=auto).
	established(t, anna, markA)
	established(t, piotr, markB)
	answeredAfter = dialed

	// The call has to last: this is its talk time, not a wait for an event.
	talk := time.NewTimer(talkTime)
	select {
	case <-talk.C:
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	if err := anna.Hangup(); err != nil {
		t.Fatal(err)
	}
	closed(t, anna, markA)
	closed(t, piotr, markB)

	// sndfile finalises its WAVs when the call closes.
	for _, side := range []struct {
		p        *baresip.Phone
		peerTone float64
	}{{anna, 880}, {piotr, 440}} {
		checkReceivedTone(t, side.p, side.peerTone)
	}
}

// checkReceivedTone checks the phone's recording of what it received:
// more than 1.5 s, loud, and the peer's tone within 20 Hz.
func checkReceivedTone(t *testing.T, p *baresip.Phone, peerTone float64) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(p.RecDir, "*-dec.wav"))
	if err != nil || len(files) != 1 {
		t.Fatalf("received audio of %s: want one *-dec.wav in %s, got %v (%v)", p.SIPAddr, p.RecDir, files, err)
	}
	rate, samples, err := readWAV16(files[0])
	if err != nil {
		t.Fatalf("%s: %v", files[0], err)
	}
	dur := time.Duration(len(samples)) * time.Second / time.Duration(rate)
	rms := rmsOf(samples)
	freq := dominantFrequency(samples, rate)
	t.Logf("%s received %s of audio, RMS %.0f, dominant %.0f Hz (peer sent %.0f Hz)", filepath.Base(files[0]), dur, rms, freq, peerTone)
	if dur <= 1500*time.Millisecond {
		t.Errorf("%s: %s of received audio, want more than 1.5s", files[0], dur)
	}
	if rms <= 1000 {
		t.Errorf("%s: RMS %.0f, want above 1000 (silence?)", files[0], rms)
	}
	if math.Abs(freq-peerTone) > 20 {
		t.Errorf("%s: dominant frequency %.0f Hz, want the peer's %.0f Hz", files[0], freq, peerTone)
	}
}

// readWAV16 reads a mono 16-bit PCM WAV: its sample rate and samples.
func readWAV16(path string) (int, []int16, error) {
	rate, channels, samples, err := readWAV(path)
	if err == nil && channels != 1 {
		err = fmt.Errorf("want mono, got %d channels", channels)
	}
	return rate, samples, err
}

// readWAV reads a 16-bit PCM WAV: rate, channels and interleaved samples.
// A header whose sizes were never written is read to the end of the file.
func readWAV(path string) (int, int, []int16, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, nil, err
	}
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return 0, 0, nil, errors.New("not a RIFF WAVE file")
	}
	rate, channels, bits := 0, 0, 0
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:off+8]))
		body := b[off+8:]
		if size > len(body) {
			size = len(body) // a header not rewritten at the end
		}
		body = body[:size]
		switch id {
		case "fmt ":
			if size < 16 {
				return 0, 0, nil, errors.New("short fmt chunk")
			}
			if format := binary.LittleEndian.Uint16(body[0:2]); format != 1 {
				return 0, 0, nil, fmt.Errorf("format %d, want PCM", format)
			}
			channels = int(binary.LittleEndian.Uint16(body[2:4]))
			rate = int(binary.LittleEndian.Uint32(body[4:8]))
			bits = int(binary.LittleEndian.Uint16(body[14:16]))
		case "data":
			if rate == 0 || channels < 1 || bits != 16 {
				return 0, 0, nil, fmt.Errorf("want 16-bit PCM, got %d ch %d bit at %d Hz", channels, bits, rate)
			}
			samples := make([]int16, size/2)
			for i := range samples {
				samples[i] = int16(binary.LittleEndian.Uint16(body[2*i:]))
			}
			return rate, channels, samples, nil
		}
		off += 8 + size + size%2
	}
	return 0, 0, nil, errors.New("no data chunk")
}

func rmsOf(samples []int16) float64 {
	if len(samples) == 0 {
		return 0
	}
	var sum float64
	for _, s := range samples {
		sum += float64(s) * float64(s)
	}
	return math.Sqrt(sum / float64(len(samples)))
}

// dominantFrequency returns the strongest frequency between 100 and 3000 Hz
// of one second from the middle of the recording, to 1 Hz (Goertzel).
func dominantFrequency(samples []int16, rate int) float64 {
	if len(samples) > rate {
		mid := len(samples) / 2
		samples = samples[mid-rate/2 : mid-rate/2+rate]
	}
	best, bestPower := 0.0, -1.0
	for f := 100; f <= 3000; f++ {
		if p := tonePower(samples, rate, float64(f)); p > bestPower {
			best, bestPower = float64(f), p
		}
	}
	return best
}

// tonePower is the Goertzel power of freq in samples, per sample.
func tonePower(samples []int16, rate int, freq float64) float64 {
	coeff := 2 * math.Cos(2*math.Pi*freq/float64(rate))
	var s1, s2 float64
	for _, x := range samples {
		s0 := float64(x) + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	n := float64(len(samples))
	return (s1*s1 + s2*s2 - coeff*s1*s2) / (n * n)
}

// checkCallRow reads the call history through the store, after serve has
// exited: one internal call from 10001 to 10002, answered, hung up by the
// caller, with the talk time.
func checkCallRow(t *testing.T, data string, after time.Time) {
	t.Helper()
	ctx := context.Background() // the test's context has ended by now
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
	if len(calls) != 1 {
		t.Errorf("%d call history rows, want 1: %+v", len(calls), calls)
		return
	}
	c := calls[0]
	anna, err := st.UserByExtension(ctx, "10001")
	if err != nil {
		t.Errorf("user 10001: %v", err)
		return
	}
	piotr, err := st.UserByExtension(ctx, "10002")
	if err != nil {
		t.Errorf("user 10002: %v", err)
		return
	}
	if c.From != "10001" || c.To != "10002" || c.Dialed != "10002" || c.CallerID != anna.ID || c.CalleeID != piotr.ID ||
		c.Direction != directory.Internal || c.Disposition != directory.Answered || c.HangupBy != "caller" {
		t.Errorf("call row %+v: want 10001 (user %d) -> 10002 (user %d), internal, answered, hung up by the caller",
			c, anna.ID, piotr.ID)
	}
	if c.StartedAt.Before(after.Add(-time.Second)) || c.AnsweredAt.IsZero() || c.Duration() < talkTime-500*time.Millisecond {
		t.Errorf("call row times: started %s, answered %s, ended %s (duration %s), want talk time about %s",
			c.StartedAt, c.AnsweredAt, c.EndedAt, c.Duration(), talkTime)
	}
	if c.SIPCallID == "" || c.Node == "" {
		t.Errorf("call row without Call-ID or node: %+v", c)
	}
}
