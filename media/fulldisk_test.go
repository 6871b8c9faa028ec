package media

import (
	"errors"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/smalldisk"
)

// A disk that fills mid-call cuts the recording, and the file is still a
// valid WAV whose header tells its true length (a cut file's header once
// said 10.02 s while the file held 10.49 s).
func TestRecorderFullDiskLeavesValidFile(t *testing.T) {
	dir, ok := smalldisk.Dir(t, "256k") // about 8 s of stereo audio
	if !ok {
		return
	}
	path := filepath.Join(dir, "cut.wav")
	rec, err := NewRecorder(path, RecorderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	a := stream{leg: LegA, codec: PCMU, freq: 440, ssrc: 1, packets: 1000} // 20 s
	b := stream{leg: LegB, codec: PCMU, freq: 1000, ssrc: 2, packets: 1000}
	feed(rec, append(a.tone(), b.tone()...))
	err = rec.Close()
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("close: %v, want a full disk", err)
	}
	w := readWAV(t, path)
	w.checkSizes(t)
	if got := rec.Stats().Duration; got != w.duration() {
		t.Errorf("recorder says %v, file plays %v", got, w.duration())
	}
	if w.duration() < 5e9 {
		t.Errorf("file plays %v: what fitted was dropped", w.duration())
	}
	checkTone(t, "left", w.left, 0, w.duration(), 440, 1000)
	checkTone(t, "right", w.right, 0, w.duration(), 1000, 440)
	t.Logf("cut at %v, %d bytes", w.duration(), w.fileSize)
}
