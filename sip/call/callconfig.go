package call

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/trunk"
)

// Config configures calls: ringing, media anchoring, limits, trunks and
// the inbound numbers. Zero values take the defaults in the field comments.
type Config struct {
	// RingTime is how long callees ring before the caller gets 480.
	// Default 60s.
	RingTime time.Duration
	// MediaTimeout ends an answered call when one leg sent no RTP for
	// that long, even while the other still sends. Default 60s; negative
	// disables it.
	MediaTimeout time.Duration
	// MediaHoldTimeout is MediaTimeout for a leg on hold (sendonly or
	// inactive), whose silence is expected. Default 1h; negative disables
	// it.
	MediaHoldTimeout time.Duration
	// RTPQuarantine is how long a port pair freed by a call stays out of
	// use, so that late or sprayed packets meant for it reach no other
	// call. Default 10s; negative: none.
	RTPQuarantine time.Duration
	// RTPLow and RTPHigh bound the relay's UDP ports (RTP even, RTCP odd).
	// Default 20000-30000.
	RTPLow, RTPHigh int
	// MediaIP is the address the relay binds and writes into SDP. Zero or
	// unspecified: bind every address and advertise our address on the
	// route to each phone.
	MediaIP netip.Addr
	// SIPIP, when set, is the address written in our Contact headers
	// instead of our address on the route to each peer.
	SIPIP netip.Addr
	// PublicIP, when set, is the node's address as peers outside its own
	// networks see it (a cloud VM behind 1:1 NAT): written in Via,
	// Contact and SDP toward them; phones and trunks on the node's
	// networks still see its local address.
	PublicIP netip.Addr
	// MaxCallsPerExt limits the simultaneous calls of one extension, as
	// caller or callee. Default 4.
	MaxCallsPerExt int
	// Trunks carry calls to and from numbers outside the PBX; an outbound
	// call tries those serving its number one after the other (see
	// directory.TrunkSetting.Prefixes).
	Trunks []trunk.Trunk
	// TrunkWait is how long an outbound call waits for any response (a
	// 100 Trying will do) from a trunk before it tries the next one.
	// Default 5s.
	TrunkWait time.Duration
	// DIDs maps numbers dialed from a trunk (E.164 or as the carrier sends
	// them) to the extension of a user or group.
	DIDs map[string]string
}

func (c Config) withDefaults() Config {
	if c.RingTime == 0 {
		c.RingTime = 60 * time.Second
	}
	if c.MediaTimeout == 0 {
		c.MediaTimeout = 60 * time.Second
	}
	if c.MediaHoldTimeout == 0 {
		c.MediaHoldTimeout = time.Hour
	}
	if c.RTPQuarantine == 0 {
		c.RTPQuarantine = 10 * time.Second
	}
	if c.RTPLow == 0 && c.RTPHigh == 0 {
		c.RTPLow, c.RTPHigh = 20000, 30000
	}
	if c.MaxCallsPerExt == 0 {
		c.MaxCallsPerExt = 4
	}
	if c.TrunkWait == 0 {
		c.TrunkWait = 5 * time.Second
	}
	return c
}

// Validate checks the call settings and names the field of every mistake.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	bad := func(field string, v any, rule string) {
		errs = append(errs, fmt.Errorf("%s %v: %s", field, v, rule))
	}
	if c.RingTime < time.Second/10 {
		bad("RingTime", c.RingTime, "must be at least 100ms")
	}
	if c.RTPLow < 1024 || c.RTPHigh > 65535 || c.RTPLow >= c.RTPHigh {
		bad("RTPLow-RTPHigh", fmt.Sprintf("%d-%d", c.RTPLow, c.RTPHigh), "must be a range within 1024-65535, low below high")
	}
	if c.TrunkWait < time.Second/10 {
		bad("TrunkWait", c.TrunkWait, "must be at least 100ms")
	}
	if c.MaxCallsPerExt < 1 {
		bad("MaxCallsPerExt", c.MaxCallsPerExt, "must be at least 1")
	}
	for i, t := range c.Trunks {
		f := fmt.Sprintf("Trunks[%d]", i)
		if t.Host == "" || strings.ContainsAny(t.Host, " \t\r\n;@<>\"") {
			bad(f+".Host", strconv.Quote(t.Host), "must be a host name or address")
		}
		if t.Port < 0 || t.Port > 65535 {
			bad(f+".Port", t.Port, "must be up to 65535")
		}
		if tr := t.Proto(); tr != "UDP" && tr != "TCP" && tr != "TLS" {
			bad(f+".Transport", strconv.Quote(t.Transport), "must be UDP, TCP or TLS")
		}
		if t.Register && (t.Username == "" || t.Password == "") {
			bad(f+".Register", true, "needs Username and Password")
		}
		if t.CallerID != "" && !directory.IsE164(t.CallerID) {
			bad(f+".CallerID", strconv.Quote(t.CallerID), "must be an E.164 number such as +48221234567")
		}
		ts := directory.TrunkSetting{CallerID: t.CallerID, Username: t.Username, FromUser: t.FromUser, PAI: t.PAI,
			Privacy: t.Privacy, Diversion: t.Diversion}
		if err := ts.ValidateIdentity(); err != nil {
			bad(f, "identity", err.Error())
		}
		for j, p := range t.Prefixes {
			if !directory.IsTrunkPrefix(p) {
				bad(fmt.Sprintf("%s.Prefixes[%d]", f, j), strconv.Quote(p), "must be + and 1 to 15 digits, such as +48")
			}
		}
	}
	for num, ext := range c.DIDs {
		if num == "" || directory.ValidateExtension("extension", ext) != nil {
			bad("DIDs", strconv.Quote(num)+" -> "+strconv.Quote(ext), "must map a number to an extension")
		}
	}
	return errors.Join(errs...)
}
