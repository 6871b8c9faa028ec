package media

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"sync"

	"github.com/pion/rtp"
	"github.com/pion/srtp/v3"
)

// SRTP per leg (RFC 3711) with SDES keys (RFC 4568), suite
// AES_CM_128_HMAC_SHA1_80: the relay decrypts what an encrypted leg's
// endpoint sends and encrypts what it sends to it, so that inside the
// relay every packet is plain RTP (latching, continuity, recording and
// monitoring see no difference) and an SRTP phone can talk to a plain one.

// SRTPKeyLen is the length of an AES_CM_128_HMAC_SHA1_80 master key and
// salt together (16 + 14 bytes), as an SDES inline key carries them.
const SRTPKeyLen = 30

// SRTPKeys are the keys of one encrypted leg.
type SRTPKeys struct {
	Remote []byte // the endpoint's master key||salt: decrypts what it sends
	Local  []byte // ours: encrypts what the relay sends it

	// Tag and Secure are how the keys were negotiated (the SDES tag, and
	// whether the endpoint's profile was RTP/SAVP rather than SRTP offered
	// best effort over RTP/AVP), kept for the signalling side; the relay
	// does not use them.
	Tag    int
	Secure bool
}

// NewSRTPKey returns a new random master key||salt.
func NewSRTPKey() []byte {
	k := make([]byte, SRTPKeyLen)
	rand.Read(k)
	return k
}

// srtpOverhead is what encryption adds to a packet: the 10-byte RTP tag,
// or the SRTCP index and tag (4 + 10).
const srtpOverhead = 16

// srtpReplayWindow is the replay window of the decrypting contexts (the
// libsrtp default is 128 packets).
const srtpReplayWindow = 128

// srtpLeg holds the crypto contexts of one leg. The RTP contexts each have
// one user: dec the leg's RTP reader, enc the other leg's RTP reader. The
// RTCP ones are used from the RTCP reader and, for RTCP multiplexed on the
// RTP port, from the RTP reader: rtcpMu serialises them.
type srtpLeg struct {
	keys SRTPKeys
	dec  *srtp.Context
	enc  *srtp.Context

	rtcpMu  sync.Mutex
	decRTCP *srtp.Context
	encRTCP *srtp.Context
}

func newSRTPLeg(k SRTPKeys) (*srtpLeg, error) {
	if len(k.Remote) != SRTPKeyLen || len(k.Local) != SRTPKeyLen {
		return nil, fmt.Errorf("srtp: keys must be %d bytes", SRTPKeyLen)
	}
	s := &srtpLeg{keys: k}
	s.keys.Remote, s.keys.Local = bytes.Clone(k.Remote), bytes.Clone(k.Local)
	mk := func(key []byte, opts ...srtp.ContextOption) (*srtp.Context, error) {
		return srtp.CreateContext(key[:16], key[16:], srtp.ProtectionProfileAes128CmHmacSha1_80, opts...)
	}
	var err error
	if s.dec, err = mk(k.Remote, srtp.SRTPReplayProtection(srtpReplayWindow)); err != nil {
		return nil, fmt.Errorf("srtp: %w", err)
	}
	if s.decRTCP, err = mk(k.Remote, srtp.SRTCPReplayProtection(srtpReplayWindow)); err != nil {
		return nil, fmt.Errorf("srtp: %w", err)
	}
	if s.enc, err = mk(k.Local); err != nil {
		return nil, fmt.Errorf("srtp: %w", err)
	}
	if s.encRTCP, err = mk(k.Local); err != nil {
		return nil, fmt.Errorf("srtp: %w", err)
	}
	return s, nil
}

// SetSRTP makes leg l encrypted with k, or plain with nil. The same keys
// again (a session refresh) keep the contexts and their state; new keys
// take effect with the next packet.
func (r *Relay) SetSRTP(l Leg, k *SRTPKeys) error {
	lg := r.leg(l)
	if lg == nil {
		return errors.New("srtp: no such leg")
	}
	if k == nil {
		lg.srtp.Store(nil)
		return nil
	}
	if cur := lg.srtp.Load(); cur != nil && bytes.Equal(cur.keys.Remote, k.Remote) &&
		bytes.Equal(cur.keys.Local, k.Local) && cur.keys.Tag == k.Tag && cur.keys.Secure == k.Secure {
		return nil
	}
	s, err := newSRTPLeg(*k)
	if err != nil {
		return err
	}
	lg.srtp.Store(s)
	return nil
}

// SRTP returns leg l's keys, nil when the leg is plain.
func (r *Relay) SRTP(l Leg) *SRTPKeys {
	lg := r.leg(l)
	if lg == nil {
		return nil
	}
	s := lg.srtp.Load()
	if s == nil {
		return nil
	}
	k := s.keys
	return &k
}

// decryptRTP authenticates and decrypts an SRTP packet in place and
// returns the plain packet.
func (s *srtpLeg) decryptRTP(data []byte, h *rtp.Header) ([]byte, error) {
	return s.dec.DecryptRTP(data[:0], data, h)
}

// decryptRTCP authenticates and decrypts an SRTCP packet in place.
func (s *srtpLeg) decryptRTCP(data []byte) ([]byte, error) {
	s.rtcpMu.Lock()
	defer s.rtcpMu.Unlock()
	return s.decRTCP.DecryptRTCP(data[:0], data, nil)
}

// encryptRTP encrypts a plain packet into buf.
func (s *srtpLeg) encryptRTP(buf, data []byte, h *rtp.Header) ([]byte, error) {
	return s.enc.EncryptRTP(buf[:0], data, h)
}

// encryptRTCP encrypts a plain RTCP packet into buf.
func (s *srtpLeg) encryptRTCP(buf, data []byte) ([]byte, error) {
	s.rtcpMu.Lock()
	defer s.rtcpMu.Unlock()
	return s.encRTCP.EncryptRTCP(buf[:0], data, nil)
}
