package media

import (
	"bytes"
	"math"
	"net"
	"net/netip"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// newTestEndpoint is an Endpoint on loopback facing phone, running until
// the test ends.
func newTestEndpoint(t *testing.T, codec Codec, phone *endpoint) *Endpoint {
	t.Helper()
	e, err := NewEndpoint(EndpointConfig{Pool: testPool(t, 1), IP: loopback, Codec: codec})
	if err != nil {
		t.Fatal(err)
	}
	e.SetRemote(phone.addr())
	done := make(chan error, 1)
	go func() { done <- e.Run(t.Context()) }()
	t.Cleanup(func() {
		e.Close()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	return e
}

func TestEndpointPlaysClipAsPacedRTP(t *testing.T) {
	for _, codec := range []Codec{PCMU, PCMA} {
		t.Run(codec.String(), func(t *testing.T) {
			phone := newEndpoint(t)
			e := newTestEndpoint(t, codec, phone)
			clip := Tone(1000, 200, -10) // 10 packets
			p := e.Play(clip, false)
			var first rtp.Packet
			var arrivals []time.Time
			want := make([]byte, frameSamples)
			for i := range 10 {
				b, from := phone.recv()
				arrivals = append(arrivals, time.Now())
				if from != e.Local() {
					t.Fatalf("packet %d from %s, want the endpoint's %s", i, from, e.Local())
				}
				var pk rtp.Packet
				if err := pk.Unmarshal(b); err != nil {
					t.Fatal(err)
				}
				if i == 0 {
					first = pk
					if !pk.Marker {
						t.Errorf("first packet without the marker bit")
					}
				}
				if pk.PayloadType != uint8(codec) || pk.SSRC != first.SSRC ||
					pk.SequenceNumber != first.SequenceNumber+uint16(i) || pk.Timestamp != first.Timestamp+uint32(i*frameSamples) {
					t.Fatalf("packet %d: pt %d ssrc %x seq %d ts %d; first ssrc %x seq %d ts %d",
						i, pk.PayloadType, pk.SSRC, pk.SequenceNumber, pk.Timestamp, first.SSRC, first.SequenceNumber, first.Timestamp)
				}
				codec.Encode(want, clip.Samples()[i*frameSamples:])
				if !bytes.Equal(pk.Payload, want) {
					t.Fatalf("packet %d: payload is not the clip's", i)
				}
			}
			<-p.Done() // a clip played once ends by itself
			// Paced: ten packets take about 180 ms from first to last, not a burst.
			if d := arrivals[9].Sub(arrivals[0]); d < 150*time.Millisecond {
				t.Errorf("10 packets in %v: not paced at 20 ms", d)
			}
		})
	}
}

func TestPlayerLoopsUntilStoppedAndStreamGoesOn(t *testing.T) {
	phone := newEndpoint(t)
	e := newTestEndpoint(t, PCMU, phone)
	p := e.Play(Tone(440, 40, -10), true) // 2 packets a round
	var last rtp.Packet
	for range 7 { // more than three rounds
		b, _ := phone.recv()
		if err := last.Unmarshal(b); err != nil {
			t.Fatal(err)
		}
	}
	p.Stop()
	<-p.Done()
	// The next player's stream is the same stream, going on.
	p2 := e.Play(Silence(20), false)
	<-p2.Done()
	for {
		b, _ := phone.recv()
		var pk rtp.Packet
		if err := pk.Unmarshal(b); err != nil {
			t.Fatal(err)
		}
		if pk.SSRC != last.SSRC {
			t.Fatalf("ssrc %x after %x", pk.SSRC, last.SSRC)
		}
		if !pk.Marker {
			continue // the looping player's last packets, sent as it stopped
		}
		if int16(pk.SequenceNumber-last.SequenceNumber) <= 0 || int32(pk.Timestamp-last.Timestamp) < frameSamples {
			t.Fatalf("next player: seq %d ts %d marker %v after seq %d ts %d", pk.SequenceNumber, pk.Timestamp, pk.Marker, last.SequenceNumber, last.Timestamp)
		}
		if !bytes.Equal(pk.Payload, bytes.Repeat([]byte{0xFF}, frameSamples)) {
			t.Fatalf("silence payload % x", pk.Payload[:4])
		}
		break
	}
}

func TestEndpointCloseEndsPlayerAndReader(t *testing.T) {
	before := runtime.NumGoroutine()
	phone := newEndpoint(t)
	e, err := NewEndpoint(EndpointConfig{Pool: testPool(t, 1), IP: loopback, Codec: PCMA})
	if err != nil {
		t.Fatal(err)
	}
	e.SetRemote(phone.addr())
	done := make(chan error, 1)
	go func() { done <- e.Run(t.Context()) }()
	p := e.Play(Tone(440, 1000, -10), true)
	phone.recv()
	e.Close()
	<-p.Done()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for runtime.NumGoroutine() > before {
		runtime.Gosched()
		time.Sleep(time.Millisecond)
	}
}

// telephoneEvent is an RFC 4733 payload.
func telephoneEvent(event byte, end bool, duration uint16) []byte {
	b := []byte{event, 10, byte(duration >> 8), byte(duration)}
	if end {
		b[1] |= 0x80
	}
	return b
}

// sendDigit sends one key press as a phone does: three packets at the
// start, three at the end (the end retransmitted), all with timestamp ts.
func sendDigit(phone *endpoint, to netip.AddrPort, seq *uint16, ts, ssrc uint32, event byte) {
	for i := range 6 {
		*seq++
		phone.send(to, rtpPacket(101, *seq, ts, ssrc, i == 0, telephoneEvent(event, i >= 3, uint16(160*(i+1)))))
	}
}

func TestEndpointDetectsDTMFOncePerKeyPress(t *testing.T) {
	phone := newEndpoint(t)
	e := newTestEndpoint(t, PCMU, phone)
	var seq uint16 = 100
	keys := []byte{5, 11, 5, 10, 0} // '5' twice in a row is two presses
	for i, k := range keys {
		sendDigit(phone, e.Local(), &seq, uint32(8000*(i+1)), 0xabc, k)
	}
	var got []rune
	for range keys {
		got = append(got, <-e.Digits())
	}
	if string(got) != "5#5*0" {
		t.Fatalf("digits %q, want %q", string(got), "5#5*0")
	}
	// Nothing more: a later digit is the next one to arrive.
	sendDigit(phone, e.Local(), &seq, 90000, 0xabc, 15)
	if d := <-e.Digits(); d != 'D' {
		t.Fatalf("next digit %q, want 'D' (a duplicate came through)", d)
	}
}

func TestEndpointStrangerIsNotHeard(t *testing.T) {
	phone := newEndpoint(t)
	e := newTestEndpoint(t, PCMU, phone)
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 2)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	stranger := &endpoint{t: t, conn: c, buf: make([]byte, 2048)}
	var seq uint16
	for i := range 10 { // well past probation, but from an IP no one gave
		sendDigit(stranger, e.Local(), &seq, uint32(1000*(i+1)), 0x666, 1)
	}
	for e.Rejected() < 60 {
		time.Sleep(time.Millisecond)
	}
	sendDigit(phone, e.Local(), &seq, 50000, 0xabc, 9)
	if d := <-e.Digits(); d != '9' {
		t.Fatalf("digit %q, want the phone's '9'", d)
	}
	// What the endpoint plays goes to the phone, not to the stranger.
	p := e.Play(Silence(20), false)
	<-p.Done()
	if _, from := phone.recv(); from != e.Local() {
		t.Fatalf("from %s", from)
	}
}

func TestMonoRecorderRecordsWhatThePhoneSays(t *testing.T) {
	phone := newEndpoint(t)
	e := newTestEndpoint(t, PCMA, phone)
	path := filepath.Join(t.TempDir(), "msg.wav")
	rec, err := NewMonoRecorder(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	e.SetSink(rec)
	tone := Tone(440, 1000, -6).Samples()
	payload := make([]byte, frameSamples)
	const lost = 20 // packet 20 never arrives: 20 ms of silence in its place
	ts := uint32(123456)
	for i := range 50 {
		if i == lost {
			continue
		}
		PCMA.Encode(payload, tone[i*frameSamples:])
		phone.send(e.Local(), rtpPacket(8, uint16(i), ts+uint32(i*frameSamples), 0x42, i == 0, payload))
		// a telephone event in the middle is not audio
		if i == 30 {
			phone.send(e.Local(), rtpPacket(101, 1000, ts+uint32(i*frameSamples), 0x42, true, telephoneEvent(3, false, 160)))
		}
	}
	for e.Packets() < 50 {
		time.Sleep(time.Millisecond)
	}
	if d := rec.Duration(); d != time.Second {
		t.Fatalf("duration %v, want 1s", d)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	if err := RepairWAV(path); err != nil { // a finished file is left as it is
		t.Fatal(err)
	}
	clip, err := LoadWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	s := clip.Samples()
	if len(s) != sampleRate {
		t.Fatalf("%d samples, want %d", len(s), sampleRate)
	}
	for i := lost * frameSamples; i < (lost+1)*frameSamples; i++ {
		if s[i] != 0 {
			t.Fatalf("sample %d of the lost packet is %d, want silence", i, s[i])
		}
	}
	if f := dominantFreq(s[:lost*frameSamples]); math.Abs(f-440) > 10 {
		t.Fatalf("recorded %.0f Hz, want 440", f)
	}
	if f := dominantFreq(s[(lost+1)*frameSamples:]); math.Abs(f-440) > 10 {
		t.Fatalf("recorded %.0f Hz after the loss, want 440", f)
	}
}

func TestMonoRecorderStopsAtItsLimit(t *testing.T) {
	path := filepath.Join(t.TempDir(), "msg.wav")
	rec, err := NewMonoRecorder(path, 100*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	frame := Tone(440, 20, -6).Samples()
	for i := range 10 {
		rec.Audio(7, uint32(i*frameSamples), frame)
	}
	<-rec.Full()
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	clip, err := LoadWAV(path)
	if err != nil {
		t.Fatal(err)
	}
	if clip.Len() != 800 {
		t.Fatalf("%d samples, want 800", clip.Len())
	}
}

// dominantFreq estimates the frequency of a tone from its zero crossings.
func dominantFreq(s []int16) float64 {
	n := 0
	for i := 1; i < len(s); i++ {
		if (s[i-1] < 0) != (s[i] < 0) {
			n++
		}
	}
	return float64(n) / 2 / (float64(len(s)) / sampleRate)
}

func TestReadWAVRefusesOtherFormats(t *testing.T) {
	h := wavHeader(4) // stereo 8 kHz: accepted, mixed down
	b := append(h[:], 0x10, 0, 0x30, 0)
	c, err := ReadWAV(bytes.NewReader(b))
	if err != nil || c.Len() != 1 || c.Samples()[0] != 0x20 {
		t.Fatalf("stereo: %v %v", c, err)
	}
	b[24] = 0x44 // 16 kHz... and more
	b[25] = 0xAC
	if _, err := ReadWAV(bytes.NewReader(b)); err == nil {
		t.Fatal("44.1 kHz accepted")
	}
	if _, err := ReadWAV(bytes.NewReader([]byte("RIFF"))); err == nil {
		t.Fatal("truncated accepted")
	}
}
