package media

import (
	"bytes"
	"encoding/binary"
	"os"
	"runtime"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A ring's provided buffers: datagrams of every size up to maxPacket,
// many times what the buffers hold, come through a socket's multishot
// recvmsg and reap intact and in order, none cut short, and every buffer
// the kernel is done with goes back to it. Both layouts: incremental
// buffers, where the kernel has them, and a buffer a datagram (forced, as
// on a kernel without them).
func TestRingBufferAccounting(t *testing.T) {
	needUring(t)
	for _, tc := range []struct {
		name string
		inc  bool
	}{{"incremental", true}, {"buffer-a-datagram", false}} {
		t.Run(tc.name, func(t *testing.T) {
			if !tc.inc {
				pbufIncDisabled.Store(true)
				defer pbufIncDisabled.Store(false)
			}
			ringBufferAccounting(t, tc.inc)
		})
	}
}

func ringBufferAccounting(t *testing.T, inc bool) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	u, err := newUring()
	if err != nil {
		t.Fatal(err)
	}
	defer u.close()
	if u.pbuf.inc != inc {
		if inc {
			// CI's kernel has them: there the layout in use must be tested.
			if os.Getenv("CI") == "true" {
				t.Fatal("kernel without incrementally consumed buffers (CI=true)")
			}
			t.Skip("kernel without incrementally consumed buffers (IOU_PBUF_RING_INC with min_left)")
		}
		t.Fatal("incremental buffers though disabled")
	}
	rx, tx := udpSocket(t), udpSocket(t)
	sa, err := unix.Getsockname(rx)
	if err != nil {
		t.Fatal(err)
	}
	unix.SetsockoptInt(rx, unix.SOL_SOCKET, unix.SO_RCVBUF, 1<<20)
	unix.SetsockoptInt(rx, unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 1)

	var got [][]byte
	var overflow uint32
	var readErr error
	s := &sock{fd: rx, id: 1, rawFD: -1, handle: func(b *batch) {
		overflow += b.overflow
		for i := range b.n {
			got = append(got, bytes.Clone(b.bufs[i][:b.lens[i]]))
		}
	}, readErr: func(err error) { readErr = err }}
	r := &ringRound{u: u, b: getBatch(), sockEp: -1}
	defer putBatch(r.b)
	r.arms = append(r.arms, s)
	r.arm()

	// Sizes over the whole range, the largest often: each layout's
	// buffers fill and are given back many times over (22 MB).
	size := func(i int) int {
		switch i % 5 {
		case 0:
			return maxPacket
		case 1:
			return 12 + i%200 // RTP sized
		}
		return 1 + (i*7919)%maxPacket
	}
	packet := func(i int) []byte {
		p := make([]byte, size(i))
		for j := range p {
			p[j] = byte(i + j*31)
		}
		if len(p) >= 4 {
			binary.BigEndian.PutUint32(p, uint32(i))
		}
		return p
	}
	const total, chunk = 20000, 32
	for sent := 0; sent < total; {
		for range chunk {
			if err := unix.Sendto(tx, packet(sent), 0, sa); err != nil {
				t.Fatalf("send %d: %v", sent, err)
			}
			sent++
		}
		for idle := 0; len(got) < sent; idle++ {
			if idle > 1_000_000 {
				t.Fatalf("%d datagrams relayed of %d sent (socket overflow: %d)", len(got), sent, overflow)
			}
			r.arm()
			if err := u.enter(enterGetEvents); err != nil {
				t.Fatal(err)
			}
			r.reap()
			if readErr != nil {
				t.Fatalf("after %d datagrams: %v", len(got), readErr)
			}
			if r.got > 0 {
				idle = 0
			}
		}
	}
	if overflow != 0 {
		t.Errorf("socket overflowed: %d", overflow)
	}
	for i, p := range got {
		if want := packet(i); !bytes.Equal(p, want) {
			t.Fatalf("datagram %d: %d bytes, want %d, or changed", i, len(p), len(want))
		}
	}
	// Every buffer is the kernel's again (an incremental one maybe
	// consumed in part): the ring holds them all.
	st := struct {
		bgid, head uint32
		resv       [8]uint32
	}{bgid: bufGroup}
	if err := u.register(registerPbufStatus, unsafe.Pointer(&st), 1); err != nil {
		t.Fatal(err)
	}
	if avail := uint16(u.bufNext - uint16(st.head)); int(avail) != u.pbuf.n {
		t.Errorf("%d buffers in the ring, want %d", avail, u.pbuf.n)
	}
	given := int(u.bufNext) - u.pbuf.n // wraps at 65536: a lower bound
	t.Logf("%d datagrams through %d buffers of %d bytes; buffers given back: %d (mod 65536)", total, u.pbuf.n, u.pbuf.size, uint16(given))
	if inc && int(uint16(given)) > total/10 {
		t.Errorf("buffers given back %d times for %d datagrams: not consumed incrementally", uint16(given), total)
	}
}

// udpSocket returns a loopback UDP socket bound to a free port, closed at
// the test's end.
func udpSocket(t *testing.T) int {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	return fd
}

// registerPbufStatus is IORING_REGISTER_PBUF_STATUS: a buffer ring's head.
const registerPbufStatus = 26
