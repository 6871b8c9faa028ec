//go:build !linux

package media

import "net"

// Elsewhere than on Linux a batch is one datagram, read and sent with the
// standard library.

type batchSys struct{}

func readBatches(conn *net.UDPConn, handle func(*batch), readErr func(error)) error {
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
	for i := range q.n {
		if _, err := q.conn.WriteToUDPAddrPort(q.data[i], q.dst[i]); err != nil {
			q.from.dropped.Add(1)
		}
	}
	q.n = 0
}
