// Package transport owns the edge of the SIP server: the UDP, TCP and TLS
// listeners sipgo serves are wrapped (Edge.PacketConn, Edge.Listener) so
// that every message is screened (bans, scanners, floods, sizes) and
// checked before sipgo parses it. A TCP stream is framed into whole
// messages, with its slow-loris and idle timeouts and its per-source
// connection caps. What sipgo would drop silently or wrongly accept is
// answered statelessly (RFC 3261 §8.2, the RFC 4475 torture messages), as
// is the digest challenge of a REGISTER or INVITE without credentials.
// It also loads the TLS certificates (CertFiles, SelfSigned).
//
// It knows nothing of calls, dialogs or the server that runs it: whether a
// source is a trunk's, may cancel an INVITE or holds a registration, and
// the counters of what it drops, come as functions in Parts.
package transport
