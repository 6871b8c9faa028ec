package media

import (
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The buffers a poller's ring provides to its sockets' recvmsgs.
//
// Where the kernel allows it (IOU_PBUF_RING_INC with a minimum left,
// Linux 6.12 and the kernels with the min_left fix, 2026), the buffers
// are consumed incrementally: a datagram takes from the buffer at the
// ring's head only the bytes it needs (its recvmsg header and payload),
// the next datagram follows it in the same buffer, and the kernel goes
// on to the next buffer only when fewer than pbufMinLeft bytes are left,
// room for a datagram of maxPacket bytes. A completion tells whether its
// buffer is still being consumed (IORING_CQE_F_BUF_MORE): the poller
// keeps each buffer's consumed count (uring.bufOff) to find the next
// datagram in it, and gives the buffer back once the kernel is done with
// it. 16 buffers of 64 KiB (1 MiB a poller) hold about 4,200 datagrams of
// 20 ms of G.711 (240 bytes with their header), what 4,096 buffers of
// 2,176 bytes (8.9 MB, all of it resident: the ring is FIFO and every
// buffer gets written) held before.
//
// Elsewhere, or when pbufIncDisabled is set, the ring has ringBufs
// buffers of ringBufSize bytes, a datagram to a buffer.

// From linux/io_uring.h.
const (
	pbufRingInc = 2      // IOU_PBUF_RING_INC
	cqeFBufMore = 1 << 4 // IORING_CQE_F_BUF_MORE
)

// The incremental layout.
const (
	pbufIncBufs    = 16
	pbufIncBufSize = 64 << 10
	// pbufMinLeft is what a buffer must have left for the kernel to put
	// another datagram in it: a recvmsg header and a datagram of
	// maxPacket bytes, as large as the relay takes (batch.bufs), so that
	// no datagram is cut short for want of room.
	pbufMinLeft = recvPayloadOffset + maxPacket
)

// pbufIncDisabled makes the rings set up from then on use the layout of
// a buffer a datagram, as on a kernel without incremental buffers; for
// tests.
var pbufIncDisabled atomic.Bool

// pbufLayout is a ring's buffers: their number (a power of two) and size,
// and whether they are consumed incrementally.
type pbufLayout struct {
	n, size int
	inc     bool
}

// pbufReg is struct io_uring_buf_reg.
type pbufReg struct {
	ringAddr    uint64
	ringEntries uint32
	bgid, flags uint16
	minLeft     uint32
	resv        [5]uint32
}

// setupBufs maps the buffers' ring, the buffers, the recvmsg header and
// the send slots, one mapping, and registers the ring: incremental where
// the kernel takes it, a buffer a datagram otherwise.
func (u *uring) setupBufs() error {
	if !pbufIncDisabled.Load() {
		err := u.mapBufs(pbufLayout{n: pbufIncBufs, size: pbufIncBufSize, inc: true})
		if err == nil {
			return nil
		}
		if err != unix.EINVAL {
			return err
		}
	}
	return u.mapBufs(pbufLayout{n: ringBufs, size: ringBufSize})
}

// mapBufs sets up the buffers as l says; on an error nothing is left
// mapped or registered.
func (u *uring) mapBufs(l pbufLayout) error {
	ringBytes := max(l.n*16, 4096) // the ring starts a page; the buffers follow
	hdrOff := ringBytes + l.n*l.size
	slotsOff := hdrOff + 64
	size := slotsOff + sendSlots*int(unsafe.Sizeof(sendSlot{}))
	mem, err := unix.Mmap(-1, 0, size, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANONYMOUS|unix.MAP_POPULATE)
	if err != nil {
		return err
	}
	reg := pbufReg{ringAddr: uint64(uintptr(unsafe.Pointer(&mem[0]))), ringEntries: uint32(l.n), bgid: bufGroup}
	if l.inc {
		reg.flags = pbufRingInc
		reg.minLeft = pbufMinLeft
	}
	if err := u.register(registerPbufRing, unsafe.Pointer(&reg), 1); err != nil {
		unix.Munmap(mem)
		return err
	}
	u.bufMem, u.pbuf = mem, l
	u.bufTail = (*uint32)(unsafe.Pointer(&mem[12]))
	u.bufs = uintptr(unsafe.Pointer(&mem[ringBytes]))
	u.recvHdr = (*unix.Msghdr)(unsafe.Pointer(&mem[hdrOff]))
	u.recvHdr.Namelen = recvNameLen
	u.recvHdr.SetControllen(recvCtrlLen)
	u.slots = unsafe.Slice((*sendSlot)(unsafe.Pointer(&mem[slotsOff])), sendSlots)
	if l.inc {
		u.bufOff = make([]uint32, l.n)
	}
	for i := range l.n {
		u.provide(uint16(i))
	}
	u.publishBufs()
	return nil
}

// provide gives buffer bid back to the kernel, whole; publishBufs makes
// what was given visible.
func (u *uring) provide(bid uint16) {
	e := (*[16]byte)(unsafe.Pointer(&u.bufMem[int(u.bufNext)&(u.pbuf.n-1)*16]))
	*(*uint64)(unsafe.Pointer(&e[0])) = uint64(u.bufs) + uint64(bid)*uint64(u.pbuf.size)
	*(*uint32)(unsafe.Pointer(&e[8])) = uint32(u.pbuf.size)
	*(*uint16)(unsafe.Pointer(&e[12])) = bid
	u.bufNext++
}

func (u *uring) publishBufs() {
	v := atomic.LoadUint32(u.bufTail)
	atomic.StoreUint32(u.bufTail, v&0xffff|uint32(u.bufNext)<<16)
}

// datagram returns the n bytes a recvmsg's completion says it put in
// buffer bid (its header, then its payload); nil if they do not fit in
// the buffer, which a kernel keeping to its side never does.
func (u *uring) datagram(bid uint16, n int) []byte {
	if int(bid) >= u.pbuf.n || n < 0 {
		return nil
	}
	off := 0
	if u.bufOff != nil {
		off = int(u.bufOff[bid])
	}
	if off+n > u.pbuf.size {
		return nil
	}
	at := int(u.bufs-uintptr(unsafe.Pointer(&u.bufMem[0]))) + int(bid)*u.pbuf.size + off
	return u.bufMem[at : at+n : at+n]
}

// release accounts for a completion of a recvmsg that had buffer bid, res
// and flags its result and flags, once what it put there is read: the
// buffer goes back to the kernel once the kernel is done with it.
func (u *uring) release(bid uint16, res int32, flags uint32) {
	if int(bid) >= u.pbuf.n {
		return
	}
	if u.bufOff == nil {
		u.provide(bid)
		return
	}
	if res < 0 {
		// A failure reports no buffer; were one reported, the
		// kernel has consumed none of it (io_kbuf_commit), and it
		// is left to it rather than put in the ring twice.
		return
	}
	if flags&cqeFBufMore != 0 {
		u.bufOff[bid] += uint32(res)
		return
	}
	u.bufOff[bid] = 0
	u.provide(bid)
}
