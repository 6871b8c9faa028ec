// Package sip is Switchboard's SIP side, built on sipgo: the registrar
// (digest authentication with stateless expiring nonces, MD5 and SHA-256),
// the location service (bindings kept in memory and persisted through the
// directory store, shared by nodes over one PostgreSQL) and the guard
// (failed-authentication counting, bans, scanner drops), the router (dial
// plan: extension, group, DID, outbound through a trunk under authz) and the
// call side: a back-to-back user agent whose calls are built from legs, a
// dialer and a media bridge, with features on top.
//
// Credentials are checked against what the directory stores, never a plain
// password: the HA1 values of directory.SIPSecret, cached in memory and kept
// fresh by following the store's change log.
//
// # Layers of the call side
//
// From the bottom up; a file uses only its own layer and those below.
//
// Transport and admission (server.go, conn.go, tcpconn.go, tls.go, edge.go,
// admit.go, guard.go, registrar.go, location.go): sockets, authentication,
// who may send what. REGISTERs over UDP are served at the edge with a
// transaction of our own (regfast.go) and answered as bytes (reply.go),
// outside sipgo's transaction layer. The routing decision (router.go, follow.go,
// forward.go's forwardTo, hours.go's office hours, callconfig.go) turns a
// dialed number into a route and its targets (target.go) under authz and
// the dial plan; it knows nothing of calls in progress.
//
// Legs (leg.go, dialog.go, pending.go, sdp.go, sdes.go, codecs.go): a leg is
// one SIP dialog, in either direction, with its SDP origin, the last SDP we
// sent on it, and its endpoint on the media bridge; it knows nothing of
// other legs. pending.go keeps our 2xx resent until its ACK comes (T1
// doubling to T2 over UDP, 64·T1 at most).
//
// The dialer (dialer.go) is the one way to reach a party: "ring these
// targets". It forks an INVITE to every target at once, or to one trunk
// after the other with the offer re-addressed for each, answers a trunk's
// digest challenge once, cancels what still rings and ranks failures. Call
// start, forwarding and blind transfer all ring through it.
//
// The bridge is media.Relay: it joins the media of legs (two parties; a
// supervisor's listener), and the bridge's taps (rooms_record.go) attach
// to it: a recorder (record.go).
// media.Fanout is the N-party bridge of a page (paging.go): one talker,
// listeners added and removed while it runs; later conferences. A media
// source or sink is a leg without a dialog: a media.Endpoint of the PBX's
// own takes a party's place on the relay, and a media.Player plays into it
// (voicemail's greeting and beep, park's music on hold) while a
// MonoRecorder or the DTMF detector listens (voicemail.go, vmretrieve.go,
// parkmusic.go, ivr.go).
//
// The call (call.go, callplan.go, ringing.go, answer.go, reinvite.go,
// hangup.go, and legmove.go: a leg changing hands, the operations
// transfer, park and Replaces share) is the CDR's unit: the story of its
// legs and its bridge over time. One goroutine, the call's actor, owns all
// of it; SIP handlers and transaction watchers only post it events, and
// what other goroutines may read (the parties, who the call is between) is
// published atomically.
//
// The call is built from parts that know nothing of each other, and its
// own methods join them: the caller's INVITE transaction (callertx.go),
// the forks toward the callee (calleetx.go), the bridge that holds the two
// legs on the relay and runs the re-INVITEs on them (bridge.go,
// reinvite.go), our 2xx waiting for their ACKs (pending.go), the
// admission of in-dialog requests to a leg (legadmit.go), the outbox of BYEs
// and requests to a leaving party (legmove.go), and the call's record: its
// CDR row, its parties, what the dashboard shows (cdr.go, active.go) and
// the LegEvents that busy lamps and presence consume (legstates.go).
//
// Features (transfer.go and refer.go, attended.go and replaces.go,
// forward.go, monitor.go, record.go, pickup.go, park.go with orbits.go,
// parkring.go and parkmusic.go, intercom.go, paging.go, voicemail.go with
// mwi.go, vmretrieve.go and vmmail.go, ivr.go with ivrdigits.go)
// sit on top: each acts
// through leg, dialer and bridge operations (answer, hold, replace a leg's
// dialog, move a leg, ring targets, play, hang up), never through another
// feature's state. A feature's events (a transfer's re-INVITE result, the
// messages between the two calls of an attended transfer, a pickup, a
// retrieval from an orbit) implement featureEvent or are posted to the
// call and run on the call's goroutine, and a feature that rings someone
// gives its dialer the functions that take its forks' responses. A
// feature's state on a call is a room (rooms.go); its b2bua side a service
// the b2bua holds (forwarding, monitoring, recordings, replacing). (The
// core still calls into a few features at fixed points: a REFER opens the
// transfer room, the end of ringing goes to b2bua.ringFailed (forwarding,
// then voicemail), and the hangup to a park in progress.) A new feature (queues, an
// auto attendant) is a new file of this layer: it asks the dialer to
// ring, puts legs on a bridge or an endpoint, and keeps its own state in
// its own type, not in new fields shared with the others; the queue
// decisions themselves live in package acd, which knows nothing of SIP.
package sip
