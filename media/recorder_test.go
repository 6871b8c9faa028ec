package media

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

var callStart = time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC)

// stream describes what one leg sends: a tone in 20 ms packets.
type stream struct {
	leg     Leg
	codec   Codec
	freq    float64
	ssrc    uint32
	seq     uint16
	ts      uint32
	start   time.Duration // send time of the first packet, from callStart
	packets int
}

// event is one packet on its way to the recorder.
type event struct {
	leg Leg
	p   Packet
}

// tone returns the stream's packets with their ideal arrival times; the
// phase runs on with the packet index, as it would in a phone.
func (s stream) tone() []event {
	var ev []event
	pcm := make([]int16, 160)
	var enc *G722Encoder // G.722: the tone at 16 kHz
	pcm16 := make([]int16, 320)
	if s.codec == G722 {
		enc = NewG722Encoder()
	}
	for i := range s.packets {
		for j := range pcm {
			n := float64(i*160 + j)
			pcm[j] = int16(8000 * math.Sin(2*math.Pi*s.freq*n/sampleRate))
		}
		payload := make([]byte, 160)
		if enc != nil {
			for j := range pcm16 {
				n := float64(i*320 + j)
				pcm16[j] = int16(8000 * math.Sin(2*math.Pi*s.freq*n/(2*sampleRate)))
			}
			enc.Encode(payload, pcm16)
		} else {
			s.codec.Encode(payload, pcm)
		}
		ev = append(ev, event{s.leg, Packet{
			PayloadType:    uint8(s.codec),
			SequenceNumber: s.seq + uint16(i),
			Timestamp:      s.ts + uint32(i*160),
			SSRC:           s.ssrc,
			Payload:        payload,
			Arrival:        callStart.Add(s.start + time.Duration(i)*20*time.Millisecond),
		}})
	}
	return ev
}

// jitter delays every packet by up to max, in a repeatable way.
func jitter(ev []event, seed uint64, max time.Duration) {
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := range ev {
		ev[i].p.Arrival = ev[i].p.Arrival.Add(time.Duration(rng.Int64N(int64(max))))
	}
}

// feed hands the events to rec in arrival order, as a relay would.
func feed(rec *Recorder, ev []event) {
	slices.SortStableFunc(ev, func(a, b event) int { return a.p.Arrival.Compare(b.p.Arrival) })
	for i := range ev {
		rec.RTP(ev[i].leg, &ev[i].p)
	}
}

type wavFileData struct {
	riffSize, dataSize uint32
	fileSize           int64
	left, right        []int16
}

// readWAV reads a recording and checks that its header is the canonical one.
func readWAV(t *testing.T, path string) wavFileData {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < wavHeadSize {
		t.Fatalf("%d bytes: no header", len(b))
	}
	le := binary.LittleEndian
	want := wavHeader(le.Uint32(b[40:]))
	if string(b[:4]) != string(want[:4]) || string(b[8:40]) != string(want[8:40]) {
		t.Fatalf("header %x, want %x", b[:wavHeadSize], want)
	}
	w := wavFileData{riffSize: le.Uint32(b[4:]), dataSize: le.Uint32(b[40:]), fileSize: int64(len(b))}
	data := b[wavHeadSize:]
	if int(w.dataSize) < len(data) {
		data = data[:w.dataSize]
	}
	for i := 0; i+4 <= len(data); i += 4 {
		w.left = append(w.left, int16(le.Uint16(data[i:])))
		w.right = append(w.right, int16(le.Uint16(data[i+2:])))
	}
	return w
}

func (w wavFileData) checkSizes(t *testing.T) {
	t.Helper()
	if int64(w.dataSize)+wavHeadSize != w.fileSize || w.riffSize != w.dataSize+36 || w.dataSize%4 != 0 {
		t.Errorf("file %d bytes, riff size %d, data size %d: inconsistent", w.fileSize, w.riffSize, w.dataSize)
	}
}

func (w wavFileData) duration() time.Duration {
	return time.Duration(len(w.left)) * time.Second / sampleRate
}

// goertzel returns the power of freq in x, normalised by its length.
func goertzel(x []int16, freq float64) float64 {
	if len(x) == 0 {
		return 0
	}
	coeff := 2 * math.Cos(2*math.Pi*freq/sampleRate)
	var s1, s2 float64
	for _, v := range x {
		s0 := float64(v) + coeff*s1 - s2
		s2, s1 = s1, s0
	}
	n := float64(len(x))
	return (s1*s1 + s2*s2 - coeff*s1*s2) / (n * n)
}

// window returns x between from and to.
func window(x []int16, from, to time.Duration) []int16 {
	i := min(int(from*sampleRate/time.Second), len(x))
	j := min(int(to*sampleRate/time.Second), len(x))
	return x[i:j]
}

// checkTone checks that x between from and to holds freq and not other.
func checkTone(t *testing.T, name string, x []int16, from, to time.Duration, freq, other float64) {
	t.Helper()
	w := window(x, from, to)
	p, q := goertzel(w, freq), goertzel(w, other)
	// A full-scale-8000 sine gives (8000/2)² = 16e6.
	if p < 4e6 || p < 100*q {
		t.Errorf("%s %v-%v: %.0f Hz power %.3g, %.0f Hz power %.3g", name, from, to, freq, p, other, q)
	}
}

func checkSilent(t *testing.T, name string, x []int16, from, to time.Duration) {
	t.Helper()
	for i, v := range window(x, from, to) {
		if v != 0 {
			t.Errorf("%s: sample %d after %v is %d, want silence", name, i, from, v)
			return
		}
	}
}

func newTestRecorder(t *testing.T) (*Recorder, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "call.wav")
	rec, err := NewRecorder(path, RecorderConfig{})
	if err != nil {
		t.Fatal(err)
	}
	return rec, path
}

func near(got, want time.Duration) bool {
	return got > want-60*time.Millisecond && got < want+60*time.Millisecond
}

func TestRecorderTwoTones(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name           string
		drop, reorder  float64
		lateMax        uint64
		codecA, codecB Codec
	}{
		{"clean, pcmu and pcma", 0, 0, 0, PCMU, PCMA},
		{"5% dropped and 5% reordered", 0.05, 0.05, 0, PCMA, PCMU},
		{"clean, g722 and pcmu", 0, 0, 0, G722, PCMU},
		{"5% dropped, g722 and pcma", 0.05, 0, 0, PCMA, G722},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a := stream{leg: LegA, codec: tt.codecA, freq: 440, ssrc: 0xA, seq: 65000, ts: 4294960000, packets: 150}
			b := stream{leg: LegB, codec: tt.codecB, freq: 1000, ssrc: 0xB, seq: 7, ts: 12345, start: 7 * time.Millisecond, packets: 150}
			ev := append(a.tone(), b.tone()...)
			jitter(ev, 1, 30*time.Millisecond)
			rng := rand.New(rand.NewPCG(2, 2))
			kept := ev[:0]
			dropped := 0
			for _, e := range ev {
				switch x := rng.Float64(); {
				case x < tt.drop:
					dropped++
					continue
				case x < tt.drop+tt.reorder:
					// Held back behind the next two or three packets.
					e.p.Arrival = e.p.Arrival.Add(time.Duration(40+rng.IntN(30)) * time.Millisecond)
				}
				kept = append(kept, e)
			}
			if tt.drop > 0 && dropped == 0 {
				t.Fatal("no packet dropped")
			}
			rec, path := newTestRecorder(t)
			feed(rec, kept)
			if err := rec.Close(); err != nil {
				t.Fatal(err)
			}

			w := readWAV(t, path)
			w.checkSizes(t)
			if d := w.duration(); !near(d, 3*time.Second) {
				t.Errorf("duration %v, want 3s", d)
			}
			checkTone(t, "left", w.left, 0, 3*time.Second, 440, 1000)
			checkTone(t, "right", w.right, 0, 3*time.Second, 1000, 440)
			for s := time.Duration(0); s < 3*time.Second; s += 500 * time.Millisecond {
				checkTone(t, "left", w.left, s, s+500*time.Millisecond, 440, 1000)
				checkTone(t, "right", w.right, s, s+500*time.Millisecond, 1000, 440)
			}
			st := rec.Stats()
			if st.Packets != uint64(len(kept)) || st.Late != 0 || st.Jumps != 0 {
				t.Errorf("stats %+v, want %d packets placed, none late, no jumps", st, len(kept))
			}
			if st.Duration != w.duration() {
				t.Errorf("stats duration %v, file %v", st.Duration, w.duration())
			}
		})
	}
}

// A loss leaves silence exactly where the packet belonged.
func TestRecorderLossIsSilenceInPlace(t *testing.T) {
	t.Parallel()
	a := stream{leg: LegA, codec: PCMU, freq: 440, ssrc: 1, packets: 50}
	ev := a.tone()
	ev = append(ev[:20], ev[21:]...) // 400-420 ms lost
	ev[20], ev[21] = ev[21], ev[20]  // and the next two swapped
	rec, path := newTestRecorder(t)
	feed(rec, ev)
	rec.Close()
	w := readWAV(t, path)
	checkSilent(t, "lost packet", w.left, 400*time.Millisecond, 420*time.Millisecond)
	checkTone(t, "after", w.left, 420*time.Millisecond, time.Second, 440, 1000)
	checkSilent(t, "right", w.right, 0, time.Second)
}

func TestRecorderTimestampJumps(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		// where leg a's timestamps resume after a 2 s hold, relative to
		// where they stopped
		tsAfterHold uint32
		ssrc        uint32
	}{
		{"timestamps ran on through the hold", 2 * sampleRate, 0xA},
		{"timestamps stood still", 0, 0xA},
		{"timestamps jumped forward", 123456789, 0xA},
		{"timestamps jumped back", 1<<32 - 5*sampleRate, 0xA},
		{"a new ssrc with its own timestamps", 987654, 0xA2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			a1 := stream{leg: LegA, codec: PCMU, freq: 440, ssrc: 0xA, seq: 100, ts: 5000, packets: 50}
			a2 := a1
			a2.ssrc = tt.ssrc
			a2.seq = a1.seq + 50
			a2.ts = a1.ts + 50*160 + tt.tsAfterHold
			a2.start = 3 * time.Second
			b := stream{leg: LegB, codec: PCMA, freq: 1000, ssrc: 0xB, packets: 200}
			ev := append(append(a1.tone(), a2.tone()...), b.tone()...)
			jitter(ev, 3, 20*time.Millisecond)
			rec, path := newTestRecorder(t)
			feed(rec, ev)
			rec.Close()

			w := readWAV(t, path)
			w.checkSizes(t)
			if d := w.duration(); !near(d, 4*time.Second) {
				t.Errorf("duration %v, want 4s", d)
			}
			checkTone(t, "left before hold", w.left, 0, time.Second-40*time.Millisecond, 440, 1000)
			checkSilent(t, "left on hold", w.left, time.Second+60*time.Millisecond, 3*time.Second-60*time.Millisecond)
			checkTone(t, "left after hold", w.left, 3*time.Second+60*time.Millisecond, 4*time.Second-60*time.Millisecond, 440, 1000)
			checkTone(t, "right", w.right, 0, 4*time.Second, 1000, 440)
			// The tone comes back at 3 s on the shared timeline.
			resumed := time.Duration(0)
			for i, v := range window(w.left, 1500*time.Millisecond, 4*time.Second) {
				if v != 0 {
					resumed = 1500*time.Millisecond + time.Duration(i)*time.Second/sampleRate
					break
				}
			}
			if !near(resumed, 3*time.Second) {
				t.Errorf("left resumed at %v, want 3s", resumed)
			}
		})
	}
}

func TestRecorderSkipsTelephoneEvents(t *testing.T) {
	t.Parallel()
	a := stream{leg: LegA, codec: PCMU, freq: 440, ssrc: 1, packets: 100}
	ev := a.tone()
	// 0.6-1.0 s: the phone sends RFC 4733 events for digit 1 instead of audio.
	for i := 30; i < 50; i++ {
		ev[i].p.PayloadType = 101
		ev[i].p.Timestamp = ev[30].p.Timestamp
		ev[i].p.Payload = []byte{1, 10, 0, byte(i)}
	}
	// Comfort noise (RFC 3389) is not audio either.
	ev[60].p.PayloadType = 13
	ev[60].p.Payload = []byte{40}
	rec, path := newTestRecorder(t)
	feed(rec, ev)
	rec.Close()
	w := readWAV(t, path)
	checkTone(t, "before", w.left, 0, 600*time.Millisecond, 440, 1000)
	checkSilent(t, "digit", w.left, 600*time.Millisecond, time.Second)
	checkSilent(t, "comfort noise", w.left, 1200*time.Millisecond, 1220*time.Millisecond)
	checkTone(t, "after", w.left, time.Second, 1200*time.Millisecond, 440, 1000)
	if st := rec.Stats(); st.Skipped != 21 || st.Packets != 79 {
		t.Errorf("stats %+v, want 21 skipped and 79 placed", st)
	}
}

func TestRecorderCodecMap(t *testing.T) {
	t.Parallel()
	a := stream{leg: LegA, codec: PCMA, freq: 440, ssrc: 1, packets: 25}
	ev := a.tone()
	for i := range ev {
		ev[i].p.PayloadType = 96 // PCMA/8000 on a dynamic type
	}
	path := filepath.Join(t.TempDir(), "call.wav")
	rec, err := NewRecorder(path, RecorderConfig{Codecs: map[uint8]Codec{96: PCMA}})
	if err != nil {
		t.Fatal(err)
	}
	feed(rec, ev)
	rec.Close()
	checkTone(t, "left", readWAV(t, path).left, 0, 500*time.Millisecond, 440, 1000)
}

func TestRecorderHeaderStaysCurrentAndRepair(t *testing.T) {
	t.Parallel()
	a := stream{leg: LegA, codec: PCMU, freq: 440, ssrc: 1, packets: 250}
	b := stream{leg: LegB, codec: PCMU, freq: 1000, ssrc: 2, packets: 250}
	rec, path := newTestRecorder(t)
	defer rec.Close()
	feed(rec, append(a.tone(), b.tone()...)) // 5 s, not closed: the process "crashes" here

	// The header names what is in the file as of its last update (every 2 s).
	w := readWAV(t, path)
	if w.dataSize < 4*sampleRate*frameBytes || int64(w.dataSize)+wavHeadSize > w.fileSize || w.riffSize != w.dataSize+36 {
		t.Fatalf("live header: riff %d data %d, file %d bytes", w.riffSize, w.dataSize, w.fileSize)
	}

	// What a crash leaves: the bytes written so far, the last frame cut.
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	crashed := filepath.Join(t.TempDir(), "crashed.wav")
	if err := os.WriteFile(crashed, raw[:len(raw)-3], 0o600); err != nil {
		t.Fatal(err)
	}
	if err := RepairWAV(crashed); err != nil {
		t.Fatal(err)
	}
	w = readWAV(t, crashed)
	w.checkSizes(t)
	if w.fileSize != int64(len(raw)-4) {
		t.Errorf("repaired file %d bytes, want %d (the cut frame dropped)", w.fileSize, len(raw)-4)
	}
	d := w.duration()
	if d < 4*time.Second {
		t.Errorf("repaired recording plays %v, want at least 4s", d)
	}
	checkTone(t, "left", w.left, 0, d, 440, 1000)
	checkTone(t, "right", w.right, 0, d, 1000, 440)

	// A finished file is left alone.
	before, _ := os.ReadFile(crashed)
	if err := RepairWAV(crashed); err != nil {
		t.Fatal(err)
	}
	if after, _ := os.ReadFile(crashed); string(after) != string(before) {
		t.Error("repairing a sound file changed it")
	}
}

func TestRepairWAVRejectsOtherFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	h := wavHeader(0)
	noData := append([]byte(nil), h[:36]...)
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"text", []byte("hello, this is not a wav file at all, not even close")},
		{"riff but not wave", append([]byte("RIFF\x00\x00\x00\x00AVI "), h[12:]...)},
		{"no data chunk", noData},
	}
	for _, tt := range tests {
		path := filepath.Join(dir, tt.name)
		if err := os.WriteFile(path, tt.data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := RepairWAV(path); err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
	if err := RepairWAV(filepath.Join(dir, "missing")); err == nil {
		t.Error("missing file: no error")
	}
}

func TestRecorderCloseAndAfter(t *testing.T) {
	t.Parallel()
	rec, path := newTestRecorder(t)
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	if err := rec.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	a := stream{leg: LegA, codec: PCMU, freq: 440, ssrc: 1, packets: 5}
	feed(rec, a.tone()) // a relay's tap may still call once after SetTap(nil)
	w := readWAV(t, path)
	w.checkSizes(t)
	if len(w.left) != 0 {
		t.Errorf("%d frames in a recording closed before any packet", len(w.left))
	}
	if _, err := NewRecorder(path, RecorderConfig{}); err == nil {
		t.Error("NewRecorder over an existing file: no error")
	}
}

// Through a real relay: the tap feeds the recorder both directions.
func TestRecorderOnRelay(t *testing.T) {
	t.Parallel()
	r, a, b := connectedRelay(t, RelayConfig{})
	rec, path := newTestRecorder(t)
	r.SetTap(rec)
	// Sent as fast as the relay turns them round, so arrival times are all
	// but equal: timestamps alone place the audio.
	sa := stream{leg: LegA, codec: PCMU, freq: 440, ssrc: 0xA, packets: 10}.tone()
	sb := stream{leg: LegB, codec: PCMA, freq: 1000, ssrc: 0xB, packets: 10}.tone()
	for i := range sa {
		pa, pb := sa[i].p, sb[i].p
		a.send(r.Local(LegA), rtpPacket(pa.PayloadType, pa.SequenceNumber, pa.Timestamp, pa.SSRC, false, pa.Payload))
		b.recv()
		b.send(r.Local(LegB), rtpPacket(pb.PayloadType, pb.SequenceNumber, pb.Timestamp, pb.SSRC, false, pb.Payload))
		a.recv()
	}
	r.SetTap(nil)
	rec.Close()
	w := readWAV(t, path)
	w.checkSizes(t)
	if d := w.duration(); !near(d, 200*time.Millisecond) {
		t.Errorf("duration %v, want 200ms", d)
	}
	checkTone(t, "left", w.left, 0, 200*time.Millisecond, 440, 1000)
	checkTone(t, "right", w.right, 0, 200*time.Millisecond, 1000, 440)
}

// NewRecorderLater: the file (and its missing directory) is made by the
// recorder; the recording is the one NewRecorder would have made. A file
// that cannot be made shows as Close's error, and no file is left.
func TestRecorderLater(t *testing.T) {
	t.Parallel()
	a := stream{leg: LegA, codec: PCMU, freq: 440, ssrc: 0xA, packets: 100}
	b := stream{leg: LegB, codec: PCMA, freq: 1000, ssrc: 0xB, start: 5 * time.Millisecond, packets: 100}
	ev := append(a.tone(), b.tone()...)

	path := filepath.Join(t.TempDir(), "2026", "01", "01", "call.wav")
	rec := NewRecorderLater(path, RecorderConfig{})
	feed(rec, ev)
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	w := readWAV(t, path)
	w.checkSizes(t)
	if d := w.duration(); !near(d, 2*time.Second) {
		t.Errorf("duration %v, want 2s", d)
	}
	checkTone(t, "left", w.left, 0, 2*time.Second, 440, 1000)
	checkTone(t, "right", w.right, 0, 2*time.Second, 1000, 440)

	// A file where the directory should be.
	blocker := filepath.Join(t.TempDir(), "recordings")
	if err := os.WriteFile(blocker, []byte("not a directory"), 0o600); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(blocker, "call.wav")
	rec = NewRecorderLater(bad, RecorderConfig{})
	feed(rec, ev)
	if err := rec.Close(); err == nil {
		t.Error("Close: no error for a file that could not be created")
	}
	if _, err := os.Stat(bad); err == nil {
		t.Error("a file was left where none could be made")
	}
}

// writeLog is a wavFile that keeps where each Write went.
type writeLog struct {
	countingFile
	writes [][2]int64 // offset and length
}

func (w *writeLog) Write(b []byte) (int, error) {
	w.writes = append(w.writes, [2]int64{w.size, int64(len(b))})
	return w.countingFile.Write(b)
}

// The samples go to the file in whole blocks (the first one less the
// header), 16 KiB while the call is all G.711, never a write starting or
// ending inside a page but the last, at Close: the kernel takes a block
// whole for less than pages that the writes before and after share. The
// header's updates do not cut a block short either.
func TestRecorderWritesWholeBlocks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		ev   func() []event
	}{
		{"clean", func() []event {
			return append(stream{leg: LegA, codec: PCMU, freq: 440, ssrc: 1, packets: 500}.tone(),
				stream{leg: LegB, codec: PCMA, freq: 1000, ssrc: 2, start: 3 * time.Millisecond, packets: 500}.tone()...)
		}},
		{"first packet late, jitter", func() []event {
			ev := append(stream{leg: LegA, codec: PCMU, freq: 440, ssrc: 1, packets: 500}.tone(),
				stream{leg: LegB, codec: PCMA, freq: 1000, ssrc: 2, packets: 500}.tone()...)
			ev[0].p.Arrival = ev[0].p.Arrival.Add(17 * time.Millisecond)
			jitter(ev[1:], 4, 50*time.Millisecond)
			return ev
		}},
	}
	const block = codeBlockFrames * frameBytes
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := new(writeLog)
			rec, err := newRecorder(f, RecorderConfig{})
			if err != nil {
				t.Fatal(err)
			}
			feed(rec, tt.ev())
			if err := rec.Close(); err != nil {
				t.Fatal(err)
			}
			w := f.writes[1:] // after the header
			if len(w) < 4 {
				t.Fatalf("%d writes of samples for 10 s", len(w))
			}
			for i, wr := range w[:len(w)-1] {
				if end := wr[0] + wr[1]; end%block != 0 || (i > 0 && wr[0]%block != 0) {
					t.Errorf("write %d of %d: bytes %d to %d, want whole blocks of %d", i+1, len(w), wr[0], end, block)
				}
			}
		})
	}
}
