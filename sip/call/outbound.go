package call

import (
	"net"
	"net/netip"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// Every request the PBX sends (legs to phones and trunks, trunk
// registrations, NOTIFYs, pings) leaves from our SIP listening socket for
// its transport, with a Via naming our address on the route to the peer
// (the public address toward peers outside our networks, when one is
// configured), our listening port and rport: a carrier that answers to the
// Via, or accepts traffic only from the address it knows, gets it right.
// Over UDP the listener's own socket sends; sipgo would otherwise open a
// new socket on an ephemeral port for a peer that never wrote to us. Over
// TCP a new connection has an ephemeral source port by nature; the Via
// names the listener, and answers come back on the connection.

// Stamp sets the top Via's sent-by to our address and listening port,
// asks for rport, and over UDP, once the listening socket is up
// (udpReady), sends from it.
func (b *Core) Stamp(req *sip.Request, udpReady bool) {
	tr := strings.ToUpper(req.Transport())
	if tr == "" {
		tr = "UDP"
	}
	dest := req.Destination()
	via := req.Via()
	if via == nil {
		via = &sip.ViaHeader{ProtocolName: "SIP", ProtocolVersion: "2.0", Transport: tr}
		via.Params.Add("branch", sip.GenerateBranchN(16))
		req.PrependHeader(via)
	}
	port := b.port(tr)
	via.Transport = tr
	via.Host = b.LocalIP(dest).String()
	if port > 0 {
		via.Port = port
	}
	if !via.Params.Has("rport") {
		via.Params.Add("rport", "")
	}
	if tr == "UDP" && udpReady {
		if la := b.udpLocal.Load(); la != nil {
			req.Laddr = sip.Addr{IP: la.Addr().AsSlice(), Port: int(la.Port())}
		}
	}
}

// LocalIP returns our address on the route to dest (a host:port): the
// configured SIP address, else the public one for a peer outside our
// networks, else the one the kernel would send from.
func (b *Core) LocalIP(dest string) netip.Addr {
	if ip := b.Config.SIPIP; ip.IsValid() && !ip.IsUnspecified() {
		return ip
	}
	if ip := b.Config.PublicIP; ip.IsValid() && b.outside(dest) {
		return ip
	}
	ap, err := netip.ParseAddrPort(dest)
	if err == nil && ap.Addr().Unmap().IsLoopback() {
		return netip.MustParseAddr("127.0.0.1")
	}
	c, err := net.Dial("udp", dest)
	if err != nil {
		return netip.MustParseAddr("127.0.0.1")
	}
	defer c.Close()
	if ua, ok := c.LocalAddr().(*net.UDPAddr); ok {
		return ua.AddrPort().Addr().Unmap()
	}
	return netip.MustParseAddr("127.0.0.1")
}

// outside reports whether dest (host:port, or a host) is beyond the
// node's own networks: not loopback, link-local or private (RFC 1918, RFC
// 6598 shared, IPv6 ULA), and on none of this host's interface networks.
// A name is taken as outside.
func (b *Core) outside(dest string) bool {
	host := dest
	if h, _, err := net.SplitHostPort(dest); err == nil {
		host = h
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return true
	}
	ip = ip.Unmap()
	if ip.IsLoopback() || ip.IsPrivate() || ip.IsLinkLocalUnicast() || ip.IsUnspecified() ||
		cgnat.Contains(ip) {
		return false
	}
	for _, p := range b.localNets {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

// cgnat is RFC 6598 shared address space, a carrier's side of a NAT.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// interfaceNets returns the networks of this host's interfaces.
func interfaceNets() []netip.Prefix {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	var out []netip.Prefix
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok {
			if p, err := netip.ParsePrefix(n.String()); err == nil {
				out = append(out, p.Masked())
			}
		}
	}
	return out
}
