package sdpneg

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"

	"github.com/switchboard-pbx/switchboard/media"
)

// SRTP keying by SDES (RFC 4568): a phone that offers a=crypto gets SRTP on
// its leg of the relay, with our own key for that leg in our answer; the
// other leg is whatever its phone speaks, plain RTP/AVP toward a phone
// that has not offered SRTP. Only AES_CM_128_HMAC_SHA1_80 is taken, the
// suite every SDES phone offers.

// SRTPSuite is the one crypto suite the relay speaks.
const SRTPSuite = "AES_CM_128_HMAC_SHA1_80"

// Crypto is one a=crypto attribute.
type Crypto struct {
	Tag   int
	Suite string
	Key   []byte // master key||salt, media.SRTPKeyLen bytes for srtpSuite
}

var errCryptoSuite = errors.New("sdp: no supported srtp crypto suite (want " + SRTPSuite + " without MKI)")

// ParseCrypto parses an a=crypto value (RFC 4568 §9.1):
//
//	tag SP suite SP "inline:" base64-key-salt ["|" lifetime] ["|" MKI ":" length] *(";" key-params) [SP session-params]
//
// Only one key, without MKI, of srtpSuite's length is accepted; a lifetime
// is ignored (the relay never rekeys), and so are session parameters.
func ParseCrypto(v string) (Crypto, error) {
	var c Crypto
	f := strings.Fields(v)
	if len(f) < 3 {
		return c, errors.New("sdp: crypto: want tag, suite and key")
	}
	tag, err := strconv.Atoi(f[0])
	if err != nil || tag < 0 || tag > 999999999 || len(f[0]) > 10 {
		return c, fmt.Errorf("sdp: crypto: bad tag %.12q", f[0])
	}
	c.Tag, c.Suite = tag, f[1]
	if c.Suite != SRTPSuite {
		return c, errCryptoSuite
	}
	params := f[2]
	if strings.Contains(params, ";") {
		return c, errors.New("sdp: crypto: more than one key")
	}
	inline, ok := strings.CutPrefix(params, "inline:")
	if !ok {
		return c, errors.New("sdp: crypto: key method is not inline")
	}
	parts := strings.Split(inline, "|")
	for _, p := range parts[1:] {
		if strings.Contains(p, ":") {
			return c, errors.New("sdp: crypto: MKI not supported")
		}
	}
	key, err := base64.StdEncoding.DecodeString(parts[0])
	if err != nil {
		// Some phones leave the padding off.
		key, err = base64.RawStdEncoding.DecodeString(strings.TrimRight(parts[0], "="))
	}
	if err != nil || len(key) != media.SRTPKeyLen {
		return c, fmt.Errorf("sdp: crypto: key must be %d bytes of base64", media.SRTPKeyLen)
	}
	c.Key = key
	return c, nil
}

// MediaCrypto returns the first usable a=crypto of an audio line, and
// whether the line offered any.
func MediaCrypto(md *sdp.MediaDescription) (*Crypto, bool, error) {
	offered := false
	err := errCryptoSuite
	for _, a := range md.Attributes {
		if a.Key != "crypto" {
			continue
		}
		offered = true
		c, cerr := ParseCrypto(a.Value)
		if cerr == nil {
			return &c, true, nil
		}
		err = cerr
	}
	if !offered {
		return nil, false, nil
	}
	return nil, true, err
}

// secureProfile reports whether a transport profile is a secure one
// (RTP/SAVP, RTP/SAVPF).
func secureProfile(protos []string) bool {
	return len(protos) == 2 && protos[0] == "RTP" && strings.HasPrefix(protos[1], "SAVP")
}

// plainProfile turns RTP/SAVP(F) into RTP/AVP(F).
func plainProfile(protos []string) []string {
	if secureProfile(protos) {
		return []string{"RTP", strings.TrimPrefix(protos[1], "S")}
	}
	return protos
}

// LegKeys returns the SRTP keys of a relay leg for the crypto a phone's
// SDP carries: its key, and ours for the leg (the one in force, else a
// new one). Nil crypto: the leg is plain.
func LegKeys(r *media.Relay, l media.Leg, c *Crypto, secure bool) *media.SRTPKeys {
	if c == nil {
		return nil
	}
	local := media.NewSRTPKey()
	if cur := r.SRTP(l); cur != nil {
		local = cur.Local
	}
	return &media.SRTPKeys{Remote: c.Key, Local: local, Tag: c.Tag, Secure: secure}
}

// SetMedia points relay leg l at a phone's SDP: its addresses, and SRTP on
// or off as the SDP says.
func SetMedia(r *media.Relay, l media.Leg, m Media) {
	r.SetRemote(l, m.RTP, m.RTCP)
	if err := r.SetSRTP(l, LegKeys(r, l, m.Crypto, m.Secure)); err != nil {
		// Keys were checked by parseCrypto: this is a bug, not input.
		r.SetSRTP(l, nil)
	}
}

// LegSDP is rewriteSDP for the phone on relay leg l: on an encrypted leg
// the audio line carries our a=crypto for it, with the tag the phone used
// and its profile (RTP/SAVP, or RTP/AVP for a phone offering SRTP best
// effort).
func LegSDP(sd *sdp.SessionDescription, o *Origin, ip netip.Addr, r *media.Relay, l media.Leg) ([]byte, error) {
	return RewriteKeys(sd, o, ip, r.Local(l).Port(), r.SRTP(l))
}

// addCrypto writes our key for a leg into an audio line already stripped
// of the other side's crypto.
func addCrypto(md *sdp.MediaDescription, k *media.SRTPKeys) {
	if p := md.MediaName.Protos; k.Secure && len(p) == 2 && p[0] == "RTP" && strings.HasPrefix(p[1], "AVP") {
		md.MediaName.Protos = []string{"RTP", "S" + p[1]}
	}
	md.Attributes = append(md.Attributes, sdp.Attribute{Key: "crypto",
		Value: strconv.Itoa(k.Tag) + " " + SRTPSuite + " inline:" + base64.StdEncoding.EncodeToString(k.Local)})
}
