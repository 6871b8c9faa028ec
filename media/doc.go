// Package media relays and records RTP: the port pool, relay sessions with
// latching, RTCP and timeouts, the G.711 and G.722 codecs and transcoding
// between them, and the WAV recorder. It knows nothing about users or SIP.
package media
