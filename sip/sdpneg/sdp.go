package sdpneg

import (
	"bytes"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"

	"github.com/pion/sdp/v3"

	"github.com/switchboard-pbx/switchboard/media"
)

// SDP handling of the B2BUA (RFC 3264): the PBX anchors the audio of every
// call, so each offer or answer is passed on with only the transport
// changed: c= and the audio m= port point at the relay, o= is ours. Codecs,
// telephone-event and direction attributes pass through untouched, so the
// two phones negotiate codecs end to end.

// MaxSize bounds a body we parse; a real audio offer is under 1 KiB.
const MaxSize = 8 << 10

// Media is what the relay needs from one side's SDP.
type Media struct {
	RTP  netip.AddrPort // where the side wants audio; invalid: none (hold, no address)
	RTCP netip.AddrPort // from a=rtcp, else invalid (RTP port + 1)
	// Hold: the side sends no audio or wants none (sendonly, recvonly,
	// inactive, c=0.0.0.0 or port 0).
	Hold bool
	// Crypto is the side's SRTP key (SDES), nil for plain RTP; secure:
	// its profile is RTP/SAVP(F), not SRTP offered best effort on RTP/AVP.
	Crypto *Crypto
	Secure bool
}

var ErrNoAudio = errors.New("sdp: no audio stream")

// Parse parses an offer or answer and returns its audio stream. Only the
// first audio m= line is relayed.
func Parse(body []byte) (*sdp.SessionDescription, Media, error) {
	var m Media
	if len(body) > MaxSize {
		return nil, m, errors.New("sdp: too large")
	}
	// pion wants every line, the last too, ended.
	if !bytes.HasSuffix(body, []byte("\n")) {
		body = append(body[:len(body):len(body)], '\r', '\n')
	}
	sd := &sdp.SessionDescription{}
	if err := sd.Unmarshal(body); err != nil {
		return nil, m, fmt.Errorf("sdp: %w", err)
	}
	md := Audio(sd)
	if md == nil {
		return nil, m, ErrNoAudio
	}
	ci := md.ConnectionInformation
	if ci == nil {
		ci = sd.ConnectionInformation
	}
	if ci == nil || ci.Address == nil {
		return nil, m, errors.New("sdp: no connection address")
	}
	dir := Direction(sd.Attributes)
	if d := Direction(md.Attributes); d != "" {
		dir = d
	}
	ip, err := netip.ParseAddr(ci.Address.Address)
	port := md.MediaName.Port.Value
	if err == nil && port > 0 && port < 65536 && !ip.IsUnspecified() {
		m.RTP = netip.AddrPortFrom(ip.Unmap(), uint16(port))
		if v, ok := md.Attribute("rtcp"); ok {
			m.RTCP = rtcpAddr(v, ip)
		}
	}
	m.Hold = !m.RTP.IsValid() || (dir != "" && dir != "sendrecv")
	m.Secure = secureProfile(md.MediaName.Protos)
	c, offered, err := MediaCrypto(md)
	switch {
	case c != nil:
		m.Crypto = c
	case m.Secure:
		if !offered {
			err = errors.New("sdp: RTP/SAVP without a=crypto (DTLS-SRTP is not supported)")
		}
		return nil, m, err
	}
	return sd, m, nil
}

// Audio returns the audio m= line the relay carries: the first one
// not rejected (port 0), else the first one; nil when there is none.
func Audio(sd *sdp.SessionDescription) *sdp.MediaDescription {
	var first *sdp.MediaDescription
	for _, md := range sd.MediaDescriptions {
		if md != nil && md.MediaName.Media == "audio" {
			if md.MediaName.Port.Value != 0 {
				return md
			}
			if first == nil {
				first = md
			}
		}
	}
	return first
}

// AlignAnswer makes answer hold one m= line for each of offer's, in the
// offer's order, as RFC 3264 §6 requires: each offered line takes the next
// answered line of the same media type, and a line the answerer left out,
// or one the offer rejected, comes back rejected (port 0).
func AlignAnswer(offer, answer *sdp.SessionDescription) {
	// An answerer that leaves lines out most likely left out the ones
	// the offer rejected: those are not matched while lines are missing.
	missing := map[string]int{}
	for _, om := range offer.MediaDescriptions {
		if om != nil {
			missing[om.MediaName.Media]++
		}
	}
	for _, am := range answer.MediaDescriptions {
		if am != nil {
			missing[am.MediaName.Media]--
		}
	}
	used := make([]bool, len(answer.MediaDescriptions))
	out := make([]*sdp.MediaDescription, 0, len(offer.MediaDescriptions))
	for _, om := range offer.MediaDescriptions {
		if om == nil {
			continue
		}
		var match *sdp.MediaDescription
		if om.MediaName.Port.Value == 0 && missing[om.MediaName.Media] > 0 {
			missing[om.MediaName.Media]--
		} else {
			for i, am := range answer.MediaDescriptions {
				if !used[i] && am != nil && am.MediaName.Media == om.MediaName.Media {
					used[i], match = true, am
					break
				}
			}
		}
		if match == nil {
			match = &sdp.MediaDescription{MediaName: sdp.MediaName{Media: om.MediaName.Media,
				Protos: om.MediaName.Protos, Formats: om.MediaName.Formats}}
		}
		if om.MediaName.Port.Value == 0 {
			match.MediaName.Port = sdp.RangedPort{Value: 0}
		}
		out = append(out, match)
	}
	answer.MediaDescriptions = out
}

func Direction(attrs []sdp.Attribute) string {
	for _, a := range attrs {
		switch a.Key {
		case "sendrecv", "sendonly", "recvonly", "inactive":
			return a.Key
		}
	}
	return ""
}

// rtcpAddr reads an a=rtcp value ("port [IN IP4 addr]", RFC 3605).
func rtcpAddr(v string, ip netip.Addr) netip.AddrPort {
	f := strings.Fields(v)
	if len(f) == 0 {
		return netip.AddrPort{}
	}
	var port uint16
	if _, err := fmt.Sscan(f[0], &port); err != nil || port == 0 {
		return netip.AddrPort{}
	}
	if len(f) == 4 {
		if a, err := netip.ParseAddr(f[3]); err == nil {
			ip = a
		}
	}
	return netip.AddrPortFrom(ip.Unmap(), port)
}

// Origin is the o= line the PBX uses toward one phone: one session ID per
// leg and a version bumped with every SDP sent on it (RFC 3264 §8).
type Origin struct {
	ID      uint64
	Version uint64
}

// Rewrite returns sd pointed at the relay: session c= and o= carry ip,
// the audio m= carries port, media-level c= and a=rtcp lines go, ICE lines
// go (the relay is the only candidate), and every other m= line is refused
// with port 0: only one audio stream is relayed, and video, a second audio
// line or any other stream stays in place, rejected (RFC 3264 §6: every
// m= line is answered, in order). An audio line that came with port 0 (a
// stream the phone rejects) keeps port 0. sd is changed.
func Rewrite(sd *sdp.SessionDescription, o *Origin, ip netip.Addr, port uint16) ([]byte, error) {
	return RewriteKeys(sd, o, ip, port, nil)
}

// RewriteKeys is rewriteSDP toward a phone whose leg has the SRTP keys
// k (nil: plain). The other side's a=crypto lines and secure profile never
// pass: each leg's SRTP is its own (see sdes.go).
func RewriteKeys(sd *sdp.SessionDescription, o *Origin, ip netip.Addr, port uint16, k *media.SRTPKeys) ([]byte, error) {
	addrType := "IP4"
	if ip.Is6() && !ip.Is4In6() {
		addrType = "IP6"
	}
	o.Version++
	sd.Origin = sdp.Origin{Username: "switchboard", SessionID: o.ID, SessionVersion: o.Version,
		NetworkType: "IN", AddressType: addrType, UnicastAddress: ip.Unmap().String()}
	sd.ConnectionInformation = &sdp.ConnectionInformation{NetworkType: "IN", AddressType: addrType,
		Address: &sdp.Address{Address: ip.Unmap().String()}}
	sd.Attributes = dropAttrs(sd.Attributes)
	audio := Audio(sd)
	for _, md := range sd.MediaDescriptions {
		if md == nil {
			continue
		}
		md.ConnectionInformation = nil
		md.Attributes = dropAttrs(md.Attributes)
		if md == audio && md.MediaName.Port.Value != 0 {
			md.MediaName.Port = sdp.RangedPort{Value: int(port)}
			md.MediaName.Protos = plainProfile(md.MediaName.Protos)
			if k != nil {
				addCrypto(md, k)
			}
		} else {
			md.MediaName.Port = sdp.RangedPort{Value: 0}
		}
	}
	out, err := sd.Marshal()
	if err != nil {
		return nil, fmt.Errorf("sdp: %w", err)
	}
	return out, nil
}

// dropAttrs removes the attributes that name the phone's own transport.
func dropAttrs(attrs []sdp.Attribute) []sdp.Attribute {
	out := attrs[:0]
	for _, a := range attrs {
		switch a.Key {
		case "crypto", "rtcp", "candidate", "ice-ufrag", "ice-pwd", "ice-options", "ice-lite", "end-of-candidates",
			"remote-candidates", "rtcp-mux":
			continue
		}
		out = append(out, a)
	}
	return out
}

// SendRecv makes an SDP bidirectional: the offer to a target must not
// carry the hold the transferor put the call on.
func SendRecv(sd *sdp.SessionDescription) {
	strip := func(attrs []sdp.Attribute) []sdp.Attribute {
		out := attrs[:0]
		for _, a := range attrs {
			switch a.Key {
			case "sendrecv", "sendonly", "recvonly", "inactive":
				continue
			}
			out = append(out, a)
		}
		return out
	}
	sd.Attributes = strip(sd.Attributes)
	if md := Audio(sd); md != nil {
		md.Attributes = append(strip(md.Attributes), sdp.Attribute{Key: "sendrecv"})
	}
}

// KeepCommonFormats keeps in ans's audio only the formats offer's audio has;
// false when none is left.
func KeepCommonFormats(ans, offer *sdp.SessionDescription) bool {
	am, om := Audio(ans), Audio(offer)
	if am == nil || om == nil {
		return false
	}
	var keep []string
	for _, f := range am.MediaName.Formats {
		if slices.Contains(om.MediaName.Formats, f) {
			keep = append(keep, f)
		}
	}
	if len(keep) == 0 {
		return false
	}
	am.MediaName.Formats = keep
	return true
}
