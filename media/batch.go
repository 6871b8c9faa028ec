package media

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"syscall"

	"github.com/pion/rtp"
)

// Relay sockets are read a batch of datagrams at a time (recvmmsg on
// Linux), and what one batch relays to one socket is sent in one system
// call (sendmmsg). The buffers belong to a pool shared by all relays, not
// to a leg: a reader holds one only while it handles what it read, so a
// call's memory does not grow with the batch.

// usePollers is false only in benchmarks that measure the relay without
// its pollers (poller_linux.go), each socket read by a goroutine of its
// own.
var usePollers = true

// batchSize is the most datagrams read from a socket at once. At a phone's
// pace a read finds one; a burst (a relay that fell behind) is read and
// relayed in batches.
const batchSize = 8

// batch is a set of datagrams read from one socket, and the scratch space
// relaying them needs.
type batch struct {
	n int
	// overflow is how many datagrams the kernel dropped on the socket's
	// full receive queue since its previous batch (SO_RXQ_OVFL).
	overflow uint32
	lens     [batchSize]int
	srcs     [batchSize]netip.AddrPort
	bufs     [batchSize][maxPacket]byte
	enc      [maxPacket + srtpOverhead]byte // what goes to an encrypted leg
	sys      batchSys

	// The relaying's scratch, here rather than in each leg's reader so
	// that a call does not hold it between two batches: what is queued
	// for one socket (sendQueue), and an RTP packet's header and the
	// tap's copy of it (rtpReader).
	queued sendList
	rtp    rtp.Packet // reused: Unmarshal keeps its slices
	tap    Packet
}

// data returns datagram i of the batch.
func (b *batch) data(i int) []byte { return b.bufs[i][:b.lens[i]] }

var batchPool = sync.Pool{New: func() any { return new(batch) }}

func getBatch() *batch  { return batchPool.Get().(*batch) }
func putBatch(b *batch) { batchPool.Put(b) }

// sendQueue holds the packets of one batch bound for one socket, to be
// sent together by flush. A queued packet's bytes must stay as they are
// until then. The packets are listed in the batch (b.queued): a queue is
// empty between two batches, and only one handler relays a batch at a
// time.
type sendQueue struct {
	conn   *net.UDPConn
	s      *sock        // the socket instead of conn, once detached for a poller
	from   *leg         // counts what cannot be sent
	counts *relayCounts // from's pool's (leg.counts), kept: see rtpReader
	b      *batch
	rc     syscall.RawConn // conn's, once a batch of two or more was sent
	domain int             // conn's address family, from then on
}

// sendList is a sendQueue's packets.
type sendList struct {
	n    int
	data [batchSize][]byte
	dst  [batchSize]netip.AddrPort
}

// add queues data for dst, sending what is queued first when the queue is
// full.
func (q *sendQueue) add(data []byte, dst netip.AddrPort) {
	l := &q.b.queued
	if l.n == batchSize {
		q.flush()
	}
	l.data[l.n], l.dst[l.n] = data, dst
	l.n++
}

func isClosed(err error) bool { return errors.Is(err, net.ErrClosed) }
