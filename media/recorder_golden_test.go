package media

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// The recordings of a set of calls, clean and rough, are the bytes they
// were when testdata/recorder.golden was written (their SHA-256): a change
// to how the recorder keeps and writes its frames must leave every byte
// of every file as it was.
func TestRecorderGolden(t *testing.T) {
	pcmu := func(leg Leg, freq float64, ssrc uint32, packets int) stream {
		return stream{leg: leg, codec: PCMU, freq: freq, ssrc: ssrc, seq: uint16(ssrc * 77), ts: ssrc * 1e6, packets: packets}
	}
	// reorder holds back a share of the packets by 40-70 ms, drops a share.
	rough := func(ev []event, seed uint64, drop, late float64) []event {
		rng := rand.New(rand.NewPCG(seed, 9))
		kept := ev[:0]
		for _, e := range ev {
			switch x := rng.Float64(); {
			case x < drop:
				continue
			case x < drop+late:
				e.p.Arrival = e.p.Arrival.Add(time.Duration(40+rng.IntN(30)) * time.Millisecond)
			}
			kept = append(kept, e)
		}
		return kept
	}
	tests := []struct {
		name  string
		later bool // NewRecorderLater
		ev    func() []event
	}{
		{"clean 12 s, pcmu and pcma", false, func() []event {
			b := pcmu(LegB, 1000, 2, 600)
			b.codec, b.start = PCMA, 7*time.Millisecond
			return append(pcmu(LegA, 440, 1, 600).tone(), b.tone()...)
		}},
		{"clean 12 s, created later", true, func() []event {
			return append(pcmu(LegA, 440, 1, 600).tone(), pcmu(LegB, 1000, 2, 600).tone()...)
		}},
		{"jitter 150 ms, 3% dropped, 5% late", false, func() []event {
			ev := append(pcmu(LegA, 440, 3, 500).tone(), pcmu(LegB, 1000, 4, 500).tone()...)
			jitter(ev, 5, 150*time.Millisecond)
			return rough(ev, 6, 0.03, 0.05)
		}},
		{"first packet late: the file starts before it", false, func() []event {
			ev := append(pcmu(LegA, 440, 5, 300).tone(), pcmu(LegB, 1000, 6, 300).tone()...)
			ev[0].p.Arrival = ev[0].p.Arrival.Add(30 * time.Millisecond)
			ev[1].p.Arrival = ev[1].p.Arrival.Add(-10 * time.Millisecond)
			jitter(ev[2:], 7, 60*time.Millisecond)
			return ev
		}},
		{"g722 and pcmu, jitter", true, func() []event {
			a := pcmu(LegA, 440, 7, 400)
			a.codec = G722
			ev := append(a.tone(), pcmu(LegB, 1000, 8, 400).tone()...)
			jitter(ev, 8, 40*time.Millisecond)
			return ev
		}},
		{"hold, jumps, a new ssrc, late stragglers", false, func() []event {
			a1 := pcmu(LegA, 440, 9, 150)
			a2 := a1
			a2.seq, a2.ts, a2.start = a1.seq+150, a1.ts+150*160+123456, 5*time.Second
			a3 := a2
			a3.ssrc, a3.ts, a3.start = 99, 42, 9*time.Second
			b := pcmu(LegB, 1000, 10, 600)
			ev := append(append(append(a1.tone(), a2.tone()...), a3.tone()...), b.tone()...)
			ev[300].p.Arrival = ev[300].p.Arrival.Add(400 * time.Millisecond) // late beyond the window
			jitter(ev, 11, 20*time.Millisecond)
			return ev
		}},
		{"packets ahead of their arrival", false, func() []event {
			a := pcmu(LegA, 440, 11, 400)
			ev := append(a.tone(), pcmu(LegB, 1000, 12, 400).tone()...)
			for i := 100; i < 400; i += 37 {
				// sent early by up to 350 ms by the phone's clock
				ev[i].p.Arrival = ev[i].p.Arrival.Add(-time.Duration(100+i%250) * time.Millisecond)
			}
			return ev
		}},
		{"pcma, jitter 100 ms, 5% dropped, 5% late", false, func() []event {
			a, b := pcmu(LegA, 440, 14, 500), pcmu(LegB, 1000, 15, 500)
			a.codec, b.codec = PCMA, PCMA
			ev := append(a.tone(), b.tone()...)
			jitter(ev, 12, 100*time.Millisecond)
			return rough(ev, 13, 0.05, 0.05)
		}},
		{"pcmu, then g722 on one leg mid-call", false, func() []event {
			a1 := pcmu(LegA, 440, 16, 200)
			a2 := a1
			a2.codec, a2.seq, a2.ts, a2.start, a2.packets = G722, a1.seq+200, a1.ts+200*160, 4*time.Second, 200
			ev := append(append(a1.tone(), a2.tone()...), pcmu(LegB, 1000, 17, 400).tone()...)
			jitter(ev, 14, 30*time.Millisecond)
			return rough(ev, 15, 0.02, 0.02)
		}},
		{"pcmu, then pcma on one leg mid-call", false, func() []event {
			b1 := pcmu(LegB, 1000, 18, 150)
			b2 := b1
			b2.codec, b2.seq, b2.ts, b2.start = PCMA, b1.seq+150, b1.ts+150*160, 3*time.Second
			ev := append(append(pcmu(LegA, 440, 19, 300).tone(), b1.tone()...), b2.tone()...)
			jitter(ev, 16, 30*time.Millisecond)
			return ev
		}},
		{"pcma on one leg, the other joins later in pcmu", true, func() []event {
			b := pcmu(LegB, 1000, 21, 200)
			b.start = 2500 * time.Millisecond
			a := pcmu(LegA, 440, 20, 350)
			a.codec = PCMA
			return append(a.tone(), b.tone()...)
		}},
		{"one leg only, silence suppressed", false, func() []event {
			ev := pcmu(LegA, 440, 13, 500).tone()
			kept := ev[:0]
			for i, e := range ev {
				if (i/60)%2 == 0 {
					kept = append(kept, e)
				}
			}
			return kept
		}},
	}
	golden := filepath.Join("testdata", "recorder.golden")
	want := map[string]string{}
	if !*update {
		f, err := os.Open(golden)
		if err != nil {
			t.Fatal(err)
		}
		s := bufio.NewScanner(f)
		for s.Scan() {
			if name, sum, ok := strings.Cut(s.Text(), "\t"); ok {
				want[name] = sum
			}
		}
		f.Close()
	}
	var out strings.Builder
	for _, tt := range tests {
		path := filepath.Join(t.TempDir(), "call.wav")
		var rec *Recorder
		if tt.later {
			rec = NewRecorderLater(path, RecorderConfig{})
		} else {
			var err error
			if rec, err = NewRecorder(path, RecorderConfig{}); err != nil {
				t.Fatal(err)
			}
		}
		feed(rec, tt.ev())
		n, sum := closedFileSum(t, rec, path)
		got := fmt.Sprintf("%d bytes %s %+v", n, sum, rec.Stats())
		fmt.Fprintf(&out, "%s\t%s\n", tt.name, got)
		if !*update && got != want[tt.name] {
			t.Errorf("%s: %s, want %s", tt.name, got, want[tt.name])
		}
	}
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(golden, []byte(out.String()), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// closedFileSum closes rec and returns the length and SHA-256 (hex) of the
// file it wrote at path.
func closedFileSum(t *testing.T, rec io.Closer, path string) (int, string) {
	t.Helper()
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(b)
	return len(b), hex.EncodeToString(h[:])
}
