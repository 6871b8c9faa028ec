package media

import (
	"context"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// On Linux a relay's sockets are served by a poller, not by a goroutine
// per socket waiting in the Go runtime's network poller.
//
// Why: at a phone's pace every leg gets a packet each 20 ms, and a
// goroutine per socket means the runtime wakes up, schedules a goroutine
// and parks it again for each packet; the scheduling, the poll and the
// context switches (a phone's packet wakes the relay, the relayed packet
// wakes the phone) cost more than reading and sending the packet. A poller
// is one goroutine with an epoll set of its own (or an io_uring ring,
// uring_poller_linux.go, where the kernel allows): it waits for readiness,
// relays what every ready socket holds, and then sleeps for pollerNap (a
// poller with a ring, ringNap), so that one wake-up serves every packet
// that arrived meanwhile (about a hundred at a thousand calls). Audio
// waits at most that much longer, well inside a phone's jitter buffer.
//
// For the runtime's own poller not to wake on these sockets too, a relay
// socket is never a net.UDPConn: it is opened for its poller
// (socket_linux.go), detached from the runtime's poller from the start.
//
// The rule that keeps file descriptors safe: a detached socket is read,
// written and closed only on its poller's goroutine, and both legs of a
// relay belong to one poller (the reader of one leg sends through the
// other). Closing from elsewhere (PortPair.close) is a request the poller
// carries out between two rounds; until then the descriptor stays open, so
// its number cannot be reused under a send.

// pollerNap is how long a poller sleeps after a round of reading, to let
// packets gather; 0 would read each as it comes.
var pollerNap = time.Millisecond

// sock is a relay socket detached from the runtime's poller.
type sock struct {
	fd int
	v6 bool // an IPv6 socket (one bound to an unspecified address too)
	p  *poller

	// Set by serve; the poller calls handle with each batch read.
	handle  func(*batch)
	readErr func(error)
	id      uint64

	done   chan struct{} // closed once the poller closed fd
	closed bool          // the poller's goroutine alone, once registered

	// The sending leg whose drops a send the ring refuses counts
	// (newSendQueue sets it before the first send).
	from atomic.Pointer[leg]
	// With a ring (uring_poller_linux.go), the poller's goroutine alone:
	armed   bool   // a recvmsg is in flight on fd
	watched bool   // in the ring's set of sockets to wait for when idle
	slot    uint32 // the recvmsg's index in ringRound.slots; 0 none

	rxq rxqCount // the socket's receive queue drops, as last read

	// What a raw send from this socket's address takes (rawsend_linux.go):
	// the raw socket (-1: none, the socket sends), its IPv4 address (zero
	// when bound to none) and port.
	rawFD int
	src4  [4]byte
	port  uint16
}

// sendFailed counts a packet that could not be sent through s.
func (s *sock) sendFailed() {
	if l := s.from.Load(); l != nil {
		l.drop(dropSendError, 1)
	}
}

// pairSocks is a port pair's sockets once detached.
type pairSocks struct {
	rtp, rtcp *sock
}

// poller relays for the sockets registered with it; see above.
type poller struct {
	epfd int
	ep   syscall.RawConn // epfd, waited on in the runtime's poller
	wake int             // an eventfd that interrupts the wait

	mu      sync.Mutex
	socks   map[uint64]*sock // detached and not closed, by id
	owned   int              // detached sockets not yet closed
	closes  []*sock          // close requests not yet carried out
	running bool
	nextID  uint64

	// ring is whether the poller reads through an io_uring ring rather
	// than its epoll set (p.mu); ur is the ring while its loop runs,
	// set under p.mu and read on the poller's goroutine.
	ring bool
	ur   *uring
	arms []*sock // sockets to arm a recvmsg on (p.mu)
	// waiting is whether the ring's goroutine waits for a datagram or
	// the wake-up eventfd (p.mu): a request (an arm, a close) writes the
	// eventfd only then. Between its rounds the goroutine finds the
	// requests by itself, and a write would only wake the ring for
	// nothing (ringRound.sleep).
	waiting bool

	relays atomic.Int64 // relays placed here and not yet released (pickPoller)

	// reserved is whether a processor was added for this poller's ring
	// (reserveProc).
	reserved atomic.Bool

	// lullSockets is, for a ring poller, the sockets from which it naps
	// through a lull (ringRound.lullNaps); a test's poller may lower it.
	lullSockets int
}

var (
	pollersOnce sync.Once
	pollers     []*poller
	pollersErr  error
	// pollersUseRing is whether the pollers read through io_uring; set
	// once with the pollers (relayIOMode).
	pollersUseRing bool
	// pollersProcs is GOMAXPROCS when the pollers were made, before any
	// added a processor of its own (reserveProc).
	pollersProcs int
)

// pickPoller returns the poller for a new relay; nil when epoll is
// unavailable (the sockets then stay with the runtime's poller). The
// caller gives the relay back with releasePoller.
//
// There is one poller per processor, and they fill in turn: a new relay
// goes to the first poller serving fewer than pollerRelays, and only when
// every one serves that many to the least busy. Each poller's round costs
// a wake-up, whatever the packets in it (tens of microseconds of
// scheduling on a virtual machine): a second poller at a moderate load
// doubles that cost and halves the packets it is spread over, while one
// poller relays a thousand calls with most of a core to spare.
func pickPoller() *poller {
	if !usePollers {
		return nil
	}
	pollersOnce.Do(func() {
		n := max(1, runtime.GOMAXPROCS(0))
		pollersProcs = runtime.GOMAXPROCS(0)
		pollersUseRing = relayIOMode()
		for range n {
			p, err := newPoller()
			if err != nil {
				pollersErr = err
				return
			}
			pollers = append(pollers, p)
		}
	})
	if len(pollers) == 0 {
		return nil
	}
	best := pollers[0]
	for _, p := range pollers {
		n := p.relays.Load()
		if n < pollerRelays {
			best = p
			break
		}
		if n < best.relays.Load() {
			best = p
		}
	}
	best.relays.Add(1)
	return best
}

// pollerRelays is how many relays a poller serves before the next one
// takes new relays: at a phone's pace, 100 packets a second each way per
// relay, a thousand relays are 100,000 packets a second.
const pollerRelays = 1024

// releasePoller gives back a relay that pickPoller placed on p.
func releasePoller(p *poller) {
	if p != nil {
		p.relays.Add(-1)
	}
}

func newPoller() (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	wake, err := unix.Eventfd(0, unix.EFD_CLOEXEC|unix.EFD_NONBLOCK)
	if err != nil {
		unix.Close(epfd)
		return nil, err
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN} // id 0: the wake-up
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &ev); err != nil {
		unix.Close(epfd)
		unix.Close(wake)
		return nil, err
	}
	// The poller's goroutine waits for its epoll set to have something
	// ready as a goroutine waits for a socket: parked in the runtime's
	// poller, holding no thread, woken once for the whole set.
	if err := unix.SetNonblock(epfd, true); err != nil {
		unix.Close(epfd)
		unix.Close(wake)
		return nil, err
	}
	ep, err := os.NewFile(uintptr(epfd), "relay-epoll").SyscallConn()
	if err != nil {
		unix.Close(epfd)
		unix.Close(wake)
		return nil, err
	}
	p := &poller{epfd: epfd, ep: ep, wake: wake, socks: make(map[uint64]*sock), lullSockets: lullSockets}
	p.ring = pollersUseRing
	return p, nil
}

// serve has the poller read s from now on, calling handle with each
// batch, until s is closed (s.done tells when); it returns at once.
func (p *poller) serve(s *sock, handle func(*batch), readErr func(error)) error {
	p.mu.Lock()
	select {
	case <-s.done:
		p.mu.Unlock()
		return nil
	default:
	}
	s.handle, s.readErr = handle, readErr
	if p.ring {
		p.arms = append(p.arms, s)
	} else if err := p.watch(s); err != nil {
		s.handle, s.readErr = nil, nil
		p.mu.Unlock()
		return err
	}
	p.start()
	wake := p.ring && p.waiting
	p.mu.Unlock()
	if wake {
		p.interrupt()
	}
	return nil
}

// watch adds s to the epoll set; p.mu is held.
func (p *poller) watch(s *sock) error {
	ev := unix.EpollEvent{Events: unix.EPOLLIN}
	*(*uint64)(unsafe.Pointer(&ev.Fd)) = s.id
	return unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, s.fd, &ev)
}

// close asks the poller to close s; it returns at once. A socket no poller
// goroutine can touch (none runs) is closed here.
func (p *poller) close(s *sock) {
	p.mu.Lock()
	if p.running {
		p.closes = append(p.closes, s)
		wake := !p.ring || p.waiting
		p.mu.Unlock()
		if wake {
			p.interrupt()
		}
		return
	}
	p.finish(s)
	p.mu.Unlock()
}

// finish closes s's descriptor; p.mu is held, and no round is under way
// or it is the poller's own goroutine that calls.
func (p *poller) finish(s *sock) {
	if s.closed {
		return
	}
	s.closed = true
	if s.handle != nil && !p.ring {
		unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, s.fd, nil)
	}
	delete(p.socks, s.id)
	unix.Close(s.fd)
	p.owned--
	close(s.done)
}

func (p *poller) interrupt() {
	one := [8]byte{1}
	unix.Write(p.wake, one[:])
}

// start runs the poller's goroutine unless it runs; p.mu is held.
func (p *poller) start() {
	if p.running {
		return
	}
	p.running = true
	if p.ring {
		go p.loopRing()
		return
	}
	go p.loop()
}

// loop is the poller's goroutine: wait, read every ready socket, carry
// out the close requests, nap; it ends when it has no socket left.
func (p *poller) loop() {
	// Not a call's goroutine, whoever started it first.
	pprof.SetGoroutineLabels(context.Background())
	var evs [256]unix.EpollEvent
	for {
		n := 0
		p.ep.Read(func(fd uintptr) bool {
			r, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, fd, uintptr(unsafe.Pointer(&evs[0])),
				uintptr(len(evs)), 0, 0, 0)
			if errno != 0 {
				return errno != unix.EAGAIN && errno != unix.EINTR
			}
			n = int(r)
			return n > 0
		})
		behind := false // a socket still held a full batch: no nap
		for i := range n {
			id := *(*uint64)(unsafe.Pointer(&evs[i].Fd))
			if id == 0 {
				var buf [8]byte
				unix.Read(p.wake, buf[:])
				continue
			}
			p.mu.Lock()
			s := p.socks[id]
			p.mu.Unlock()
			if s != nil && !s.closed && p.read(s) {
				behind = true
			}
		}
		p.mu.Lock()
		for _, s := range p.closes {
			p.finish(s)
		}
		clear(p.closes)
		p.closes = p.closes[:0]
		if p.owned == 0 && len(p.socks) == 0 {
			p.running = false
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		if pollerNap > 0 && !behind {
			// Parked, not in a system call: a goroutine blocked in one
			// keeps the runtime's monitor waking every 20 us to take
			// its processor back. A poller that fell behind (a burst,
			// a flood) goes round again at once: the nap is for
			// gathering packets, and they are there already.
			time.Sleep(pollerNap)
		}
	}
}

// pollerBatches is the most batches read from one socket in a round;
// what is left makes it ready again for the next.
const pollerBatches = 4

// read reads s until it is drained, or for pollerBatches batches, and
// hands each batch to s's handler. It reports whether s may hold more:
// its last read filled a batch.
func (p *poller) read(s *sock) (more bool) {
	b := getBatch()
	defer putBatch(b)
	for k := 0; k < pollerBatches && !s.closed; {
		n, errno := recvmmsg(uintptr(s.fd), b)
		switch errno {
		case 0:
		case unix.EINTR:
			continue
		case unix.EAGAIN:
			return false
		default:
			s.readErr(errno)
			return false
		}
		b.fill(n, &s.rxq)
		s.handle(b)
		if n < batchSize {
			return false
		}
		k++
	}
	return !s.closed
}
