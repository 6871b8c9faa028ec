package sdpneg

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"

	"github.com/switchboard-pbx/switchboard/media"
)

// Codecs through the B2BUA. Offers pass to the other side with the
// offerer's codecs, followed by those the relay can transcode to (PCMU,
// PCMA, G722) that the offer lacks, when it has one of them. An answer
// whose first voice codec is one the offerer did not offer turns on
// transcoding in the relay; the offerer's answer then names only codecs it
// offered. An answer with no codec either side can use, and no way to
// transcode, makes the call fail with 488 and a Warning naming the codecs
// on each side.

// Codec is one format of an m= line.
type Codec struct {
	PT   uint8
	Name string // upper case, as in PCMU, G722, TELEPHONE-EVENT
	Rate int
}

func (c Codec) String() string { return c.Name + "/" + strconv.Itoa(c.Rate) }

func (c Codec) Same(o Codec) bool { return c.Name == o.Name && c.Rate == o.Rate }

// StaticCodecs are the RTP/AVP static payload types (RFC 3551) phones
// send without an rtpmap.
var StaticCodecs = map[uint8]Codec{
	0: {0, "PCMU", 8000}, 3: {3, "GSM", 8000}, 4: {4, "G723", 8000}, 8: {8, "PCMA", 8000},
	9: {9, "G722", 8000}, 13: {13, "CN", 8000}, 18: {18, "G729", 8000},
}

// Transcodable are the codecs the relay converts between, with their
// static payload types.
var Transcodable = []Codec{StaticCodecs[0], StaticCodecs[8], StaticCodecs[9]}

// Voice reports whether c carries speech (not events, comfort noise or
// redundancy).
func (c Codec) Voice() bool {
	switch c.Name {
	case "TELEPHONE-EVENT", "CN", "RED", "ULPFEC":
		return false
	}
	return true
}

// MediaCodec returns the relay's codec for c, if it transcodes it.
func (c Codec) MediaCodec() (media.Codec, bool) {
	switch {
	case c.Rate != 8000:
	case c.Name == "PCMU":
		return media.PCMU, true
	case c.Name == "PCMA":
		return media.PCMA, true
	case c.Name == "G722":
		return media.G722, true
	}
	return 0, false
}

// CodecsOf returns the formats of md in order, named by their rtpmap or
// the static table; formats it cannot name are left out.
func CodecsOf(md *sdp.MediaDescription) []Codec {
	// The rtpmaps in a slice, not a map: an offer has a handful, and this
	// runs a few times for each SDP of a call.
	type rtpmap struct {
		pt string
		c  Codec
	}
	var buf [8]rtpmap
	maps := buf[:0]
	for _, a := range md.Attributes {
		if a.Key != "rtpmap" {
			continue
		}
		pt, enc, ok := strings.Cut(a.Value, " ")
		n, err := strconv.ParseUint(pt, 10, 7)
		if !ok || err != nil {
			continue
		}
		name, rest, _ := strings.Cut(strings.TrimSpace(enc), "/")
		rate := 0
		if rest != "" {
			r, _, _ := strings.Cut(rest, "/")
			rate, _ = strconv.Atoi(r)
		}
		c := Codec{uint8(n), strings.ToUpper(name), rate}
		if i := slices.IndexFunc(maps, func(m rtpmap) bool { return m.pt == pt }); i >= 0 {
			maps[i].c = c // the last rtpmap of a format counts, as it did in a map
		} else {
			maps = append(maps, rtpmap{pt, c})
		}
	}
	out := make([]Codec, 0, len(md.MediaName.Formats))
	for _, f := range md.MediaName.Formats {
		if i := slices.IndexFunc(maps, func(m rtpmap) bool { return m.pt == f }); i >= 0 {
			out = append(out, maps[i].c)
			continue
		}
		if n, err := strconv.ParseUint(f, 10, 7); err == nil {
			if c, ok := StaticCodecs[uint8(n)]; ok {
				out = append(out, c)
			}
		}
	}
	if len(out) == 0 {
		return nil // as before: callers may tell none by nil
	}
	return out
}

func VoiceCodecs(cs []Codec) []Codec {
	return slices.DeleteFunc(slices.Clone(cs), func(c Codec) bool { return !c.Voice() })
}

func CodecList(cs []Codec) string {
	if len(cs) == 0 {
		return "none"
	}
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = c.String()
	}
	return strings.Join(s, " ")
}

// WidenOffer adds to the relayed audio line of an offer the codecs the
// relay transcodes to that it lacks, after the offerer's own, when it has
// one of them: the other side may then answer with one of those and be
// transcoded. Payload types taken by the offer are not reused.
func WidenOffer(sd *sdp.SessionDescription) {
	md := Audio(sd)
	if md == nil || md.MediaName.Port.Value == 0 {
		return
	}
	have := CodecsOf(md)
	if !slices.ContainsFunc(have, func(c Codec) bool { _, ok := c.MediaCodec(); return ok }) {
		return
	}
	for _, t := range Transcodable {
		pt := strconv.Itoa(int(t.PT))
		if slices.ContainsFunc(have, t.Same) || slices.Contains(md.MediaName.Formats, pt) {
			continue
		}
		md.MediaName.Formats = append(md.MediaName.Formats, pt)
		md.Attributes = append(md.Attributes, sdp.NewAttribute("rtpmap", pt+" "+t.String()))
	}
}

// NoCommonCodec is an answer that shares no codec with the offer, which
// the relay cannot transcode either.
type NoCommonCodec struct{ Offered, Answered []Codec }

func (e *NoCommonCodec) Error() string {
	return "no common codec: offered " + CodecList(e.Offered) + ", answered " + CodecList(e.Answered)
}

// Warning is the Warning header value (RFC 3261 §20.43, code 399) that
// tells the caller why: the codecs on each side.
func (e *NoCommonCodec) Warning(agent string) string {
	return fmt.Sprintf("399 %s \"Incompatible media format: caller offers %s; callee answers %s; no transcoding between them\"",
		warnAgent(agent), CodecList(e.Offered), CodecList(e.Answered))
}

// PlanCodecs looks at the answer to an offer (the offer as the offerer
// sent it, before widenOffer) and returns the voice codec each side will
// send and expect: the relay transcodes when they differ (retranscode).
// It changes the answer's audio line so that it names only formats the
// offerer offered; when the answerer chose a codec the offerer did not
// offer, the answer names instead the offerer's codec the relay converts
// to. It returns a *noCommonCodec when no codec fits, and zero codecs
// when it cannot tell (no audio, rejected audio, formats it cannot name).
func PlanCodecs(offer, answer *sdp.SessionDescription) (offerer, answerer Codec, err error) {
	om, am := Audio(offer), Audio(answer)
	if om == nil || am == nil || om.MediaName.Port.Value == 0 || am.MediaName.Port.Value == 0 {
		return Codec{}, Codec{}, nil
	}
	ov, av := VoiceCodecs(CodecsOf(om)), VoiceCodecs(CodecsOf(am))
	if len(av) == 0 {
		return Codec{}, Codec{}, nil // an answer naming no codec we know: passed as it is
	}
	inOffer := func(c Codec) bool { return slices.Contains(om.MediaName.Formats, strconv.Itoa(int(c.PT))) }
	first := av[0]
	if inOffer(first) {
		KeepFormats(am, inOffer, nil)
		return first, first, nil
	}
	_, okB := first.MediaCodec()
	// The offerer's codec: the first the answer names that the relay
	// converts, else the offerer's first that it converts.
	var fa *Codec
	for _, c := range av {
		if _, ok := c.MediaCodec(); ok && inOffer(c) {
			fa = &c
			break
		}
	}
	if fa == nil {
		for _, c := range ov {
			if _, ok := c.MediaCodec(); ok {
				fa = &c
				break
			}
		}
	}
	if !okB || fa == nil {
		return Codec{}, Codec{}, &NoCommonCodec{Offered: ov, Answered: av}
	}
	KeepFormats(am, inOffer, fa)
	for _, a := range om.Attributes {
		if a.Key == "rtpmap" || a.Key == "fmtp" {
			if pt, _, _ := strings.Cut(a.Value, " "); pt == strconv.Itoa(int(fa.PT)) {
				am.Attributes = append(am.Attributes, a)
			}
		}
	}
	return *fa, first, nil
}

// FirstVoice returns the first voice codec of the relayed audio line of
// an SDP body; zero when there is none it can name.
func FirstVoice(body []byte) Codec {
	sd, _, err := Parse(body)
	if err != nil {
		return Codec{}
	}
	return FirstVoiceSD(sd)
}

func FirstVoiceSD(sd *sdp.SessionDescription) Codec {
	md := Audio(sd)
	if md == nil || md.MediaName.Port.Value == 0 {
		return Codec{}
	}
	if v := VoiceCodecs(CodecsOf(md)); len(v) > 0 {
		return v[0]
	}
	return Codec{}
}

// KeepFormats leaves on md the formats keep accepts, with their rtpmap and
// fmtp lines, and puts first (when given and not there) in front.
func KeepFormats(md *sdp.MediaDescription, keep func(Codec) bool, first *Codec) {
	names := map[string]Codec{}
	for _, c := range CodecsOf(md) {
		names[strconv.Itoa(int(c.PT))] = c
	}
	kept := map[string]bool{}
	var formats []string
	if first != nil {
		pt := strconv.Itoa(int(first.PT))
		formats, kept[pt] = append(formats, pt), true
	}
	for _, f := range md.MediaName.Formats {
		c, ok := names[f]
		if ok && !keep(c) || kept[f] {
			continue
		}
		formats, kept[f] = append(formats, f), true
	}
	md.MediaName.Formats = formats
	md.Attributes = slices.DeleteFunc(md.Attributes, func(a sdp.Attribute) bool {
		if a.Key != "rtpmap" && a.Key != "fmtp" {
			return false
		}
		pt, _, _ := strings.Cut(a.Value, " ")
		return !kept[pt] || (first != nil && pt == strconv.Itoa(int(first.PT)))
	})
}

// RefusedOfferWarning is the Warning header value (399) for a caller whose
// call the callee refused with 488: the codecs the caller offered and
// those the callee was offered (with the ones the relay transcodes to).
func RefusedOfferWarning(agent string, callerOffer, calleeOffer []byte) string {
	list := func(body []byte) string {
		sd, _, err := Parse(body)
		if err != nil {
			return "none"
		}
		return CodecList(VoiceCodecs(CodecsOf(Audio(sd))))
	}
	return fmt.Sprintf("399 %s \"Incompatible media format: caller offers %s; callee refuses %s\"",
		warnAgent(agent), list(callerOffer), list(calleeOffer))
}

// warnAgent is the warn-agent of a Warning header (RFC 3261 §20.43): our
// domain, or a pseudonym when there is none.
func warnAgent(domain string) string {
	if domain == "" || strings.ContainsAny(domain, " \t\"") {
		return "switchboard"
	}
	return domain
}

// G711 picks the first G.711 law an offer's audio lists.
func G711(sd *sdp.SessionDescription) (media.Codec, bool) {
	md := Audio(sd)
	if md == nil {
		return 0, false
	}
	for _, f := range md.MediaName.Formats {
		switch f {
		case "0":
			return media.PCMU, true
		case "8":
			return media.PCMA, true
		}
	}
	return 0, false
}

// PCMU is G.711 mu-law at its static payload type: what a PBX endpoint
// plays in (music on hold, prompts) when a leg's own codec is not one it
// sends; the relay transcodes it for the party as it would a phone's.
var PCMU = Codec{PT: 0, Name: "PCMU", Rate: 8000}
