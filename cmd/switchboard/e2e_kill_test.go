package main

import (
	"bufio"
	"context"
	"log/slog"
	"math"
	"os"
	"os/exec"
	"regexp"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/internal/baresip"
	"github.com/switchboard-pbx/switchboard/internal/dirstore"
)

// TestRecordingSurvivesKill is the crash test: `switchboard serve` is
// killed with SIGKILL in the middle of a recorded call between two real
// softphones; the next start repairs the unfinished WAV, which then plays
// and holds the caller's tone on the left and the callee's on the right.
func TestRecordingSurvivesKill(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("-short: end-to-end test skipped (never under CI=true)")
	}
	bin := buildBinary(t)
	data := t.TempDir()
	const pwA, pwB = "k7#Qm2vLx9", "Zr4!pW8qTe"
	for _, args := range [][]string{
		{"user", "add", "--name", "Anna", "--email", "anna@example.com", "--extension", "10001", "--ext-password", pwA},
		{"user", "add", "--name", "Piotr", "--email", "piotr@example.com", "--extension", "10002", "--ext-password", pwB},
		{"settings", "set", "recording.policy", "all"},
	} {
		if out, err := exec.CommandContext(t.Context(), bin, append(args, "--data", data)...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}

	// The first serve is killed, so it is started by hand, not by
	// serveProcess (whose cleanup expects a clean exit).
	cmd := exec.Command(bin, "serve", "--data", data, "--sip-addr", "127.0.0.1:0", "--web-addr", "127.0.0.1:0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sipAddr := ""
	re := regexp.MustCompile(`msg="sip listening" addr=(127\.0\.0\.1:\d+) transport=udp`)
	sc := bufio.NewScanner(stderr)
	for sipAddr == "" && sc.Scan() {
		t.Log("serve:", sc.Text())
		if m := re.FindStringSubmatch(sc.Text()); m != nil {
			sipAddr = m[1]
		}
	}
	if sipAddr == "" {
		t.Fatal("serve exited before listening")
	}
	go func() {
		for sc.Scan() {
		}
	}()

	anna := baresip.Start(t, baresip.Options{Name: "anna", Tone: 440})
	piotr := baresip.Start(t, baresip.Options{Name: "piotr", Tone: 880})
	for _, r := range []struct {
		p       *baresip.Phone
		ext, pw string
	}{{anna, "10001", pwA}, {piotr, "10002", pwB}} {
		if ev, err := r.p.Register("sip:"+r.ext+"@"+sipAddr, r.pw); err != nil || ev.Type != "REGISTER_OK" {
			t.Fatalf("register %s: %v %+v", r.ext, err, ev)
		}
	}
	ctx := t.Context()
	mark := anna.Mark()
	if err := anna.Dial("sip:10002@" + sipAddr); err != nil {
		t.Fatal(err)
	}
	ev, err := anna.WaitEvent(ctx, mark, func(e baresip.Event) bool {
		return e.Type == "CALL_ESTABLISHED" || e.Type == "CALL_CLOSED"
	})
	if err != nil || ev.Type != "CALL_ESTABLISHED" {
		t.Fatalf("call not established: %v %+v", err, ev)
	}
	// Talk, then kill the PBX mid-call: this is the talk time, not a wait.
	talk := time.NewTimer(talkTime)
	select {
	case <-talk.C:
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	_ = anna.Hangup()

	// The next start repairs what the killed one left.
	serveProcess(t, bin, data)
	st, err := dirstore.Open(context.Background(), "", data, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	recs, err := st.Recordings(ctx, directory.RecordingFilter{Vis: directory.Visibility{All: true}})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 1 {
		t.Fatalf("%d recordings, want 1: %+v", len(recs), recs)
	}
	rec := recs[0]
	if rec.State != directory.RecordingRepaired {
		t.Errorf("recording state %q after the restart, want %q (%s)", rec.State, directory.RecordingRepaired, rec.Error)
	}
	rate, channels, samples, err := readWAV(rec.Path)
	if err != nil {
		t.Fatalf("repaired %s does not read as WAV: %v", rec.Path, err)
	}
	if channels != 2 || rate != 8000 {
		t.Fatalf("repaired WAV has %d channels at %d Hz, want stereo 8000", channels, rate)
	}
	left := make([]int16, len(samples)/2)
	right := make([]int16, len(samples)/2)
	for i := range left {
		left[i], right[i] = samples[2*i], samples[2*i+1]
	}
	dur := time.Duration(len(left)) * time.Second / 8000
	t.Logf("repaired %s: %s, row says %s", rec.Path, dur, rec.Duration)
	if dur < 1500*time.Millisecond {
		t.Errorf("repaired recording holds %s, want most of the %s talked before the kill", dur, talkTime)
	}
	if f := dominantFrequency(left, 8000); math.Abs(f-440) > 20 {
		t.Errorf("left (caller) channel: %.0f Hz, want 440", f)
	}
	if f := dominantFrequency(right, 8000); math.Abs(f-880) > 20 {
		t.Errorf("right (callee) channel: %.0f Hz, want 880", f)
	}
}
