package media

import (
	"bytes"
	"errors"
	"math"
	"runtime"
	"sync"
	"testing"

	"github.com/pion/rtp"
)

// toneFrame is frame i (20 ms) of a sine at freq, G.711-encoded.
func toneFrame(c Codec, freq float64, i int) []byte {
	pcm := make([]int16, monitorFrame)
	for k := range pcm {
		pcm[k] = int16(8000 * math.Sin(2*math.Pi*freq*float64(i*monitorFrame+k)/sampleRate))
	}
	out := make([]byte, monitorFrame)
	c.Encode(out, pcm)
	return out
}

// payloadPCM decodes the G.711 payload of an RTP packet.
func payloadPCM(t *testing.T, c Codec, b []byte) (rtp.Packet, []int16) {
	t.Helper()
	var p rtp.Packet
	if err := p.Unmarshal(b); err != nil {
		t.Fatalf("not rtp: %v", err)
	}
	pcm := make([]int16, len(p.Payload))
	c.Decode(pcm, p.Payload)
	return p, pcm
}

// payloadTap keeps the payloads a relay's tap sees on leg A.
type payloadTap struct {
	mu sync.Mutex
	a  [][]byte
}

func (pt *payloadTap) RTP(l Leg, p *Packet) {
	if l == LegA {
		pt.mu.Lock()
		pt.a = append(pt.a, append([]byte(nil), p.Payload...))
		pt.mu.Unlock()
	}
}

// TestMonitorModes joins a supervisor to a call where the caller sends
// 440 Hz and the callee 1000 Hz, while the supervisor says 2000 Hz: the
// supervisor always hears both parties; who hears the supervisor depends on
// the mode. Sequence numbers and timestamps of the parties' packets stay.
func TestMonitorModes(t *testing.T) {
	const fa, fb, fs = 440.0, 1000.0, 2000.0
	for _, tc := range []struct {
		mode        MonitorMode
		agent       Leg
		aHearsSuper bool
		bHearsSuper bool
	}{
		{Listen, LegB, false, false},
		{Whisper, LegB, false, true},
		{Whisper, LegA, true, false},
		{Barge, LegB, true, true},
	} {
		t.Run(tc.mode.String()+"-agent-"+tc.agent.String(), func(t *testing.T) {
			clk := newFakeClock()
			r, _ := newRelay(t, RelayConfig{Pool: testPool(t, 3), clock: clk})
			tap := &payloadTap{}
			r.SetTap(tap)
			a, b, sup := newEndpoint(t), newEndpoint(t), newEndpoint(t)
			r.SetRemote(LegA, a.addr(), a.addr())
			r.SetRemote(LegB, b.addr(), b.addr())
			m, err := r.AddMonitor(MonitorConfig{Mode: tc.mode, Agent: tc.agent, Codec: PCMA, IP: loopback})
			if err != nil {
				t.Fatal(err)
			}
			m.SetRemote(sup.addr())
			runDone := make(chan error, 1)
			go func() { runDone <- m.Run(t.Context()) }()

			var heard, atA, atB []int16
			var sentA [][]byte
			const frames = 25
			for i := range frames {
				// The supervisor speaks first; its frame is queued once the
				// monitor counted it.
				before := m.Stats().Received
				sup.send(m.Local(), rtpPacket(8, uint16(i), uint32(i*160), 0x5, false, toneFrame(PCMA, fs, i)))
				for m.Stats().Received == before {
					runtime.Gosched() // the monitor's reader has it in flight
				}
				pa := toneFrame(PCMU, fa, i)
				sentA = append(sentA, pa)
				a.send(r.Local(LegA), rtpPacket(0, uint16(100+i), uint32(8000+i*160), 0xA, false, pa))
				got, _ := b.recv()
				p, pcm := payloadPCM(t, PCMU, got)
				if p.SequenceNumber != uint16(100+i) || p.Timestamp != uint32(8000+i*160) || p.SSRC != 0xA {
					t.Fatalf("b got seq %d ts %d ssrc %x: the caller's header changed", p.SequenceNumber, p.Timestamp, p.SSRC)
				}
				if !tc.bHearsSuper && !bytes.Equal(p.Payload, pa) {
					t.Fatalf("frame %d reached b changed in %s mode", i, tc.mode)
				}
				atB = append(atB, pcm...)

				b.send(r.Local(LegB), rtpPacket(0, uint16(200+i), uint32(16000+i*160), 0xB, false, toneFrame(PCMU, fb, i)))
				got, _ = a.recv()
				_, pcm = payloadPCM(t, PCMU, got)
				atA = append(atA, pcm...)

				clk.ticks <- clk.advance(monitorInterval)
				got, _ = sup.recv()
				p, pcm = payloadPCM(t, PCMA, got)
				if p.PayloadType != 8 || len(pcm) != monitorFrame {
					t.Fatalf("supervisor got pt %d with %d samples", p.PayloadType, len(pcm))
				}
				heard = append(heard, pcm...)
			}

			tone := func(name string, x []int16, freq float64, want bool) {
				t.Helper()
				ref := goertzel(x, 300) // no tone there
				got := goertzel(x, freq)
				if want && got < 100*ref {
					t.Errorf("%s: %.0f Hz missing (power %.0f, background %.0f)", name, freq, got, ref)
				}
				if !want && got > 0.01*goertzel(x, map[bool]float64{true: fa, false: fb}[name == "callee"]) {
					t.Errorf("%s: %.0f Hz present (power %.0f) but must not be heard", name, freq, got)
				}
			}
			tone("supervisor", heard, fa, true)
			tone("supervisor", heard, fb, true)
			tone("callee", atB, fa, true)
			tone("callee", atB, fs, tc.bHearsSuper)
			tone("caller", atA, fb, true)
			tone("caller", atA, fs, tc.aHearsSuper)

			// The recorder's tap gets what the caller sent, not the mix.
			tap.mu.Lock()
			for i, p := range tap.a {
				if !bytes.Equal(p, sentA[i]) {
					t.Fatalf("tap frame %d differs from what the caller sent", i)
				}
			}
			tap.mu.Unlock()
			if err := m.Close(); err != nil {
				t.Fatal(err)
			}
			if err := <-runDone; err != nil {
				t.Fatalf("run: %v", err)
			}
			if s := m.Stats(); s.Sent != frames || s.Received != frames {
				t.Errorf("monitor stats %+v, want %d each way", s, frames)
			}
		})
	}
}

// TestMonitorLifecycle: one monitor at a time, its ports go back to the
// pool, and it ends with the call.
func TestMonitorLifecycle(t *testing.T) {
	pool := testPool(t, 3)
	r, _ := newRelay(t, RelayConfig{Pool: pool})
	if _, err := r.AddMonitor(MonitorConfig{Codec: Codec(18), IP: loopback}); err == nil {
		t.Error("a G.729 supervisor was accepted")
	}
	m, err := r.AddMonitor(MonitorConfig{Codec: PCMU, IP: loopback})
	if err != nil {
		t.Fatal(err)
	}
	if pool.Free() != 0 {
		t.Errorf("%d pairs free with a call and a monitor", pool.Free())
	}
	if _, err := r.AddMonitor(MonitorConfig{Codec: PCMU, IP: loopback}); !errors.Is(err, ErrMonitored) {
		t.Errorf("second monitor: %v, want ErrMonitored", err)
	}
	m.Close() // never ran
	if pool.Free() != 1 {
		t.Errorf("%d pairs free after the monitor closed, want 1", pool.Free())
	}
	m2, err := r.AddMonitor(MonitorConfig{Mode: Barge, Codec: PCMU, IP: loopback})
	if err != nil {
		t.Fatalf("monitor after the first closed: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- m2.Run(t.Context()) }()
	r.Close() // the call ends: so does the monitor
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	<-m2.Done()
	if pool.Free() != 3 {
		t.Errorf("%d pairs free after the call, want 3", pool.Free())
	}
	if err := m2.Run(t.Context()); !errors.Is(err, ErrClosed) {
		t.Errorf("second run: %v", err)
	}
	if _, err := r.AddMonitor(MonitorConfig{Codec: PCMU, IP: loopback}); !errors.Is(err, ErrClosed) {
		t.Errorf("monitor of an ended call: %v", err)
	}
}

func TestFIFO(t *testing.T) {
	var f fifo
	seq := func(from, n int) []int16 {
		s := make([]int16, n)
		for i := range s {
			s[i] = int16(from + i)
		}
		return s
	}
	f.push(seq(0, 1000))
	out := make([]int16, 300)
	if n := f.pull(out); n != 300 || out[0] != 0 || out[299] != 299 {
		t.Fatalf("pull: %d %v", n, out[:3])
	}
	f.push(seq(1000, 1000)) // 1700 queued > backlog: the oldest go
	if f.n != monitorBacklog {
		t.Fatalf("%d queued, want %d", f.n, monitorBacklog)
	}
	all := make([]int16, 2000)
	n := f.pull(all)
	if n != monitorBacklog || all[0] != int16(2000-monitorBacklog) || all[n-1] != 1999 || all[n] != 0 {
		t.Fatalf("after overflow: %d samples from %d to %d", n, all[0], all[n-1])
	}
	f.push(seq(0, 5000))
	if f.n != monitorBacklog || f.pull(all[:1]) != 1 || all[0] != int16(5000-monitorBacklog) {
		t.Fatalf("a push larger than the queue keeps its end: %d", all[0])
	}
}
