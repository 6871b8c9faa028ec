package media

import (
	"context"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// A poller with an io_uring ring (uring_linux.go) runs loopRing instead of
// loop. The rules of poller_linux.go hold: a detached socket is read,
// written and closed only on the poller's goroutine. Two more: a socket's
// descriptor is closed only once its recvmsg has ended (the ring holds the
// socket open until then) and only right after a submission, so that no
// queued send names a descriptor number already closed (and maybe reused).

// relayIOMode reports whether the relay's pollers use io_uring: the
// default where the kernel allows it, unless SWITCHBOARD_RELAY_IO=epoll.
func relayIOMode() bool {
	switch os.Getenv("SWITCHBOARD_RELAY_IO") {
	case "epoll":
		return false
	case "uring":
	default:
		if !relayIOUringDefault {
			return false
		}
	}
	return uringWorks()
}

// relayIOUringDefault is whether io_uring is used unless the environment
// says otherwise.
const relayIOUringDefault = true

var uringProbe = sync.OnceValue(func() bool {
	ok := make(chan bool)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		u, err := newUring()
		if err != nil {
			ok <- false
			return
		}
		u.close()
		ok <- true
	}()
	return <-ok
})

// uringWorks reports whether a ring as the pollers set it up can be made.
func uringWorks() bool { return uringProbe() }

// loopRing is the goroutine of a poller with a ring: it submits the
// round's sends, collects the completions, relays them, and naps; it ends
// when it has no socket left. When no ring can be made it carries on as
// loop, with the epoll set.
func (p *poller) loopRing() {
	pprof.SetGoroutineLabels(context.Background())
	runtime.LockOSThread()
	u, err := newUring()
	if err != nil {
		runtime.UnlockOSThread()
		p.mu.Lock()
		p.ring = false
		for _, s := range p.socks {
			if s.handle != nil && !s.closed {
				if err := p.watch(s); err != nil {
					s.readErr(err)
				}
			}
		}
		clear(p.arms)
		p.arms = p.arms[:0]
		p.mu.Unlock()
		p.loop()
		return
	}
	p.mu.Lock()
	p.ur = u
	p.mu.Unlock()
	p.reserveProc()
	r := ringRound{p: p, u: u, b: getBatch(), sockEp: p.newSockEp()}
	r.run()
	putBatch(r.b)
	p.closeSockEp(r.sockEp)
	u.close()
	runtime.UnlockOSThread()
}

// reserveProc adds a processor to the runtime the first time p's ring
// runs: the ring's nap (ringRound.nap) holds this thread's processor while it
// sleeps, and the rest of the program keeps the processors it had.
// Processors are not given back when a poller goes idle: an idle one
// costs nothing, and each change stops the world.
func (p *poller) reserveProc() {
	if p.reserved.Load() {
		return
	}
	procsMu.Lock()
	p.reserved.Store(true)
	runtime.GOMAXPROCS(runtime.GOMAXPROCS(0) + 1)
	procsMu.Unlock()
}

// procsMu orders the pollers' changes of GOMAXPROCS.
var procsMu sync.Mutex

// ringRound is loopRing's state.
type ringRound struct {
	p *poller
	u *uring
	b *batch

	arms   []*sock   // to arm a recvmsg on
	closes []*sock   // to close: cancel the recvmsg, or close at once
	later  []*sock   // to close right after the next submission
	got    int       // completions of the round
	pkts   int       // datagrams the round relayed
	last   time.Time // when the last round began

	// slots are the sockets with a recvmsg armed or ending, by the
	// index their completions carry (sock.slot; 0 is none), so that a
	// completion finds its socket with no lock or map; free are the
	// indexes free again.
	slots  []*sock
	free   []uint32
	behind bool // the round filled a batch, or ran out of buffers

	wake, wakeEnded bool // the round had a wake-up; its poll ended

	// sockEp is an epoll set of the sockets with a recvmsg armed, in
	// the poller's own set (p.epfd, waited on in the runtime's poller)
	// but armed there only while the poller is idle (idle); -1 when none
	// could be made.
	sockEp int
}

func (r *ringRound) run() {
	p, u := r.p, r.u
	wakeArmed := false
	idle := 0 // rounds in a row that got nothing
	for {
		p.mu.Lock()
		r.arms = append(r.arms, p.arms...)
		r.closes = append(r.closes, p.closes...)
		clear(p.arms)
		clear(p.closes)
		p.arms, p.closes = p.arms[:0], p.closes[:0]
		p.mu.Unlock()
		if !wakeArmed {
			wakeArmed = u.armWake(p.wake)
		}
		r.arm()
		r.close()
		r.submit(enterGetEvents)
		now := time.Now()
		p.mu.Lock()
		if p.owned == 0 && len(p.socks) == 0 && len(p.arms) == 0 && len(p.closes) == 0 {
			p.running = false
			p.ur = nil
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		r.gather()
		if r.wake {
			var buf [8]byte
			unix.Read(p.wake, buf[:])
			wakeArmed = wakeArmed && !r.wakeEnded
		}
		switch {
		case r.behind:
			// A burst, a flood: the sends go now, and the loop goes
			// round again at once, the packets are there.
			r.submit(0)
		case r.got > 0 || len(r.later) > 0 || len(r.arms) > 0 || len(r.closes) > 0:
			// The round's sends go now; then a nap while packets
			// gather (r.nap).
			r.submit(0)
			if ringNap > 0 {
				r.nap(r.napFor(now))
			}
		case idle < r.lullNaps() && ringNap > 0:
			// Nothing came, but lately something did: a lull between
			// the senders' packets, most likely. A nap as after a
			// round, but one the runtime sees (r.lull).
			idle++
			r.lull(ringNap)
		case r.sockEp >= 0:
			// Nothing came for a while: wait for something to.
			if r.sleep() {
				r.idle()
				r.woken()
			}
		case idle < lullNaps+idleNaps && pollerNap > 0:
			// Nothing came, lately something did: nap as after a
			// round. A wait in io_uring_enter blocks this thread in a
			// system call with its processor, which the runtime takes
			// back only when its monitor next looks (up to 10 ms): the
			// goroutines queued there (SIP, calls) would wait as long.
			idle++
			time.Sleep(pollerNap)
		default:
			// Nothing came for a while: wait in the kernel for
			// something to (a datagram, or the wake-up eventfd).
			if r.sleep() {
				r.wait(1)
				r.woken()
			}
		}
		if r.got > 0 || r.behind {
			idle = 0
		}
		r.last = now
	}
}

// wait submits what is queued and waits for n completions.
func (r *ringRound) wait(n int) {
	r.u.wait(n)
	r.closeSubmitted()
}

// closeSubmitted closes the sockets waiting for a submission, once
// everything queued is submitted.
func (r *ringRound) closeSubmitted() {
	if r.u.submitted != atomic.LoadUint32(r.u.sqHead) {
		return
	}
	r.closeLater()
}

// closeLater closes the sockets waiting for a submission, which has
// happened, and frees their receives' slots: a socket is in r.later only
// once its recvmsg has ended, its last completion reaped.
func (r *ringRound) closeLater() {
	for _, s := range r.later {
		if s.slot != 0 {
			r.slots[s.slot] = nil
			r.free = append(r.free, s.slot)
			s.slot = 0
		}
		r.p.closeFD(s)
	}
	clear(r.later)
	r.later = r.later[:0]
}

// submit enters the ring with flags; once everything queued is submitted,
// it closes the sockets waiting for that.
func (r *ringRound) submit(flags uintptr) {
	if r.u.enter(flags) != nil {
		return
	}
	r.closeLater()
}

// closeFD closes s's descriptor, which no request of the ring holds.
func (p *poller) closeFD(s *sock) {
	p.mu.Lock()
	delete(p.socks, s.id)
	unix.Close(s.fd)
	p.owned--
	close(s.done)
	p.mu.Unlock()
}

// sleep tells the goroutines that ask something of the poller (serve,
// close) to wake it from now on, unless they asked already: then it
// reports false, and the poller goes round instead of waiting. woken
// ends what sleep began.
func (r *ringRound) sleep() bool {
	p := r.p
	p.mu.Lock()
	defer p.mu.Unlock()
	p.waiting = len(p.arms) == 0 && len(p.closes) == 0
	return p.waiting
}

func (r *ringRound) woken() {
	r.p.mu.Lock()
	r.p.waiting = false
	r.p.mu.Unlock()
}

// requested reports arms or closes waiting for the poller's goroutine.
func (p *poller) requested() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.arms) > 0 || len(p.closes) > 0
}

// arm arms a recvmsg on each socket waiting for one.
func (r *ringRound) arm() {
	k := 0
	for _, s := range r.arms {
		if s.closed || s.armed {
			continue
		}
		if s.slot == 0 {
			r.takeSlot(s)
		}
		if !r.u.armRecv(s) {
			r.arms[k] = s
			k++
			continue
		}
		if r.sockEp >= 0 && !s.watched {
			ev := unix.EpollEvent{Events: unix.EPOLLIN}
			*(*uint64)(unsafe.Pointer(&ev.Fd)) = s.id
			s.watched = unix.EpollCtl(r.sockEp, unix.EPOLL_CTL_ADD, s.fd, &ev) == nil
		}
	}
	clear(r.arms[k:])
	r.arms = r.arms[:k]
}

// takeSlot gives s a slot in r.slots, the index its receives' completions
// carry.
func (r *ringRound) takeSlot(s *sock) {
	if n := len(r.free); n > 0 {
		s.slot = r.free[n-1]
		r.free = r.free[:n-1]
	} else {
		if len(r.slots) == 0 {
			r.slots = append(r.slots, nil) // slot 0: none
		}
		s.slot = uint32(len(r.slots))
		r.slots = append(r.slots, nil)
	}
	r.slots[s.slot] = s
}

// close carries out the close requests: a socket with a recvmsg in flight
// has it cancelled (its descriptor closes when the recvmsg ends), another
// closes after the next submission.
func (r *ringRound) close() {
	k := 0
	for _, s := range r.closes {
		if s.armed {
			if !r.u.cancelRecv(s) {
				r.closes[k] = s
				k++
				continue
			}
		} else if !s.closed {
			r.later = append(r.later, s)
		}
		s.closed = true
	}
	clear(r.closes[k:])
	r.closes = r.closes[:k]
}

// gather relays what the round's first entry brought, and enters again
// while the kernel may have left some of its deferred work (datagrams to
// receive) for later (ringTaskRuns). Under a flood that never ends it
// stops after gatherEntries entries, behind: the next round comes at
// once, and carries out the requests (arms, closes) meanwhile.
func (r *ringRound) gather() {
	r.got, r.pkts, r.behind, r.wake, r.wakeEnded = 0, 0, false, false, false
	for range gatherEntries {
		if r.reap() < ringTaskRuns {
			return
		}
		r.submit(enterGetEvents)
	}
	r.reap()
	r.behind = true
}

// gatherEntries bounds a round's entries: enough for 2,560 sockets or
// more, the 2,048 RTP sockets of a poller's 1,024 relays (pollerRelays)
// with room to spare.
const gatherEntries = 128

// reap relays what the completion queue holds: datagrams from one socket
// in a row make one batch for its handler. It returns the number of
// completions, and adds them to the round's counts (r.got, r.pkts).
func (r *ringRound) reap() int {
	u, b := r.u, r.b
	head, tail := *u.cqHead, atomic.LoadUint32(u.cqTail)
	n := 0
	var cur *sock // the socket of the batch being gathered
	b.n = 0       // a pooled batch comes as its last reader left it
	deliver := func() {
		if b.n > 0 && !cur.closed {
			cur.handle(b)
		}
		b.n = 0
	}
	for ; head != tail; head++ {
		c := u.cqes[head&u.cqMask]
		n++
		id := c.userData & userIDMask
		switch c.userData &^ userIDMask {
		case userWake:
			r.wake = true
			r.wakeEnded = r.wakeEnded || c.flags&cqeFMore == 0
		case userSend: // a failure: a rare lookup
			r.p.mu.Lock()
			s := r.p.socks[id]
			r.p.mu.Unlock()
			if s != nil {
				s.sendFailed()
			}
		case userRecv:
			var s *sock
			if id < uint64(len(r.slots)) {
				s = r.slots[id]
			}
			if c.flags&cqeFBuffer != 0 {
				bid := uint16(c.flags >> 16)
				if s != nil && !s.closed && c.res >= recvPayloadOffset {
					if s != cur || b.n == batchSize {
						deliver()
						cur = s
					}
					r.take(b, s, bid, int(c.res))
					r.pkts++
					r.behind = r.behind || b.n == batchSize
				}
				u.release(bid, c.res, c.flags)
			}
			if s == nil || c.flags&cqeFMore != 0 {
				break
			}
			s.armed = false
			switch {
			case s.closed:
				r.later = append(r.later, s)
			case c.res < 0 && c.res != -int32(unix.ENOBUFS):
				s.readErr(unix.Errno(-c.res))
				r.arms = append(r.arms, s)
			default: // out of buffers, or ended: again, with this round's back
				if c.res == -int32(unix.ENOBUFS) {
					if l := s.from.Load(); l != nil {
						if cs := l.counts(); cs != nil {
							cs.noBuffers.Add(1)
						}
					}
				}
				r.arms = append(r.arms, s)
				r.behind = true
			}
		}
	}
	deliver()
	atomic.StoreUint32(u.cqHead, head)
	u.publishBufs()
	r.got += n
	return n
}

// take copies the datagram in buffer bid (n bytes from the kernel: the
// recvmsg header, then the payload) into b. The kernel's count of the
// socket's receive queue drops, when the datagram carries one, adds what
// is new to b.overflow.
func (r *ringRound) take(b *batch, s *sock, bid uint16, n int) {
	buf := r.u.datagram(bid, n)
	if len(buf) < recvPayloadOffset {
		return
	}
	if b.n == 0 {
		b.overflow = 0
	}
	// The header, where it is aligned: datagrams follow one another in
	// an incrementally consumed buffer, at any byte.
	var hdr [(recvPayloadOffset + 7) / 8]uint64
	h := unsafe.Slice((*byte)(unsafe.Pointer(&hdr[0])), recvPayloadOffset)
	copy(h, buf)
	ctrl := int(*(*uint32)(unsafe.Pointer(&h[4])))
	if v, ok := rxqDrops(h[recvCtrlOffset : recvCtrlOffset+min(ctrl, recvCtrlLen)]); ok {
		b.overflow += s.rxq.update(v)
	}
	payload := int(*(*uint32)(unsafe.Pointer(&h[8])))
	l := copy(b.bufs[b.n][:], buf[recvPayloadOffset:min(len(buf), recvPayloadOffset+payload)])
	b.lens[b.n] = l
	b.srcs[b.n] = sockaddrAddrPort((*unix.RawSockaddrInet6)(unsafe.Pointer(&h[recvmsgOutSize])))
	b.n++
}
