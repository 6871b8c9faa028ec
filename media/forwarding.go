package media

import (
	"errors"
	"net/netip"
	"sync"
	"time"
)

// The relay's packet loops: each leg's RTP and RTCP reader forwards what
// its endpoint sends to the other leg (transcoding, SRTP, taps and
// monitors on the way); the watchdog (watchdog.go) ends a relay whose
// media stopped.

// read has in's RTP socket (RTCP with rtcp) read into handle until it is
// closed: by the pair's poller, whose done channel is added to served, or
// else by a goroutine of wg's. A relay served by a poller thus holds no
// goroutine at all.
func (r *Relay) read(in *leg, rtcp bool, handle func(*batch), wg *sync.WaitGroup, served *[]<-chan struct{}) {
	what, stopped := "rtp read", "rtp reader stopped"
	if rtcp {
		what, stopped = "rtcp read", "rtcp reader stopped"
	}
	readErr := func(err error) { r.log.Debug(what, "leg", in.id, "err", err) }
	done, ok, err := serveBatches(in.ports, rtcp, handle, readErr)
	switch {
	case err != nil:
		r.log.Debug(stopped, "leg", in.id, "err", err)
	case ok:
		*served = append(*served, done)
	default:
		wg.Go(func() {
			if err := readBatches(in.ports, rtcp, handle, readErr); err != nil {
				r.log.Debug(stopped, "leg", in.id, "err", err)
			}
		})
	}
}

// rtpHandler returns what relays the batches read from in's RTP socket to
// out's endpoint through out's RTP socket.
func (r *Relay) rtpHandler(in, out *leg) func(*batch) {
	rd := &rtpReader{r: r, in: in, out: out, counts: in.counts()}
	rd.q = newSendQueue(out.ports, false, in)
	return rd.batch
}

// rtpReader is the state of one leg's RTP reader, kept from packet to
// packet so that relaying one allocates nothing; its scratch is the
// batch's (b.rtp, b.tap).
//
// What every packet needs is kept here, read once, rather than reached
// through pointers: with hundreds of calls each socket is read about once
// in 20 ms, and each pointer followed to memory last touched then is a
// cache miss. perf at 200 calls/s put 3% of the server's CPU on reaching
// the pool's counters through the leg and its ports, and 2.5% on reading
// the destination through leg.rtpDst.
type rtpReader struct {
	r       *Relay
	in, out *leg
	q       sendQueue
	counts  *relayCounts    // the pool's (in.counts), nil without one
	dstP    *netip.AddrPort // out.rtpDst as last seen, and its value
	dst     netip.AddrPort
	mb      *monitorBuffers // allocated when a supervisor first joins
	xbuf    []byte          // allocated when the call is first transcoded
}

// batch relays what one read brought, then sends it.
func (rd *rtpReader) batch(b *batch) {
	rd.q.b = b
	countBatch(rd.counts, b)
	for i := range b.n {
		rd.packet(b, i)
	}
	rd.q.flush()
}

// packet relays datagram i of b.
func (rd *rtpReader) packet(b *batch, i int) {
	r, in, out, p := rd.r, rd.in, rd.out, &b.rtp
	n, src := b.lens[i], b.srcs[i]
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	data := b.data(i)
	kind := parseRTP(data, p)
	var now time.Time

	// An encrypted leg's packets are authenticated before anything
	// else looks at them: a forgery neither latches nor is heard.
	if sl := in.srtp.Load(); sl != nil && kind != kindInvalid {
		var err error
		if kind == kindRTP {
			if data, err = sl.decryptRTP(data, &p.Header); err == nil && parseRTP(data, p) != kindRTP {
				err = errors.New("srtp: bad plain packet")
			}
		} else {
			data, err = sl.decryptRTCP(data)
		}
		if err != nil {
			in.authFailed(r)
			return
		}
	}

	in.mu.Lock()
	ok, latched := false, false
	switch kind {
	case kindRTP:
		ok, latched = in.admitRTP(src, p.SSRC, p.SequenceNumber)
		if ok {
			in.st.Packets++
			in.st.Bytes += uint64(n)
			in.seq.update(p.SSRC, p.SequenceNumber)
		}
	case kindRTCP: // muxed: only from the latched RTP source
		ok = in.rtp.src.latched && src == in.rtp.src.addr
		if ok {
			in.st.RTCPPackets++
			in.st.RTCPBytes += uint64(n)
		}
	default:
		in.st.Invalid++
	}
	if !ok && kind != kindInvalid {
		in.st.Rejected++
	}
	in.mu.Unlock()
	if !ok && kind != kindInvalid {
		r.cfg.Pool.rejected.Add(1)
	}
	if latched {
		r.log.Debug("rtp latched", "leg", in.id, "src", src, "ssrc", p.SSRC)
	}
	if !ok {
		return
	}

	if kind == kindRTP {
		if now.IsZero() {
			now = r.clk.Now()
		}
		in.cont.apply(data, p, now)
	}
	// Transcoding to G.711 comes first, so that the monitor and the
	// tap see G.711; to G.722 it comes last, after they saw the G.711.
	var late *xcode
	var lateOff, lateLen int
	if xc := in.xc.Load(); kind == kindRTP && xc != nil {
		if yes, early := xc.transcodeNow(p); yes {
			if rd.xbuf == nil {
				rd.xbuf = make([]byte, maxPacket)
			}
			off := rtpPayloadOffset(data, p)
			if early {
				data = xc.apply(rd.xbuf, data, off, len(p.Payload))
				p.PayloadType, p.Payload, p.Padding = xc.outPT, data[off:], false
			} else {
				late, lateOff, lateLen = xc, off, len(p.Payload)
			}
		}
	}
	if m := r.mon.Load(); m != nil && kind == kindRTP {
		if rd.mb == nil {
			rd.mb = new(monitorBuffers)
		}
		mb := rd.mb
		m.hear(in.id, p.PayloadType, p.Payload, mb.pcm[:])
		if m.speaksTo(out.id) {
			// Mixed into a copy: the tap below gets what the party sent.
			data = m.mixInto(out.id, data, p, mb.out[:], mb.pcm[:], mb.said[:])
		}
	}
	if late != nil {
		data = late.apply(rd.xbuf, data, lateOff, lateLen)
	}
	if sl := out.srtp.Load(); sl != nil {
		var err error
		if kind == kindRTP {
			data, err = sl.encryptRTP(b.enc[:], data, &p.Header)
		} else {
			data, err = sl.encryptRTCP(b.enc[:], data)
		}
		if err != nil {
			in.drop(dropSRTP, 1)
			return
		}
	}
	rd.forward(data, &b.bufs[i], out.rtpDst.Load())

	if kind != kindRTP {
		return
	}
	if tb := r.tap.Load(); tb != nil {
		if now.IsZero() {
			now = r.clk.Now()
		}
		b.tap = Packet{
			PayloadType:    p.PayloadType,
			Marker:         p.Marker,
			SequenceNumber: p.SequenceNumber,
			Timestamp:      p.Timestamp,
			SSRC:           p.SSRC,
			Payload:        p.Payload,
			Arrival:        now,
		}
		tb.t.RTP(in.id, &b.tap)
	}
}

// forward queues data for dst. Data still in its read buffer slot waits
// for the rest of the batch; data in a scratch buffer, which the next
// packet reuses, goes at once (after what was queued before it). A
// destination is never changed in place (storeAddr stores a new one), and
// rd.dstP keeps the one it read alive, so the same pointer is the same
// address.
func (rd *rtpReader) forward(data []byte, slot *[maxPacket]byte, dst *netip.AddrPort) {
	if dst == nil || len(data) == 0 {
		rd.in.drop(dropNoDestination, 1)
		return
	}
	if dst != rd.dstP {
		rd.dstP, rd.dst = dst, *dst
	}
	rd.q.add(data, rd.dst)
	if &data[0] != &slot[0] {
		rd.q.flush()
	}
}

// countBatch counts a batch read on a leg's socket in its pool's counters
// c (leg.counts; nil: none): the datagrams, and those the kernel dropped
// on the socket's full receive queue since the last read.
func countBatch(c *relayCounts, b *batch) {
	if c != nil {
		c.received.Add(uint64(b.n))
		if b.overflow > 0 {
			c.overflow.Add(uint64(b.overflow))
		}
	}
}

// rtcpHandler returns what relays the batches read from in's RTCP socket
// to out's endpoint through out's RTCP socket.
func (r *Relay) rtcpHandler(in, out *leg) func(*batch) {
	q := newSendQueue(out.ports, true, in)
	counts := in.counts()
	return func(b *batch) {
		q.b = b
		countBatch(counts, b)
		for i := range b.n {
			r.relayRTCP(in, out, &q, b, i)
		}
		q.flush()
	}
}

// relayRTCP relays datagram i of b, read on in's RTCP socket.
func (r *Relay) relayRTCP(in, out *leg, q *sendQueue, b *batch, i int) {
	n, src := b.lens[i], b.srcs[i]
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	data := b.data(i)
	if sl := in.srtp.Load(); sl != nil && isRTCP(data) {
		var err error
		if data, err = sl.decryptRTCP(data); err != nil {
			in.authFailed(r)
			return
		}
	}
	if !in.acceptRTCP(src, data, n, r.cfg.Pool) {
		return
	}
	if sl := out.srtp.Load(); sl != nil {
		var err error
		if data, err = sl.encryptRTCP(b.enc[:], data); err != nil {
			in.drop(dropSRTP, 1)
			return
		}
	}
	dst := out.rtcpDst.Load()
	if dst == nil || len(data) == 0 {
		in.drop(dropNoDestination, 1)
		return
	}
	q.add(data, *dst)
	if &data[0] != &b.bufs[i][0] {
		q.flush()
	}
}
