package sdpneg

import (
	"fmt"
	"net/netip"
	"strconv"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/switchboard-pbx/switchboard/media"
)

// EndpointSDP is the SDP of a media endpoint answering in codec, with
// telephone events of type event (0: none).
func EndpointSDP(ip netip.Addr, port uint16, codec media.Codec, event uint8) []byte {
	ip = ip.Unmap()
	at := "IP4"
	if ip.Is6() {
		at = "IP6"
	}
	fmts := strconv.Itoa(int(codec))
	maps := fmt.Sprintf("a=rtpmap:%d %s/8000\r\n", codec, codec)
	if event != 0 {
		fmts += " " + strconv.Itoa(int(event))
		maps += fmt.Sprintf("a=rtpmap:%d telephone-event/8000\r\na=fmtp:%d 0-15\r\n", event, event)
	}
	return fmt.Appendf(nil, "v=0\r\no=switchboard 1 1 IN %s %s\r\ns=switchboard\r\nc=IN %s %s\r\nt=0 0\r\nm=audio %d RTP/AVP %s\r\n%sa=ptime:20\r\na=sendrecv\r\n",
		at, ip, at, ip, port, fmts, maps)
}

// G711Offer picks the G.711 codec and telephone-event type of an offer
// for an endpoint (PCMU when it has neither G.711).
func G711Offer(body []byte) (media.Codec, uint8) {
	codec, event := media.PCMU, uint8(0)
	offer, _, err := Parse(body)
	if err != nil {
		return codec, event
	}
	if md := Audio(offer); md != nil {
		found := false
		for _, sc := range CodecsOf(md) {
			if mc, ok := sc.MediaCodec(); ok && !found && (mc == media.PCMU || mc == media.PCMA) {
				codec, found = mc, true
			}
			if sc.Name == "TELEPHONE-EVENT" && sc.Rate == 8000 && event == 0 {
				event = sc.PT
			}
		}
	}
	return codec, event
}

// G711SDP is the SDP of one G.711 stream of the PBX's own (a page's, a
// supervisor's) at ip:port in direction dir ("sendrecv", "sendonly",
// "recvonly").
func G711SDP(ip netip.Addr, port uint16, codec media.Codec, dir string) []byte {
	ip = ip.Unmap()
	at := "IP4"
	if ip.Is6() {
		at = "IP6"
	}
	id := strconv.FormatInt(time.Now().UnixNano()&0x7fffffffffff, 10)
	pt := strconv.Itoa(int(codec))
	return []byte("v=0\r\n" +
		"o=switchboard " + id + " 1 IN " + at + " " + ip.String() + "\r\n" +
		"s=switchboard\r\n" +
		"c=IN " + at + " " + ip.String() + "\r\n" +
		"t=0 0\r\n" +
		"m=audio " + strconv.Itoa(int(port)) + " RTP/AVP " + pt + "\r\n" +
		"a=rtpmap:" + pt + " " + codec.String() + "/8000\r\n" +
		"a=ptime:20\r\n" +
		"a=" + dir + "\r\n")
}

// G711Endpoint reads an INVITE's offer to an endpoint of the PBX's own
// that speaks G.711 (a supervisor's, a mailbox's): the session, its media
// and the G.711 law, or the reason phrase of the 488 that refuses it (no
// offer, one that does not parse, no G.711 in it).
func G711Endpoint(body []byte) (*sdp.SessionDescription, Media, media.Codec, string) {
	if len(body) == 0 {
		return nil, Media{}, 0, "Not Acceptable Here (Offer Needed)"
	}
	sd, offer, err := Parse(body)
	if err != nil {
		return nil, Media{}, 0, "Not Acceptable Here"
	}
	codec, ok := G711(sd)
	if !ok {
		return nil, Media{}, 0, "Not Acceptable Here (G.711 Needed)"
	}
	return sd, offer, codec, ""
}
