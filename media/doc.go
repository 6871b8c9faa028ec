// Package media relays and records RTP: the port pool, relay sessions with
// latching, RTCP and timeouts, the G.711 and G.722 codecs and transcoding
// between them, and the WAV recorder. It knows nothing about users or SIP.
//
// A Relay is the bridge of a call: it joins the media of its legs (LegA
// and LegB, each an RTP/RTCP port pair with its own peer, codec, SRTP keys
// and hold state), transcoding where their codecs differ. A Monitor is a
// third leg on the same relay that hears both parties (listen, whisper,
// barge), and a Recorder is a tap on it that writes both directions to a
// stereo WAV. A Fanout is a one-way bridge of one talker and any number
// of listeners (a page), with the relay's legs and latching. The caller
// changes a leg only through the Relay's methods, which are safe from any
// goroutine.
//
// An Endpoint is the PBX's own end of a phone's media, a leg without a
// dialog: one port pair with the relay's strict latching, into which a
// Player sends a Clip (a WAV, a tone, silence) as paced G.711 RTP, and out
// of which a Sink (a MonoRecorder) hears the phone and a DTMFDetector its
// RFC 4733 digits. Put in the place of a relay leg's phone, it is heard by
// the other leg as a party would be (music on hold, a greeting).
//
// Packets are read and sent in batches (recvmmsg and sendmmsg on Linux,
// one at a time elsewhere) with buffers from a shared pool: relaying a
// packet allocates nothing. On Linux a relay's sockets are served by a
// poller (poller_linux.go), one per processor: one goroutine that relays,
// in one round, whatever every socket holds, then naps a millisecond so
// that the next round finds many packets; a socket is read, written and
// closed only by its poller, and both legs of a relay share one. A poller
// reads and sends through an io_uring ring of its own where the kernel
// allows it (uring_linux.go: one system call a round, not a few a
// packet; its nap is a system call that keeps the thread's processor,
// and the poller adds a processor to the runtime for it), through an
// epoll set otherwise or with SWITCHBOARD_RELAY_IO=epoll; a relay served
// by a poller holds no goroutine of its own (Start; its media timeout is
// a timer).
// Elsewhere each socket has a reading goroutine of the relay's. What a relay's reader calls (a Tap, a
// Monitor) must not block: it holds up every call on that poller.
package media
