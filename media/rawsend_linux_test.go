//go:build linux

package media

import (
	"bytes"
	"encoding/binary"
	"os"
	"testing"
)

// needRawSend skips a test of the raw sends where the process may not
// open a raw socket (no CAP_NET_RAW), and fails it under CI=true, whose
// tests run as root: there the relay must be tested as it runs.
func needRawSend(t *testing.T) {
	t.Helper()
	needUring(t)
	if rawSendFD(loopback.As4()) >= 0 {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no raw socket for the relay's sends (CI=true runs as root)")
	}
	t.Skip("no raw socket (CAP_NET_RAW)")
}

// TestRelayRawSends relays datagrams of every length from 1 to 400 bytes
// and a large one both ways through a relay on loopback, whose ring sends
// the small ones through the raw socket: each arrives whole, from the
// relay's own port, which it could not had the IP or UDP header been
// wrong (the receiving socket checks the UDP checksum, which no offload
// vouches for in a raw datagram); the large one goes through the relay's
// socket.
func TestRelayRawSends(t *testing.T) {
	needRawSend(t)
	r, a, b := connectedRelay(t, RelayConfig{})
	for i := range r.legs {
		l := &r.legs[i]
		l.ports.mu.Lock()
		d := l.ports.detached
		l.ports.mu.Unlock()
		if d == nil || d.rtp.rawFD < 0 || d.rtp.port != uint16(l.ports.port) || d.rtp.src4 != loopback.As4() {
			t.Fatalf("leg %s: the ring does not send through a raw socket from %s:%d", l.id, loopback, l.ports.port)
		}
	}
	for n := 1; n <= 400; n++ {
		payload := bytes.Repeat([]byte{byte(n)}, n)
		p := rtpPacket(0, uint16(n), uint32(160*n), 0xAAAA, false, payload)
		a.send(r.Local(LegA), p)
		if got, from := b.recv(); !bytes.Equal(got, p) || from != r.Local(LegB) {
			t.Fatalf("a→b, %d bytes: got %d bytes from %s, want them whole from %s", len(p), len(got), from, r.Local(LegB))
		}
		p = rtpPacket(0, uint16(n), uint32(160*n), 0xBBBB, false, payload)
		b.send(r.Local(LegB), p)
		if got, from := a.recv(); !bytes.Equal(got, p) || from != r.Local(LegA) {
			t.Fatalf("b→a, %d bytes: got %d bytes from %s, want them whole from %s", len(p), len(got), from, r.Local(LegA))
		}
	}
	big := rtpPacket(0, 1, 0, 0xAAAA, false, bytes.Repeat([]byte{7}, rawMaxPayload+100))
	a.send(r.Local(LegA), big)
	if got, _ := b.recv(); !bytes.Equal(got, big) {
		t.Fatalf("a→b, %d bytes: got %d", len(big), len(got))
	}
}

// TestUDPChecksum checks the raw sends' checksum against RFC 1071's sum
// written out the plain way, for odd and even lengths and the all-ones
// case.
func TestUDPChecksum(t *testing.T) {
	src, dst := [4]byte{192, 0, 2, 1}, [4]byte{198, 51, 100, 7}
	for n := range 64 {
		seg := make([]byte, 8+n)
		binary.BigEndian.PutUint16(seg[0:], 40000)
		binary.BigEndian.PutUint16(seg[2:], 5004)
		binary.BigEndian.PutUint16(seg[4:], uint16(len(seg)))
		for i := range n {
			seg[8+i] = byte(i*37 + n)
		}
		pseudo := append(append(append([]byte{}, src[:]...), dst[:]...), 0, 17, byte(len(seg)>>8), byte(len(seg)))
		var sum uint32
		all := append(pseudo, seg...)
		for i := 0; i < len(all); i += 2 {
			w := uint32(all[i]) << 8
			if i+1 < len(all) {
				w |= uint32(all[i+1])
			}
			sum += w
		}
		for sum > 0xffff {
			sum = sum&0xffff + sum>>16
		}
		want := ^uint16(sum)
		if want == 0 {
			want = 0xffff
		}
		if got := udpChecksum(src, dst, seg); got != want {
			t.Errorf("%d bytes: checksum %#04x, want %#04x", len(seg), got, want)
		}
	}
}

// TestRawSendsOff checks that SWITCHBOARD_RELAY_SEND=socket leaves the
// sends to the relay's own sockets.
func TestRawSendsOff(t *testing.T) {
	t.Setenv("SWITCHBOARD_RELAY_SEND", "socket")
	if fd := openRawSend(loopback.As4()); fd >= 0 {
		t.Errorf("SWITCHBOARD_RELAY_SEND=socket: a raw socket was opened (%d)", fd)
	}
}
