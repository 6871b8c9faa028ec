//go:build linux

package media

import (
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// How a ring poller waits between rounds: a nap while packets gather, or
// a wait in the kernel when nothing comes.

// idle waits, parked in the runtime's poller and holding no processor,
// until a socket has a datagram or another goroutine asks something of
// the poller (the wake-up eventfd). A datagram stays in its socket until
// the ring's recvmsg takes it, in the poller's next io_uring_enter: so
// readable sockets are what to wait for, and what arrived since the last
// round is not missed. The sockets' set is in the poller's set for the
// ring's whole life (newSockEp), and armed only for the wait, one-shot,
// so that datagrams arriving while the poller goes round wake no one. A
// packet that arrives meanwhile is relayed as soon as the runtime runs
// the poller, with no nap first.
//
// Arming is an EPOLL_CTL_MOD. An EPOLL_CTL_ADD of the set for each wait,
// as before, cost the kernel a check for loops and wake-up paths through
// every socket in the set (ep_loop_check_proc, reverse_path_check_proc),
// about 5% of the server's CPU at 200 calls a second; a MOD checks
// nothing. What the set in place costs while disarmed: a datagram's
// wake-up of the sockets' set goes on to the poller's, whose callback
// finds the item disarmed and returns (a lock and a test, beside the
// socket's own wake-ups of the ring and the set).
//
// The MOD still polls the set, and polling it walks every socket that has
// had a datagram since the set was last waited on: the ring took those
// datagrams, so each is found empty and dropped from the set's ready list,
// one by one. Under SIPp at 200 calls a second (about 450 relayed calls,
// 40% of the rounds empty: senders send in bursts) that was about 200 us
// a MOD, 100 a second, 4.2-5.6% of the server's samples (perf); at 1,000
// recorded calls, 6.1%. So the poller waits here only after a lull of
// lullNaps rounds (lull): under load, hardly ever.
//
// Tried before lull, on a machine too busy to tell much: up to five empty
// rounds' raw naps (nap) before the wait: no MODs, the server's CPU a
// call lower in five pairs of runs of six (medians 2,420 against 2,535
// us), but the processor the wait lends the rest of the server in a lull
// was kept too (setups of 20 ms or more at 400 calls a second 563-1,732 in
// four runs against 322-1,937 in six, SIPp overloaded); the same with
// time.Sleep, which lends it at every nap: futex and epoll_pwait took 8.8%
// of the samples against 3.5% (the processor's hand-offs), the server's
// CPU a call higher in two pairs of two (2,655-3,040 against 2,425-2,585
// us).
//
// And with no set of sockets at all: an eventfd registered with the
// ring (IORING_REGISTER_EVENTFD), in the poller's set for good, signalled
// by the kernel when the ring's deferred work goes from none to some, and
// only while the poller waits (IORING_CQ_EVENTFD_DISABLED cleared for the
// wait; IORING_SETUP_TASKRUN_FLAG's IORING_SQ_TASKRUN telling work that
// came before it). No walk, no EPOLL_CTL_ADD a socket, and
// BenchmarkRelayCallsPaced at 400 calls cost 4,258 against 4,524 ns a
// packet; but on Linux 6.18 the signal came 13-18 ms after the datagram
// (a raw poll(2) of the eventfd alone saw the same: the lateness is the
// kernel's, its cause not found), so the delay from phone to phone went
// from 3.2 to 10.8 ms on average, and the context switches a packet from
// 0.013 to 0.044. Not kept.
func (r *ringRound) idle() {
	p := r.p
	ev := sockEpEvent(unix.EPOLLIN | unix.EPOLLONESHOT)
	if unix.EpollCtl(p.epfd, unix.EPOLL_CTL_MOD, r.sockEp, &ev) != nil {
		time.Sleep(pollerNap)
		return
	}
	var evs [4]unix.EpollEvent
	fired := false
	p.ep.Read(func(fd uintptr) bool {
		n, _, errno := unix.RawSyscall6(unix.SYS_EPOLL_PWAIT, fd, uintptr(unsafe.Pointer(&evs[0])),
			uintptr(len(evs)), 0, 0, 0)
		if errno != 0 {
			return errno != unix.EAGAIN && errno != unix.EINTR
		}
		for _, e := range evs[:n] {
			fired = fired || epollID(&e) == sockEpID
		}
		return n > 0
	})
	if !fired {
		// Woken by the eventfd: the set is still armed, and would wake
		// the runtime's poller at the round's first datagram.
		ev := sockEpEvent(0)
		unix.EpollCtl(p.epfd, unix.EPOLL_CTL_MOD, r.sockEp, &ev)
	}
}

// sockEpID is the id of the sockets' set in the poller's: no socket's
// (they count from 1) nor the wake-up's (0).
const sockEpID = ^uint64(0)

// sockEpEvent returns the sockets' set's item in the poller's set, with
// events.
func sockEpEvent(events uint32) unix.EpollEvent {
	ev := unix.EpollEvent{Events: events}
	*(*uint64)(unsafe.Pointer(&ev.Fd)) = sockEpID
	return ev
}

// epollID returns the id an item of an epoll set was given.
func epollID(e *unix.EpollEvent) uint64 { return *(*uint64)(unsafe.Pointer(&e.Fd)) }

// newSockEp returns a new epoll set for the sockets of p's ring
// (ringRound.sockEp), already in p's own set, disarmed (no events) until
// idle arms it; -1 when none could be made. It joins p's set while it
// holds no socket, when the kernel's checks of the join are cheapest.
func (p *poller) newSockEp() int {
	fd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return -1
	}
	ev := sockEpEvent(0)
	if unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, fd, &ev) != nil {
		unix.Close(fd)
		return -1
	}
	return fd
}

// closeSockEp takes the sockets' set out of p's set and closes it.
func (p *poller) closeSockEp(fd int) {
	if fd < 0 {
		return
	}
	unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, fd, nil)
	unix.Close(fd)
}

// lullNaps is how many empty rounds in a row a ring poller with
// lullSockets sockets or more naps through (lull) before it waits in its
// sockets' set (idle): 10 of ringNap, 20 ms, a phone's packet time, so
// that a lull between packets costs no wait and no walk of the set. A nap
// in a lull costs wake-ups whatever the sockets (the runtime's monitor may
// hand the processor round), the walk it saves about 0.1 us a socket: a
// poller with fewer sockets waits at once, as before lull. At 100 calls
// whose phones all send at the same moment (BenchmarkRelayCallsPaced,
// lulls of 18 ms), ten naps a lull cost 7.9-8.8% of a core against
// 4.9-5.6 with none, and six times the context switches; one nap a lull,
// 7.2-7.5%. The SIPp runs measured in lull's comment relay about 450 and
// 1,000 calls of four sockets: above the threshold.
const (
	lullNaps    = 10
	lullSockets = 1000
)

// lullNaps returns how many empty rounds in a row r naps through before
// it waits: lullNaps with its poller's lullSockets sockets or more (a
// receive armed on each), else none.
func (r *ringRound) lullNaps() int {
	if len(r.slots)-len(r.free)-1 < r.p.lullSockets { // slot 0 is none
		return 0
	}
	return lullNaps
}

// lull naps for d in a system call the runtime sees: the thread's
// processor is left in its system call state, so that when the rest of
// the server has work queued and no processor idle, the runtime's monitor
// hands the processor to it, as idle lends it; otherwise the poller finds
// it again as it wakes, with no hand-off. A raw nap (nap) would keep it
// from the server's goroutines; time.Sleep would hand it round at every
// nap.
//
// Against idle after every empty round (4663e1e), alternated runs on one
// 2-CPU machine whose speed drifted by 20% between runs, so each run's
// server CPU is also given per second of SIPp's own CPU (the same work in
// every run): bench/sb-calls.sh conc 1000, recorded, 60.5 and 62.8% of a
// core (4.11 and 4.22) against 46.2 and 63.6% (3.70 and 4.07); cps 200,
// 1,955 and 2,210 us a call (643, 630) against 1,770 and 2,270 (600,
// 609); cps 400, 1,465, 1,528 and 1,688 us (310, 315, 310) against 1,412,
// 1,355 and 1,865 (292, 292, 297), setup p99 16, 16 and 52 ms against 8,
// 8 and 32, setups of 20 ms or more 13, 7 and 93 against 5, 3 and 97. The
// walk's 6.1% of the samples at 1,000 calls went to none (perf); the
// server's context switches rose by 7-27%.
func (r *ringRound) lull(d time.Duration) {
	ts := unix.NsecToTimespec(int64(d))
	unix.Syscall(unix.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&ts)), 0, 0)
}

// ringTaskRuns is the most deferred tasks the kernel runs in one
// io_uring_enter that does not wait (IO_LOCAL_TW_DEFAULT_MAX, Linux 6.13
// on; 40 when the entry also submits). A task is a socket's multishot
// recvmsg that has datagrams to take, and it yields a completion at
// least: a reap of ringTaskRuns completions or more may have left tasks
// behind, and the round enters again until one brings fewer. Without
// this, a round received from 20 to 40 sockets whatever the load, the
// rest waited in the kernel's list for the rounds to come, and the
// datagrams in their sockets: BenchmarkRelayCallsSpread, delay from
// phone to phone on average, 100 calls 14.8 ms, 400 calls 61.6 ms,
// 1,000 calls 188 ms (786 ms at most), against 1.4 and 3.9 ms with the
// epoll loop; a socket's close, whose cancel waits in that list too,
// took up to 150 ms (BenchmarkRelayChurn).
const ringTaskRuns = 20

// idleNaps is, for a poller whose sockets' epoll set could not be made
// (idle), how many empty rounds in a row a poller with a ring naps
// through before it waits in the kernel: 200 naps of 1 ms, so that
// between the packets of a quiet moment the processor stays free, and a
// relay that has gone quiet costs no wake-ups.
const idleNaps = 200

// ringNap is the shortest nap of a ring poller after a round that relayed
// something (napFor), twice the epoll loop's pollerNap: a round
// has costs of its own whatever the packets in it (two io_uring_enter,
// the nap's wake-up, caches gone cold meanwhile), and at a phone's pace
// 2 ms gather twice the packets of 1 ms, for at most 2 ms more of delay,
// well inside a phone's jitter buffer. BenchmarkRelayCallsSpread, CPU a
// packet, 2 ms against 1 ms, 2 alternated runs each: 100 calls 8.4-8.9 against
// 11.5-12.2 us, 200 calls 5.8-6.8 against 8.8-9.1, 400 calls 4.7
// against 4.9-5.5, 1,000 calls 3.7-3.9 against 3.8-4.1, nothing lost
// (figures of rounds that left most of the kernel's receives for later,
// ringTaskRuns: packets waited tens of ms and came several a socket).
// A poller's 1,024 relays (pollerRelays) send about 200 datagrams in
// 2 ms: the ring's buffers (about 4,200 such datagrams, uring_pbuf_linux.go)
// and the 256 send slots hold them (a round with more submits in its middle).
const ringNap = 2 * time.Millisecond

// ringNapMax is the longest nap, and ringBatch the datagrams a nap is
// meant to gather (napFor). At a low load the round's own costs (the
// nap's wake-up, the io_uring_enter calls, the runtime's preemption of
// the poller's goroutine every 10 ms, caches gone cold) are spread over
// few packets: 2 ms gather 20 at 100 calls. So the nap grows until, at
// the pace of the last round, it gathers 200, up to 6 ms: 6 ms below
// about 330 calls, ringNap from 1,000 on. At most 6 ms more of delay (2
// to 3 on average) is still well inside a phone's jitter buffer, and
// 6 ms of a poller's 1,024 relays are about 600 datagrams, which the
// ring's buffers (about 4,200 of them) hold. CPU a packet against ringNap alone, two alternated
// runs each on a quiet machine: BenchmarkRelayCallsSpread 100 calls
// 7.7-8.6 against 8.5-10.7 us, 200 calls 6.6-6.7 against 7.9-9.1, 400
// calls 6.9 against 6.8-9.0; BenchmarkRelayCallsPaced 100 calls 8.1-8.5
// against 8.1-8.2, 200 calls 6.5-7.1 against 6.1-7.5; delay from phone
// to phone on average, Spread, 3.6 against 1.7 ms at 100 calls, 4.1
// against 1.6-2.2 at 200. Three runs on a loaded machine, medians:
// Spread 8.3 against 9.4 us at 100 calls, 7.9 against 7.8 at 200, 7.1
// against 6.8 at 400; Paced 7.9 against 7.9, 6.1 against 7.0, 4.9
// against 5.6; nothing lost.
//
// Capped at ringNap for now: a round sends what it gathered at once, and a
// longer nap makes longer bursts towards one address. Under SIPp, whose
// callee side takes every call's media on one socket, the callee's socket
// overflowed: at 200 calls a second (about 450 relayed calls) 5.1-7.2% of
// the caller's packets were lost there with naps up to 6 ms, 2.1% with
// 2 ms (1.6% before the rounds gathered every socket's receives), for
// 2,945 against 3,140 us of the server's CPU a call. A trunk may take its
// calls' media on one port too. Longer naps want the sends of a round
// spread over it first.
//
// Measured again once the rounds gathered every socket's receives, the
// longer naps no longer pay for their delay, so spreading the sends
// would buy little. BenchmarkRelayCallsSpread, 5 alternated runs on a busy machine, naps
// up to 6 ms (their length kept down where one address would get more
// than 16 datagrams of a round, so that SIPp's socket would not
// overflow) against ringNap alone: CPU a packet at 100 calls 6.2-7.0
// against 6.2-7.0 us, at 200 calls 5.0-6.0 against 5.4-5.9; delay 3.4
// against 1.6 ms at 100 calls, 3.9-4.0 against 1.4-1.5 at 200; context
// switches a packet 0.057 against 0.093. perf at 100 calls counts 7%
// fewer of the relay's samples (35% fewer in the naps and the entries
// into the ring), within the benchmark's noise.
const (
	ringNapMax = ringNap
	ringBatch  = 200
)

// napFor returns the nap after the round that began at now: long enough
// for ringBatch datagrams to gather at the pace the last round's came
// (r.pkts since r.last), at least ringNap and at most ringNapMax.
func (r *ringRound) napFor(now time.Time) time.Duration {
	d := ringNapMax
	if dt := now.Sub(r.last); r.pkts > 0 && !r.last.IsZero() && dt > 0 {
		d = min(d, dt*ringBatch/time.Duration(r.pkts))
	}
	return max(d, ringNap)
}

// nap sleeps for d in a system call the runtime does not see
// (nanosleep, raw), keeping the thread's processor (the poller holds one
// of its own for it, reserveProc): the thread sleeps and wakes once, and
// neither the runtime's scheduler nor the ring is involved. The
// datagrams that arrive meanwhile wait in the ring as deferred work,
// which wakes no one, until the next round enters it.
//
// The two naps this replaces cost more. A sleep in the runtime
// (time.Sleep) on this locked thread hands its processor to another
// thread and back (startlockedm, futex wake-ups, threads spinning for
// work): about four context switches a round against one and a half
// here. A nap in io_uring_enter with a timeout (EXT_ARG) switches less
// still, but at a thousand calls the packets' own kernel work (the
// sends, the receives run as deferred work) cost half as much again,
// for reasons not pinned down. BenchmarkRelayCallsSpread, CPU a packet,
// here against time.Sleep: 200 calls 7.9-8.6 against 10.3-11.4 us, 400
// calls 5.3-5.8 against 6.2-6.6, 1,000 calls 3.5-4.4 against 4.2-4.3;
// the ring's nap at 1,000 calls 5.4-6.5.
//
// The goroutine never parks here, so the runtime's monitor preempts it
// once its processor's scheduling count (schedtick) has not moved for 10
// ms, which its ticks of up to 10 ms make about every 20 ms (a runtime
// trace at 100 calls: 50 a second): a signal, then the processor handed
// to another thread and back, this goroutine being locked. Nothing
// cheaper resets the count (Go 1.26, proc.go): only execute moves it,
// and for a locked goroutine every way there (Gosched, a park) hands the
// processor around just the same. Tried, BenchmarkRelayCallsSpread at
// 100 calls, CPU a packet, alternated with this nap on a busy machine: a
// runtime.Gosched every 8 ms before the nap, 5.8-9.2 against 5.5-7.7 us
// in 7 runs each, 0.11 context switches a packet against 0.093 (the same
// hand-off at the poller's moment, but more often than the monitor's);
// the nap as a system call the runtime sees (unix.Syscall), which by the
// source the monitor does not preempt but whose processor it then takes
// at each of its ticks, the goroutine getting one back with no reset of
// the count,
// 8.7-10.1 us and three times the context switches. The hand-offs cost
// about 2% of the relay's CPU at 100 calls (perf).
func (r *ringRound) nap(d time.Duration) {
	// Cut short by a signal (the runtime's preemption, for a stop of
	// the world): the round comes early, and the runtime gets its stop.
	ts := unix.NsecToTimespec(int64(d))
	unix.RawSyscall(unix.SYS_NANOSLEEP, uintptr(unsafe.Pointer(&ts)), 0, 0)
}
