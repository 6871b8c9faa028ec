package leg

import (
	"log/slog"
	"net/netip"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/media"
	"github.com/switchboard-pbx/switchboard/sip/sdpneg"
)

// Bridge joins a call's two legs on its media relay: it holds the legs,
// the voice codec of each, and the re-INVITE passing from one leg to the
// other. It points each relay leg at the media its phone's SDP names,
// rewrites the SDP one leg sends into the SDP we send the other, and has
// the relay transcode when the two codecs differ. It runs its re-INVITEs
// on the legs (reinvite.go): one a leg sent, passed to the other leg once
// the call let it through, and ours taking a party off hold; it reaches
// the network and the call's 2xx and actor only through the functions the
// call hands it (Messenger). Whether a re-INVITE may pass, the caller's
// INVITE and the ACKs of our 2xx stay the call's.
//
// A call embeds its bridge, so that the call's features reach the legs
// and the relay. Only the call's goroutine touches it; Relay is fixed
// before the call is published, and other goroutines read only the
// relay's counters.
type Bridge struct {
	Relay *media.Relay
	// Legs holds the dialog, SDP origin and last SDP sent of leg A (the
	// caller's, 0) and leg B (the callee's, 1) once they exist.
	Legs [2]Leg
	// Codecs: the voice codec the phones of leg A and leg B use, as far as
	// known; the relay transcodes when they differ (setCodecs).
	Codecs [2]sdpneg.Codec
	reinv  *Incoming // a leg's re-INVITE passed to the other, in flight
	// Unhold: our re-INVITE to a joined party, or taking one off hold, is
	// out; a leg's re-INVITEs meanwhile get 491 (Transacting).
	Unhold bool

	tx Messenger // what the re-INVITEs need of the call

	mediaIP func(dest string) netip.Addr // our media address facing dest
	log     *slog.Logger
}

// NewBridge is a bridge whose legs are not set yet: mediaIP is our media
// address facing a destination, m what its transactions on the legs need
// of the call that holds it.
func NewBridge(mediaIP func(dest string) netip.Addr, m Messenger, log *slog.Logger) Bridge {
	return Bridge{mediaIP: mediaIP, tx: m, log: log}
}

// AnswerA turns SDP from leg B (its answer to the caller's offer, or
// late, its offer) into the SDP the caller gets, on relay leg A, and
// points relay leg B at the callee. callerOffer is the caller's offer (nil
// when late) and callerSrc where the caller's INVITE came from.
//
// The answer is aligned on the caller's offer (one m= line each, in
// order) and its codecs decide whether the relay transcodes (setCodecs);
// a *noCommonCodec error means the two sides cannot talk.
func (br *Bridge) AnswerA(body, callerOffer []byte, late bool, callerSrc string) ([]byte, error) {
	sd, m, err := sdpneg.Parse(body)
	if err != nil {
		br.log.Info("bad sdp from callee", "err", err)
		return nil, err
	}
	if !late {
		if offer, _, err := sdpneg.Parse(callerOffer); err == nil {
			sdpneg.AlignAnswer(offer, sd)
			ac, bc, err := sdpneg.PlanCodecs(offer, sd)
			if err != nil {
				br.log.Info("callee answered no codec of the caller's", "err", err)
				return nil, err
			}
			br.setCodecs(ac, bc)
		}
	} else {
		// The callee's offer: the caller may answer with a codec the
		// relay transcodes to (lateAnswer).
		sdpneg.WidenOffer(sd)
	}
	sdpneg.SetMedia(br.Relay, media.LegB, m)
	br.Relay.SetHold(media.LegB, m.Hold)
	out, err := sdpneg.LegSDP(sd, &br.Legs[0].Origin, br.mediaIP(callerSrc), br.Relay, media.LegA)
	if err != nil {
		return nil, err
	}
	br.Legs[0].SDP = out
	return out, nil
}

// LateAnswer takes the caller's answer (from the ACK of our 200) to
// offer, the callee's late offer: the relay is pointed at the caller, and
// it returns the answer for leg B, pointed at the relay. It returns why
// the call cannot go on when the answer is missing, does not parse or
// shares no codec with the offer; and neither when take, a room standing
// on leg B, took the answer.
func (br *Bridge) LateAnswer(answer, offer []byte, take func(sdpneg.Media) bool) (out []byte, why string) {
	if len(answer) == 0 {
		return nil, "no sdp answer in ack"
	}
	sd, m, err := sdpneg.Parse(answer)
	if err == nil {
		if offer, _, err := sdpneg.Parse(offer); err == nil {
			sdpneg.AlignAnswer(offer, sd)
			bc, ac, err := sdpneg.PlanCodecs(offer, sd)
			if err != nil {
				br.log.Info("caller answered no codec of the callee's", "err", err)
				return nil, err.Error()
			}
			br.setCodecs(ac, bc)
		}
		if take(m) {
			return nil, ""
		}
		out, err = sdpneg.LegSDP(sd, &br.Legs[1].Origin, br.mediaIP(br.Legs[1].Dialog.Dest), br.Relay, media.LegB)
	}
	if err != nil {
		br.log.Info("bad sdp answer from caller", "err", err)
		return nil, "bad sdp answer in ack"
	}
	sdpneg.SetMedia(br.Relay, media.LegA, m)
	br.Relay.SetHold(media.LegA, m.Hold)
	br.Legs[1].SDP = out
	return out, ""
}

// RefusingAnswer is an answer to offer, the callee's late offer, that
// refuses every stream (port 0), sent in the ACK of a call that ends at
// once (RFC 3261 §13.2.2.4: the ACK must carry an answer, then BYE); nil
// when the offer does not parse.
func (br *Bridge) RefusingAnswer(offer []byte) []byte {
	sd, _, err := sdpneg.Parse(offer)
	if err != nil {
		return nil
	}
	out, err := sdpneg.Rewrite(sd, &br.Legs[1].Origin, br.mediaIP(br.Legs[1].Dialog.Dest), 0)
	if err != nil {
		return nil
	}
	return out
}

// JoinB puts d, the dialog of the fork that answered, on leg B, and has
// relay leg B take media from its peer.
func (br *Bridge) JoinB(d Dialog) {
	br.Legs[1].Dialog = d
	br.Relay.SetPeer(media.LegB, PeerIP(d.Dest))
}

// OpenA puts the caller on relay leg A: where its INVITE came from
// (src), and unless nil, its offer's media m.
func (br *Bridge) OpenA(src string, m *sdpneg.Media) {
	br.Relay.SetPeer(media.LegA, PeerIP(src))
	if m != nil {
		sdpneg.SetMedia(br.Relay, media.LegA, *m)
		br.Relay.SetHold(media.LegA, m.Hold)
	}
}

// passOffer takes the offer of a re-INVITE from leg A (fromA) or B: it
// points that leg's relay media at it, holds both directions when it
// holds, and returns the re-INVITE that carries it, pointed at the relay,
// to the other leg. An offer that does not parse is an error.
func (br *Bridge) passOffer(fromA bool, offer []byte) (*sip.Request, error) {
	from, to := RelayLeg(fromA), RelayLeg(!fromA)
	out := &br.Legs[Index(!fromA)]
	sd, m, err := sdpneg.Parse(offer)
	if err != nil {
		return nil, err
	}
	sdpneg.SetMedia(br.Relay, from, m)
	// Hold either way silences both directions for the media timeout.
	br.Relay.SetHold(from, m.Hold)
	br.Relay.SetHold(to, m.Hold)
	sdpneg.WidenOffer(sd)
	body, err := sdpneg.LegSDP(sd, &out.Origin, br.mediaIP(out.Dialog.Dest), br.Relay, to)
	if err != nil {
		return nil, err
	}
	return out.Reinvite(body), nil
}

// passAnswer takes the other leg's answer (the body of its 2xx) to the
// offer of a re-INVITE from leg A (fromA) or B, and returns the answer for
// the leg that offered: the other leg's pointed at the relay, or when
// there is none usable the last SDP we sent that leg.
func (br *Bridge) passAnswer(fromA bool, offer, answer []byte) []byte {
	in := &br.Legs[Index(fromA)]
	var body []byte
	if len(answer) > 0 {
		sd, m, err := sdpneg.Parse(answer)
		if err == nil {
			if offer, _, err := sdpneg.Parse(offer); err == nil {
				sdpneg.AlignAnswer(offer, sd)
				if oc, ac, err := sdpneg.PlanCodecs(offer, sd); err != nil {
					br.log.Info("re-invite answered with no codec of the offer's; media unchanged", "err", err)
				} else if fromA {
					br.setCodecs(oc, ac)
				} else {
					br.setCodecs(ac, oc)
				}
			}
			sdpneg.SetMedia(br.Relay, RelayLeg(!fromA), m)
			body, _ = sdpneg.LegSDP(sd, &in.Origin, br.mediaIP(in.Dialog.Dest), br.Relay, RelayLeg(fromA))
		}
	}
	if body == nil { // keep the last SDP this side got
		return in.SDP
	}
	in.SDP = body
	return body
}

// ReofferAnswered takes the answer, in its ACK, to the offer we made in
// the 2xx of a re-INVITE without SDP from leg A (fromA) or B. The session
// stays as it was when there is none or it does not parse.
func (br *Bridge) ReofferAnswered(fromA bool, body []byte) {
	if len(body) == 0 {
		br.log.Info("no sdp answer in the ack of a re-invite without sdp; media unchanged")
		return
	}
	_, m, err := sdpneg.Parse(body)
	if err != nil {
		br.log.Info("bad sdp answer in the ack of a re-invite without sdp; media unchanged", "err", err)
		return
	}
	sdpneg.SetMedia(br.Relay, RelayLeg(fromA), m)
	br.Relay.SetHold(media.LegA, m.Hold)
	br.Relay.SetHold(media.LegB, m.Hold)
}

// Seat puts dialog d on leg i (0: A, 1: B), which nobody was on: the
// phone answered (answer) the offer we sent it (sent) with our SDP origin
// org, and the relay leg is pointed at its media. An answer that does not
// parse is an error, and changes nothing.
func (br *Bridge) Seat(i int, d Dialog, answer, sent []byte, org sdpneg.Origin) error {
	_, m, err := sdpneg.Parse(answer)
	if err != nil {
		return err
	}
	ml := RelayLeg(i == 0)
	br.SetLegCodec(ml, sdpneg.FirstVoice(answer))
	sdpneg.SetMedia(br.Relay, ml, m)
	br.Relay.SetHold(ml, m.Hold)
	br.Legs[i] = Leg{Dialog: d, SDP: sent, Origin: org}
	br.Relay.SetPeer(ml, PeerIP(d.Dest))
	return nil
}

// RTPCounts is what the relay counted of each leg's packets, as log
// attributes.
func (br *Bridge) RTPCounts() []any {
	a, b := br.Relay.Stats(media.LegA), br.Relay.Stats(media.LegB)
	return []any{"rtp_a", a.Packets, "rtp_b", b.Packets, "rtp_rejected_a", a.Rejected, "rtp_rejected_b", b.Rejected}
}

// setCodecs records the codec the phones on leg A and leg B send and
// expect, and has the relay transcode between them when both are among
// the ones it converts and they differ; otherwise packets pass as they
// are. A zero codec leaves that leg's as it was.
func (br *Bridge) setCodecs(a, b sdpneg.Codec) {
	was := br.Codecs
	for i, cod := range []sdpneg.Codec{a, b} {
		if cod.Name != "" {
			br.Codecs[i] = cod
		}
	}
	if br.Codecs == was && was != [2]sdpneg.Codec{} {
		return // a re-INVITE or refresh that changed no codec
	}
	ac, okA := br.Codecs[0].MediaCodec()
	bc, okB := br.Codecs[1].MediaCodec()
	af, bf := media.Format{}, media.Format{}
	if okA && okB && ac != bc {
		af, bf = media.Format{Codec: ac, PT: br.Codecs[0].PT}, media.Format{Codec: bc, PT: br.Codecs[1].PT}
		br.log.Info("transcoding", "a", br.Codecs[0], "b", br.Codecs[1])
	}
	if err := br.Relay.Transcode(af, bf); err != nil {
		br.log.Warn("transcoding not set", "err", err)
	}
}

// SetLegCodec is setCodecs for one leg.
func (br *Bridge) SetLegCodec(l media.Leg, cod sdpneg.Codec) {
	if l == media.LegA {
		br.setCodecs(cod, sdpneg.Codec{})
	} else {
		br.setCodecs(sdpneg.Codec{}, cod)
	}
}

// Index is the index in Bridge.Legs (and in any pair kept by leg) of leg
// A (fromA) or B.
func Index(fromA bool) int {
	if fromA {
		return 0
	}
	return 1
}

// RelayLeg is the relay leg of leg A (a) or B.
func RelayLeg(a bool) media.Leg {
	if a {
		return media.LegA
	}
	return media.LegB
}

// PeerIP returns the IP address of a dialog's dest or a request's source
// ("ip:port"): the relay may take a NATed phone's media from there. A host
// name (a trunk's) gives the zero Addr: only the SDP's address counts.
func PeerIP(dest string) netip.Addr {
	ap, err := netip.ParseAddrPort(dest)
	if err != nil {
		return netip.Addr{}
	}
	return ap.Addr().Unmap()
}
