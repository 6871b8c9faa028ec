package media

import (
	"net/netip"
	"sync/atomic"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The io_uring side of a poller: a ring of its own, driven with raw
// io_uring_setup(2) and io_uring_enter(2) calls, no cgo.
//
// Every socket the poller reads has a multishot recvmsg armed, which
// takes its buffers from a ring of buffers the poller provides, so that
// datagrams are read by the kernel as they arrive and wait as completions;
// what a round relays is queued as sendmsg requests; and one
// io_uring_enter both submits the round's sends and collects what arrived
// meanwhile. A packet then costs no system call of its own: the calls are
// per round, whatever the number of packets and sockets in it.
//
// The ring is set up with DEFER_TASKRUN and SINGLE_ISSUER: completions
// are produced only when the poller enters the kernel (no interrupting of
// its thread), and only the thread that created the ring may use it, so
// the poller's goroutine is locked to its thread while the ring lives.
// A poller with nothing to do waits in io_uring_enter for a completion;
// the poller's wake-up eventfd has a multishot poll armed in the ring, so
// that a request from another goroutine (a socket to read, one to close)
// ends that wait.

// From linux/io_uring.h.
const (
	opPollAdd     = 6
	opSendmsg     = 9
	opRecvmsg     = 10
	opAsyncCancel = 14

	sqeBufferSelect   = 1 << 5
	sqeCQESkipSuccess = 1 << 6

	setupCQSize       = 1 << 3
	setupSubmitAll    = 1 << 7
	setupSingleIssuer = 1 << 12
	setupDeferTaskrun = 1 << 13
	ringFlags         = setupCQSize | setupSubmitAll | setupSingleIssuer | setupDeferTaskrun

	featSingleMmap = 1 << 0
	featNoDrop     = 1 << 1

	enterGetEvents = 1 << 0

	cqeFBuffer    = 1 << 0
	cqeFMore      = 1 << 1
	recvMultishot = 1 << 1
	pollAddMulti  = 1

	registerPbufRing = 22

	offSQRing = 0
	offSQEs   = 0x10000000

	recvmsgOutSize = 16 // struct io_uring_recvmsg_out
)

// The poller's ring.
const (
	sqEntries   = 1024
	cqEntries   = 8192
	bufGroup    = 0
	ringBufs    = 4096            // provided buffers; a power of two (see below)
	ringBufSize = maxPacket + 128 // room for recvPayloadOffset

	// ringBufs: a read that finds no buffer free ends the socket's
	// multishot receive until the next round arms it again, and its
	// datagrams wait in the socket meanwhile. With 512, 1,000 recorded
	// calls under SIPp (bench/sb-calls.sh conc 1000, RECORD=1) ran out
	// 3.7 million times in the run and their sockets overflowed (123,000
	// datagrams lost); with 4,096 (8.9 MB a poller), 77 times, 16,000
	// lost, 25% more datagrams relayed for less CPU. These are the
	// buffers where the kernel cannot consume them incrementally
	// (uring_pbuf_linux.go), whose 1 MiB holds as many RTP datagrams.
	sendSlots         = 256 // sends queued between two submissions
	recvNameLen       = unix.SizeofSockaddrInet6
	recvCtrlOffset    = recvmsgOutSize + recvNameLen
	recvCtrlLen       = rxqCtrlLen // the receive queue's drop count
	recvPayloadOffset = recvCtrlOffset + recvCtrlLen

	// A request's user data: its kind, and its socket: the id (sock.id),
	// or for a recvmsg the slot (sock.slot).
	userKindShift = 56
	userRecv      = 1 << userKindShift
	userSend      = 2 << userKindShift
	userCancel    = 3 << userKindShift
	userWake      = 4 << userKindShift
	userIDMask    = 1<<userKindShift - 1
)

type uringSQE struct {
	opcode   uint8
	flags    uint8
	ioprio   uint16
	fd       int32
	off      uint64
	addr     uint64
	len      uint32
	opFlags  uint32
	userData uint64
	bufGroup uint16
	_        uint16
	_        uint32
	_        [2]uint64
}

type uringCQE struct {
	userData uint64
	res      int32
	flags    uint32
}

type uringParams struct {
	sqEntries, cqEntries, flags, sqThreadCPU, sqThreadIdle, features, wqFD uint32
	resv                                                                   [3]uint32
	sqOff                                                                  struct {
		head, tail, ringMask, ringEntries, flags, dropped, array, resv1 uint32
		resv2                                                           uint64
	}
	cqOff struct {
		head, tail, ringMask, ringEntries, overflow, cqes, flags, resv1 uint32
		resv2                                                           uint64
	}
}

// sendSlot is a queued sendmsg's header, address and copy of the packet;
// the kernel reads it while the request is submitted.
type sendSlot struct {
	hdr  unix.Msghdr
	iov  unix.Iovec
	to   unix.RawSockaddrInet6
	data [rawHeaders + maxPacket + srtpOverhead]byte
}

// uring is a poller's ring; only the poller's goroutine, locked to the
// thread that made it, touches it.
type uring struct {
	fd      int
	ringMem []byte // the SQ and CQ rings (one mapping)
	sqeMem  []byte
	bufMem  []byte // the provided buffers' ring, then the buffers

	sqHead, sqTail, sqFlags *uint32
	sqMask                  uint32
	sqes                    []uringSQE
	sqLocal                 uint32 // the tail as filled, not yet published
	submitted               uint32 // the tail as published

	cqHead, cqTail, cqFlags *uint32
	cqMask                  uint32
	cqes                    []uringCQE

	bufTail *uint32 // the 32 bits that end the ring's first entry: bid, tail
	bufs    uintptr // address of the first buffer
	bufNext uint16
	pbuf    pbufLayout // the buffers' number and size (uring_pbuf_linux.go)
	bufOff  []uint32   // with incremental buffers: each buffer's bytes consumed

	recvHdr *unix.Msghdr // what every recvmsg reads: the name's length
	slots   []sendSlot   // in bufMem
	nslots  int          // slots queued since the last submission
}

// newUring sets up a ring; it must be called on the thread that will use
// it.
func newUring() (*uring, error) {
	var p uringParams
	p.flags = ringFlags
	p.cqEntries = cqEntries
	fd, _, errno := unix.Syscall(unix.SYS_IO_URING_SETUP, sqEntries, uintptr(unsafe.Pointer(&p)), 0)
	if errno != 0 {
		return nil, errno
	}
	u := &uring{fd: int(fd)}
	if p.features&featSingleMmap == 0 || p.features&featNoDrop == 0 {
		unix.Close(u.fd)
		return nil, unix.ENOSYS
	}
	ok := false
	defer func() {
		if !ok {
			u.close()
		}
	}()
	ringSize := max(int(p.sqOff.array)+int(p.sqEntries)*4, int(p.cqOff.cqes)+int(p.cqEntries)*int(unsafe.Sizeof(uringCQE{})))
	var err error
	if u.ringMem, err = unix.Mmap(u.fd, offSQRing, ringSize, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		return nil, err
	}
	if u.sqeMem, err = unix.Mmap(u.fd, offSQEs, int(p.sqEntries)*int(unsafe.Sizeof(uringSQE{})), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE); err != nil {
		return nil, err
	}
	at := func(off uint32) *uint32 { return (*uint32)(unsafe.Pointer(&u.ringMem[off])) }
	u.sqHead, u.sqTail, u.sqFlags = at(p.sqOff.head), at(p.sqOff.tail), at(p.sqOff.flags)
	u.sqMask = *at(p.sqOff.ringMask)
	arr := unsafe.Slice(at(p.sqOff.array), p.sqEntries)
	for i := range arr {
		arr[i] = uint32(i) // SQE i at ring slot i, for good
	}
	u.sqes = unsafe.Slice((*uringSQE)(unsafe.Pointer(&u.sqeMem[0])), p.sqEntries)
	u.sqLocal = atomic.LoadUint32(u.sqTail)
	u.submitted = u.sqLocal
	u.cqHead, u.cqTail, u.cqFlags = at(p.cqOff.head), at(p.cqOff.tail), at(p.cqOff.flags)
	u.cqMask = *at(p.cqOff.ringMask)
	u.cqes = unsafe.Slice((*uringCQE)(unsafe.Pointer(&u.ringMem[p.cqOff.cqes])), p.cqEntries)

	if err := u.setupBufs(); err != nil {
		return nil, err
	}
	ok = true
	return u, nil
}

func (u *uring) register(op uintptr, arg unsafe.Pointer, n uintptr) error {
	_, _, errno := unix.Syscall6(unix.SYS_IO_URING_REGISTER, uintptr(u.fd), op, uintptr(arg), n, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}

// close releases the ring; requests still in flight are cancelled by the
// kernel.
func (u *uring) close() {
	if u.ringMem != nil {
		unix.Munmap(u.ringMem)
	}
	if u.sqeMem != nil {
		unix.Munmap(u.sqeMem)
	}
	unix.Close(u.fd)
	if u.bufMem != nil {
		unix.Munmap(u.bufMem)
	}
}

// sqe returns a cleared submission entry, submitting what is queued first
// when the ring is full; nil when the kernel refuses to take more now.
func (u *uring) sqe() *uringSQE {
	if u.sqLocal-atomic.LoadUint32(u.sqHead) >= uint32(len(u.sqes)) {
		if u.enter(0) != nil {
			return nil
		}
	}
	e := &u.sqes[u.sqLocal&u.sqMask]
	*e = uringSQE{}
	u.sqLocal++
	return e
}

// enter submits what is queued and, with enterGetEvents, runs the
// kernel's deferred completions; it returns once everything queued was
// submitted (the send slots are free again then) or on an error.
func (u *uring) enter(flags uintptr) error {
	if u.sqLocal != u.submitted {
		atomic.StoreUint32(u.sqTail, u.sqLocal)
		u.submitted = u.sqLocal
	}
	for {
		n := u.submitted - atomic.LoadUint32(u.sqHead)
		if n == 0 && flags == 0 {
			u.nslots = 0
			return nil
		}
		_, _, errno := unix.RawSyscall6(unix.SYS_IO_URING_ENTER, uintptr(u.fd), uintptr(n), 0, flags, 0, 0)
		switch errno {
		case 0:
		case unix.EINTR:
			continue
		default:
			return errno
		}
		if u.submitted == atomic.LoadUint32(u.sqHead) {
			u.nslots = 0
			return nil
		}
		flags = 0
	}
}

// wait submits what is queued and waits in the kernel until n
// completions are there. Unlike enter, it is a blocking system call to
// the runtime, which may run the thread's processor meanwhile.
func (u *uring) wait(n int) {
	if u.sqLocal != u.submitted {
		atomic.StoreUint32(u.sqTail, u.sqLocal)
		u.submitted = u.sqLocal
	}
	sub := u.submitted - atomic.LoadUint32(u.sqHead)
	unix.Syscall6(unix.SYS_IO_URING_ENTER, uintptr(u.fd), uintptr(sub), uintptr(n), enterGetEvents, 0, 0)
	if u.submitted == atomic.LoadUint32(u.sqHead) {
		u.nslots = 0
	}
}

// armWake queues a multishot poll of the eventfd fd.
func (u *uring) armWake(fd int) bool {
	e := u.sqe()
	if e == nil {
		return false
	}
	e.opcode = opPollAdd
	e.fd = int32(fd)
	e.opFlags = unix.POLLIN
	e.len = pollAddMulti
	e.userData = userWake
	return true
}

// armRecv queues a multishot recvmsg on s; false when the ring is full
// (the caller tries again next round).
func (u *uring) armRecv(s *sock) bool {
	e := u.sqe()
	if e == nil {
		return false
	}
	e.opcode = opRecvmsg
	e.flags = sqeBufferSelect
	e.ioprio = recvMultishot
	e.fd = int32(s.fd)
	e.addr = uint64(uintptr(unsafe.Pointer(u.recvHdr)))
	e.len = 1
	e.bufGroup = bufGroup
	e.userData = userRecv | uint64(s.slot)
	s.armed = true
	return true
}

// cancelRecv queues the cancelling of s's recvmsg; false when the ring
// is full.
func (u *uring) cancelRecv(s *sock) bool {
	e := u.sqe()
	if e == nil {
		return false
	}
	e.opcode = opAsyncCancel
	e.fd = -1
	e.addr = userRecv | uint64(s.slot)
	e.flags = sqeCQESkipSuccess
	e.userData = userCancel | s.id
	return true
}

// send queues data for dst through s, copying it: the caller's buffer is
// free on return. It reports false, and why, when the packet is
// dropped: an address s cannot send to, or a ring that refuses more for
// now.
//
// A sendmsg: an IORING_OP_SEND naming the packet and the address itself
// (Linux 6.0 on) spares the kernel the msghdr's and iovec's copies, but
// perf at 100 calls found the request's own costs beside udp_sendmsg
// about the same (2.7% of the poller's samples against 3.0%:
// io_send_setup and move_addr_to_kernel instead of io_sendmsg_setup and
// io_msg_copy_hdr), and BenchmarkRelayCallsSpread no difference.
func (u *uring) send(s *sock, data []byte, dst netip.AddrPort) (dropReason, bool) {
	if u.nslots == len(u.slots) || u.sqLocal-atomic.LoadUint32(u.sqHead) >= uint32(len(u.sqes)) {
		if u.enter(0) != nil {
			return dropRingFull, false
		}
	}
	sl := &u.slots[u.nslots]
	tolen := putSockaddr(&sl.to, dst, s.v6)
	if tolen == 0 {
		return dropNoDestination, false
	}
	u.nslots++
	fd, raw := sl.rawSend(s, data, dst)
	if !raw {
		fd = s.fd
		n := copy(sl.data[:], data)
		sl.iov.Base = &sl.data[0]
		sl.iov.SetLen(n)
		sl.hdr = unix.Msghdr{Name: (*byte)(unsafe.Pointer(&sl.to)), Namelen: tolen, Iov: &sl.iov}
		sl.hdr.SetIovlen(1)
	}
	e := u.sqe() // there is room: no submission in between
	e.opcode = opSendmsg
	e.addr = uint64(uintptr(unsafe.Pointer(&sl.hdr)))
	e.len = 1
	e.flags = sqeCQESkipSuccess
	e.fd = int32(fd)
	e.opFlags = unix.MSG_DONTWAIT // fails at once on a full buffer, as sendto does
	e.userData = userSend | s.id
	return 0, true
}
