package park

import (
	"net/netip"

	"github.com/switchboard-pbx/switchboard/media"
	"github.com/switchboard-pbx/switchboard/sip/sdpneg"
)

// playMusic puts a media endpoint of the PBX's own on the parked
// call's empty leg ml and loops the music on hold there: the relay
// carries it to the parked party as it carried the parker's voice. With no
// music configured, or no port free, the parked party hears silence.
// end (park.go) closes the endpoint; a retrieval points the leg at the
// retriever first, and the relay's strict latching hears the endpoint no
// more from then on.
func (p *parkedCall) playMusic(ml media.Leg) {
	c := p.c
	clip := p.lot.Orbits.MusicOnHold()
	if clip == nil {
		return
	}
	cod := c.Codecs[p.leg]
	codec, ok := cod.MediaCodec()
	if !ok || (codec != media.PCMU && codec != media.PCMA) {
		c.SetLegCodec(ml, sdpneg.PCMU)
		codec = media.PCMU
	}
	ip := c.Relay.Local(ml).Addr()
	if !ip.IsValid() || ip.IsUnspecified() {
		ip = netip.MustParseAddr("127.0.0.1")
	}
	ep, err := media.NewEndpoint(media.EndpointConfig{Pool: c.Core.Pool, IP: ip, Codec: codec, Logger: c.Log})
	if err != nil {
		c.Log.Warn("park music on hold not played", "err", err)
		return
	}
	ep.SetRemote(netip.AddrPortFrom(ip, c.Relay.Local(ml).Port()))
	c.Relay.SetRemote(ml, ep.Local(), netip.AddrPort{})
	p.music = ep
	ctx := p.ctx
	c.WG.Go(func() { _ = ep.Run(ctx) })
	ep.Play(clip, true)
}
