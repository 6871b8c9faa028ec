package media

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// FuzzParseRTP runs what the relay does with every datagram on an RTP port:
// classify it, parse the header, count its sequence number and hand it to a
// recorder.
func FuzzParseRTP(f *testing.F) {
	f.Add(rtpPacket(0, 1, 160, 0xA, false, bytes.Repeat([]byte{0xFF}, 160)))
	f.Add(rtpPacket(101, 65535, 8000, 0xB, true, []byte{5, 10, 0, 160}))
	f.Add(rtcpRR(1))
	f.Add([]byte{0x80, 200, 0, 6})
	f.Add([]byte{0xB0, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xBE, 0xDE, 0, 1, 0x10, 0xAA, 0, 0}) // extension
	f.Add([]byte{0xA0, 0x08, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0xD5, 0, 0, 3})                      // padding
	f.Add([]byte{0x8F, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1})                                     // 15 CSRCs announced
	f.Add([]byte{0x40, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1})                                     // version 1

	var (
		p   rtp.Packet // reused across inputs, as in the relay
		seq seqTracker
	)
	rec, err := newRecorder(&countingFile{}, RecorderConfig{})
	if err != nil {
		f.Fatal(err)
	}
	arrival := callStart
	f.Fuzz(func(t *testing.T, buf []byte) {
		kind := parseRTP(buf, &p)
		switch kind {
		case kindRTCP:
			if !isRTCP(buf) {
				t.Fatalf("%x: rtcp that isRTCP rejects", buf)
			}
			return
		case kindInvalid:
			return
		}
		if len(buf) < 12 || buf[0]>>6 != 2 {
			t.Fatalf("%x: accepted as rtp", buf)
		}
		if len(p.Payload) > len(buf)-12 {
			t.Fatalf("%x: payload of %d bytes in a %d-byte packet", buf, len(p.Payload), len(buf))
		}
		if len(p.Payload) > 0 && &p.Payload[len(p.Payload)-1] != &buf[len(buf)-1-int(p.PaddingSize)] {
			t.Fatalf("%x: payload does not alias the packet", buf)
		}
		// What was parsed marshals back to a packet that parses the same.
		out, err := p.Marshal()
		if err == nil {
			var q rtp.Packet
			if parseRTP(out, &q) != kindRTP || q.SequenceNumber != p.SequenceNumber || q.Timestamp != p.Timestamp ||
				q.SSRC != p.SSRC || q.PayloadType != p.PayloadType || !bytes.Equal(q.Payload, p.Payload) {
				t.Fatalf("%x: re-marshalled as %x, parsed differently", buf, out)
			}
		}
		seq.update(p.SSRC, p.SequenceNumber)
		if e, l := seq.counts(); l > e {
			t.Fatalf("lost %d of %d expected", l, e)
		}
		arrival = arrival.Add(20 * time.Millisecond)
		rec.RTP(Leg(p.SSRC&1), &Packet{
			PayloadType: p.PayloadType, Marker: p.Marker, SequenceNumber: p.SequenceNumber,
			Timestamp: p.Timestamp, SSRC: p.SSRC, Payload: p.Payload, Arrival: arrival,
		})
	})
}

// FuzzRecorder feeds a recorder a packet sequence with arbitrary
// timestamps, sequence numbers, SSRCs and arrival steps, and checks that the
// file grows no faster than time passes (memory and disk stay bounded by the
// call's length) and is consistent when closed. Each 12-byte record is: leg
// and payload type, sequence number (2), timestamp (4), SSRC (1), arrival
// step in ms (2), payload length (1).
func FuzzRecorder(f *testing.F) {
	var seed []byte
	for i := range 20 {
		seed = binary.BigEndian.AppendUint16(seed, uint16(i&1)<<8|8*uint16(i%3/2))
		seed = binary.BigEndian.AppendUint16(seed, uint16(i))
		seed = binary.BigEndian.AppendUint32(seed, uint32(i*160))
		seed = append(seed, byte(i&1), 0, 10, 160)
	}
	f.Add(seed)
	f.Add([]byte("\x00\x00\xff\xff\x7f\xff\xff\xff\x01\x00\x01\xa0\x01\x08\x00\x00\x80\x00\x00\x00\x02\xff\xff\x10"))
	f.Fuzz(func(t *testing.T, data []byte) {
		out := &countingFile{}
		rec, err := newRecorder(out, RecorderConfig{})
		if err != nil {
			t.Fatal(err)
		}
		payload := bytes.Repeat([]byte{0x55}, 255)
		arrival := callStart
		for ; len(data) >= 12; data = data[12:] {
			arrival = arrival.Add(time.Duration(binary.BigEndian.Uint16(data[8:])%5000) * time.Millisecond)
			rec.RTP(Leg(data[0]&1), &Packet{
				PayloadType:    data[1],
				SequenceNumber: binary.BigEndian.Uint16(data[2:]),
				Timestamp:      binary.BigEndian.Uint32(data[4:]),
				SSRC:           uint32(data[8] & 3),
				Payload:        payload[:data[11]],
				Arrival:        arrival,
			})
		}
		if err := rec.Close(); err != nil {
			t.Fatal(err)
		}
		// The timeline may start up to jitterDelay before the first arrival
		// and end up to aheadLimit and a packet after the last one.
		limit := int64(arrival.Sub(callStart)/(time.Second/sampleRate)) + jitterDelay + aheadLimit + 256
		frames := (out.size - wavHeadSize) / frameBytes
		if (out.size-wavHeadSize)%frameBytes != 0 || frames > limit {
			t.Fatalf("%d bytes of samples, %d frames for %v of arrivals", out.size-wavHeadSize, frames, arrival.Sub(callStart))
		}
		h := wavHeader(uint32(out.size - wavHeadSize))
		if !bytes.Equal(out.head[:], h[:]) {
			t.Fatalf("header %x, want %x", out.head, h)
		}
	})
}

// FuzzRepairWAV repairs arbitrary files: no panic, and a repaired file's
// sizes match its length.
func FuzzRepairWAV(f *testing.F) {
	h := wavHeader(400)
	f.Add(append(h[:], make([]byte, 123)...))
	f.Add(h[:36])
	f.Add([]byte("RIFF\x10\x00\x00\x00WAVEjunk\x03\x00\x00\x00abc\x00fmt \x10\x00\x00\x00\x01\x00\x02\x00@\x1f\x00\x00\x00}\x00\x00\x04\x00\x10\x00data\xff\xff\xff\xff\x01\x02\x03\x04\x05"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "f.wav")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := RepairWAV(path); err != nil {
			return
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if got := int(binary.LittleEndian.Uint32(b[4:])) + 8; got != len(b) {
			t.Fatalf("%x: riff size says %d bytes, file has %d", data, got, len(b))
		}
	})
}

// countingFile keeps a WAV file's header and counts the rest.
type countingFile struct {
	head [wavHeadSize]byte
	size int64
}

func (c *countingFile) Write(b []byte) (int, error) {
	if c.size < wavHeadSize {
		copy(c.head[c.size:], b)
	}
	c.size += int64(len(b))
	return len(b), nil
}

func (c *countingFile) WriteAt(b []byte, off int64) (int, error) {
	if off < wavHeadSize {
		copy(c.head[off:], b)
	}
	return len(b), nil
}

func (c *countingFile) Sync() error  { return nil }
func (c *countingFile) Close() error { return nil }
