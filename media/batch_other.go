//go:build !linux

package media

// Elsewhere than on Linux a batch is one datagram, read and sent with the
// standard library.

import (
	"net"
	"net/netip"
)

type batchSys struct{}

// Relay sockets stay with the runtime's poller.
type (
	poller    struct{}
	pairSocks struct{}
	sock      struct{}
)

func pickPoller() *poller { return nil }

func releasePoller(*poller) {}

// countOverflow does nothing: the receive queue's drops are not counted here.
func countOverflow(*net.UDPConn) {}

func (d *pairSocks) close() {}

func (d *pairSocks) wait() {}

// listenPair binds pp's sockets as the net package's: there is no poller.
func listenPair(ip netip.Addr, port int, _ *poller) (*PortPair, error) {
	return listenConns(ip, port)
}

func newSendQueue(pp *PortPair, rtcp bool, from *leg) sendQueue {
	if rtcp {
		return sendQueue{conn: pp.RTCP, from: from, counts: from.counts()}
	}
	return sendQueue{conn: pp.RTP, from: from, counts: from.counts()}
}

// serveBatches reports that no poller serves pp: here every socket is
// read by readBatches.
func serveBatches(*PortPair, bool, func(*batch), func(error)) (done <-chan struct{}, served bool, err error) {
	return nil, false, nil
}

func readBatches(pp *PortPair, rtcp bool, handle func(*batch), readErr func(error)) error {
	conn := pp.RTP
	if rtcp {
		conn = pp.RTCP
	}
	b := new(batch)
	for {
		n, src, err := conn.ReadFromUDPAddrPort(b.bufs[0][:])
		if err != nil {
			if isClosed(err) {
				return nil
			}
			readErr(err)
			continue
		}
		b.n, b.lens[0], b.srcs[0] = 1, n, src
		handle(b)
	}
}

func (q *sendQueue) flush() {
	l := &q.b.queued
	for i := range l.n {
		if _, err := q.conn.WriteToUDPAddrPort(l.data[i], l.dst[i]); err != nil {
			q.from.drop(dropSendError, 1)
		} else if c := q.counts; c != nil {
			c.forwarded.Add(1)
		}
	}
	l.n = 0
}
