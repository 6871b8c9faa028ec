package media

import (
	"bytes"
	"net/netip"
	"runtime"
	"sync"
	"testing"
)

// gateTap holds the relay's reader in its first packet until the test
// opens the gate, so that what is sent meanwhile waits in the socket and
// is read in batches; it keeps the sequence numbers it saw.
type gateTap struct {
	first chan struct{} // closed when the first packet is in the tap
	gate  chan struct{} // closed by the test to let the reader go on
	once  sync.Once
	mu    sync.Mutex
	seqs  []uint16
}

func (g *gateTap) count() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.seqs)
}

func (g *gateTap) RTP(l Leg, p *Packet) {
	g.mu.Lock()
	g.seqs = append(g.seqs, p.SequenceNumber)
	g.mu.Unlock()
	g.once.Do(func() {
		close(g.first)
		<-g.gate
	})
}

// A burst that piles up while the relay is busy is read and relayed in
// batches: every packet arrives, in order and unchanged, the tap sees
// each once, and a packet sent after the burst, when the socket was
// found drained, is relayed too. On an unspecified address the sockets
// are IPv6 ones carrying IPv4 (mapped addresses both ways); with SRTP
// towards B every packet is encrypted into the one scratch buffer, so
// each goes out before the next is made.
func TestRelayBurstBatches(t *testing.T) {
	for _, tc := range []struct {
		name   string
		ip     netip.Addr
		secure bool
	}{
		{"loopback", loopback, false},
		{"unspecified", netip.IPv4Unspecified(), false},
		{"srtp", loopback, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := newRelay(t, RelayConfig{IP: tc.ip})
			a, b := newEndpoint(t), newEndpoint(t)
			r.SetRemote(LegA, a.addr(), netip.AddrPort{})
			r.SetRemote(LegB, b.addr(), netip.AddrPort{})
			var phone *srtpPhone
			if tc.secure {
				phoneKey, relayKey := NewSRTPKey(), NewSRTPKey()
				if err := r.SetSRTP(LegB, &SRTPKeys{Remote: phoneKey, Local: relayKey}); err != nil {
					t.Fatal(err)
				}
				phone = newSRTPPhone(t, phoneKey, relayKey)
			}
			tap := &gateTap{first: make(chan struct{}), gate: make(chan struct{})}
			r.SetTap(tap)
			to := netip.AddrPortFrom(loopback, r.Local(LegA).Port())

			const burst = 3*batchSize + 3
			var sent [][]byte
			for i := range burst + 1 {
				payload := bytes.Repeat([]byte{byte(i)}, 160)
				sent = append(sent, rtpPacket(0, uint16(1000+i), uint32(160*i), 0xA, false, payload))
			}
			a.send(to, sent[0])
			<-tap.first
			for _, p := range sent[1:burst] {
				a.send(to, p)
			}
			close(tap.gate)
			for i := range burst {
				got, from := b.recv()
				if from.Port() != r.Local(LegB).Port() {
					t.Fatalf("packet %d came from %s, want the relay's leg b port %d", i, from, r.Local(LegB).Port())
				}
				if phone != nil {
					got = phone.open(got)
				}
				if !bytes.Equal(got, sent[i]) {
					t.Fatalf("packet %d: got seq %d, want %d unchanged", i, uint16(got[2])<<8|uint16(got[3]), 1000+i)
				}
			}
			// The burst drained the socket: the next packet must not
			// wait for another one.
			a.send(to, sent[burst])
			got, _ := b.recv()
			if phone != nil {
				got = phone.open(got)
			}
			if !bytes.Equal(got, sent[burst]) {
				t.Fatalf("after the burst: got %x, want %x", got[:12], sent[burst][:12])
			}
			// A packet sent from a scratch buffer (SRTP) leaves before the
			// tap sees it: wait for the tap's last one.
			for tap.count() < burst+1 {
				runtime.Gosched()
			}
			tap.mu.Lock()
			defer tap.mu.Unlock()
			if len(tap.seqs) != burst+1 {
				t.Fatalf("tap saw %d packets, want %d", len(tap.seqs), burst+1)
			}
			for i, s := range tap.seqs {
				if s != uint16(1000+i) {
					t.Fatalf("tap saw %v, want 1000..%d in order", tap.seqs, 1000+burst)
				}
			}
			if st := r.Stats(LegA); st.Packets != burst+1 || st.Lost != 0 || st.Dropped != 0 {
				t.Fatalf("leg a stats %+v, want %d packets, none lost or dropped", st, burst+1)
			}
		})
	}
}
