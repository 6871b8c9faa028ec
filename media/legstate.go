package media

import (
	"net/netip"
	"sync"
	"sync/atomic"
)

// A relay leg: its sockets, what is known of its endpoint (where to send,
// which source it latched onto, the strict-source checks) and its
// counters.

// leg is one side of a relay: its sockets, what is known of its endpoint and
// its counters.
type leg struct {
	id      Leg
	ports   *PortPair
	local   netip.AddrPort
	hold    atomic.Bool
	dropped atomic.Uint64
	// srtp is set when the leg's endpoint speaks SRTP (SetSRTP).
	srtp      atomic.Pointer[srtpLeg]
	authFails atomic.Uint64 // SRTP/SRTCP that failed authentication or the replay check

	// Where packets for this leg's endpoint go; nil while unknown. Read by
	// the other leg's readers for every packet, written under mu.
	rtpDst, rtcpDst atomic.Pointer[netip.AddrPort]

	mu      sync.Mutex
	rtp     strict         // RTP: SDP (SetRemote), signalling IP (SetPeer), latch
	sdpRTCP netip.AddrPort // from SetRemote; zero when unknown
	rtcpSrc source
	seq     seqTracker
	st      LegStats // packet counters; the rest is filled by Stats

	cont continuity // of the RTP this leg sends on; its RTP reader's alone

	xc atomic.Pointer[xcode] // transcoding of the RTP arriving here; nil: none
}

// source is the address a leg latched onto.
type source struct {
	latched bool
	addr    netip.AddrPort
	ssrc    uint32
}

// probe is a source on probation: n packets in a row so far, the last with
// sequence number seq.
type probe struct {
	addr netip.AddrPort
	ssrc uint32
	seq  uint16
	n    int
}

// strict is the latching state of one RTP endpoint: what its SDP and its
// signalling say, the source it latched onto and one on probation.
type strict struct {
	sdp  netip.AddrPort // from SDP; zero when unknown
	peer netip.Addr     // the signalling's IP; zero when unknown
	src  source
	cand probe
}

// admit decides whether an RTP packet from src belongs to the endpoint,
// latching onto src when the rule in Relay's comment allows it. It
// reports whether the packet is accepted and whether it latched.
func (st *strict) admit(src netip.AddrPort, ssrc uint32, seq uint16) (ok, latched bool) {
	s := &st.src
	switch {
	case s.latched && src == s.addr:
		s.ssrc = ssrc
		st.cand.n = 0 // the phone still talks: no one else latches
		return true, false
	case src == st.sdp:
	case !st.allowed(src.Addr()):
		return false, false
	default:
		c := &st.cand
		if c.n > 0 && src == c.addr && ssrc == c.ssrc && seq == c.seq+1 {
			c.n++
		} else {
			*c = probe{addr: src, ssrc: ssrc, n: 1}
		}
		c.seq = seq
		if c.n < Probation {
			return false, false
		}
	}
	st.cand = probe{}
	*s = source{latched: true, addr: src, ssrc: ssrc}
	return true, true
}

// allowed reports whether RTP from ip may latch after probation: ip is
// the SDP's or the signalling's.
func (st *strict) allowed(ip netip.Addr) bool {
	return (st.sdp.IsValid() && ip == st.sdp.Addr()) || (st.peer.IsValid() && ip == st.peer)
}

// unlatch forgets the latched source and any on probation; sdp is the
// SDP's address now.
func (st *strict) unlatch(sdp netip.AddrPort) {
	st.sdp, st.src, st.cand = sdp, source{}, probe{}
}

// setPeer sets the signalling's IP; an unspecified one counts as none.
func (st *strict) setPeer(ip netip.Addr) {
	ip = ip.Unmap()
	if ip.IsUnspecified() {
		ip = netip.Addr{}
	}
	st.peer = ip
}

// admitRTP is strict.admit for the leg's RTP: a new latch moves RTCP to
// the new host and publishes where the leg's packets go. l.mu must be held.
func (l *leg) admitRTP(src netip.AddrPort, ssrc uint32, seq uint16) (ok, latched bool) {
	if ok, latched = l.rtp.admit(src, ssrc, seq); latched {
		if l.rtcpSrc.latched && l.rtcpSrc.addr.Addr() != src.Addr() {
			l.rtcpSrc.latched = false // RTCP follows RTP to its new host
		}
		l.publish()
	}
	return ok, latched
}

// admitRTCP is admitRTP for the RTCP port. RTCP never latches by itself: it
// must come from the host RTP latched to, or before that from the SDP host.
// l.mu must be held.
func (l *leg) admitRTCP(src netip.AddrPort) bool {
	s := &l.rtcpSrc
	host := l.rtp.sdp.Addr()
	if l.rtp.src.latched {
		host = l.rtp.src.addr.Addr()
	}
	switch {
	case s.latched && src == s.addr:
		return true
	case !host.IsValid() || src.Addr() != host:
		return false
	case s.latched:
		return false // another port: latched already
	}
	*s = source{latched: true, addr: src}
	l.publish()
	return true
}

// publish stores where packets for this leg's endpoint go: the latched
// source, else the SDP address. For RTCP not latched yet, an RTP source on
// another host than the SDP's (a NAT) is a better guess than the SDP.
// l.mu must be held.
func (l *leg) publish() {
	dst := l.rtp.sdp
	if l.rtp.src.latched {
		dst = l.rtp.src.addr
	}
	storeAddr(&l.rtpDst, dst)
	rtpNext := netip.AddrPort{}
	if a := l.rtp.src.addr; l.rtp.src.latched && a.Port() < 65535 {
		rtpNext = netip.AddrPortFrom(a.Addr(), a.Port()+1)
	}
	switch {
	case l.rtcpSrc.latched:
		dst = l.rtcpSrc.addr
	case rtpNext.IsValid() && rtpNext.Addr() != l.rtp.sdp.Addr():
		dst = rtpNext
	case l.sdpRTCP.IsValid():
		dst = l.sdpRTCP
	default:
		dst = rtpNext
	}
	storeAddr(&l.rtcpDst, dst)
}

func storeAddr(p *atomic.Pointer[netip.AddrPort], a netip.AddrPort) {
	if !a.IsValid() {
		p.Store(nil)
		return
	}
	if cur := p.Load(); cur != nil && *cur == a {
		return
	}
	p.Store(&a)
}

func (l *leg) packets() uint64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.st.Packets
}

// drop counts an accepted datagram of this leg's that is not relayed,
// for the leg and for its pool.
func (l *leg) drop(why dropReason, n uint64) {
	l.dropped.Add(n)
	if pp := l.ports; pp != nil && pp.pool != nil {
		pp.pool.counts.dropped[why].Add(n)
	}
}

// counts returns the pool's counters of the leg's relay; nil for a leg
// without a pool.
func (l *leg) counts() *relayCounts {
	if pp := l.ports; pp != nil && pp.pool != nil {
		return &pp.pool.counts
	}
	return nil
}

// authFailed counts a datagram that failed SRTP authentication: dropped,
// like any other not from the leg's phone.
func (l *leg) authFailed(r *Relay) {
	l.authFails.Add(1)
	r.cfg.Pool.rejected.Add(1)
}

// acceptRTCP counts an RTCP datagram of n bytes from src arriving on the
// leg and reports whether it is to be relayed: RTCP from the source the
// leg latched to (admitRTCP). What is not RTCP is counted invalid; RTCP
// from anyone else is counted rejected, here and in the pool.
func (l *leg) acceptRTCP(src netip.AddrPort, data []byte, n int, pool *PortPool) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case !isRTCP(data):
		l.st.Invalid++
		return false
	case l.admitRTCP(src):
		l.st.RTCPPackets++
		l.st.RTCPBytes += uint64(n)
		return true
	}
	l.st.Rejected++
	pool.rejected.Add(1)
	return false
}

// setRemote sets the leg's endpoint from its SDP (Relay.SetRemote).
func (l *leg) setRemote(rtpAddr, rtcpAddr netip.AddrPort) {
	rtpAddr, rtcpAddr = usable(rtpAddr), usable(rtcpAddr)
	if !rtcpAddr.IsValid() && rtpAddr.IsValid() && rtpAddr.Port() < 65535 {
		rtcpAddr = netip.AddrPortFrom(rtpAddr.Addr(), rtpAddr.Port()+1)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if rtpAddr == l.rtp.sdp && rtcpAddr == l.sdpRTCP {
		return
	}
	l.rtp.unlatch(rtpAddr)
	l.sdpRTCP = rtcpAddr
	l.rtcpSrc.latched = false
	l.publish()
}

// setPeer sets the IP the leg's signalling comes from (Relay.SetPeer).
func (l *leg) setPeer(ip netip.Addr) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rtp.setPeer(ip)
}

// stats returns the leg's counters (Relay.Stats).
func (l *leg) stats() LegStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.st
	s.Expected, s.Lost = l.seq.counts()
	s.Dropped = l.dropped.Load()
	s.AuthFailed = l.authFails.Load()
	if l.rtp.src.latched {
		s.Source, s.SSRC = l.rtp.src.addr, l.rtp.src.ssrc
	}
	return s
}
