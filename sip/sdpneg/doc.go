// Package sdpneg is the SDP offer/answer of the call side's legs
// (RFC 3264): parsing a phone's or a trunk's SDP into what the relay needs
// (Parse, Media), rewriting it to point at the relay with the PBX's own o=
// line per leg (Rewrite, Origin, LegSDP), SRTP keys by SDES (RFC 4568:
// Crypto, SetMedia) and the codecs of each side, with the plan for
// transcoding between them (PlanCodecs, WidenOffer, NoCommonCodec).
//
// It knows nothing of dialogs or calls: package sip's legs use it, and it
// uses only package media (the relay it configures) and pion/sdp.
package sdpneg
