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
// # Layers
//
// From the bottom up; a file uses only its own layer and those below.
// DESIGN.md in the repository's root says the same in prose.
//
// Sub-packages at the bottom know nothing of dialogs or calls, and their
// tests hold that: sip/digest (digest algorithms, challenges, nonces),
// sip/sdpneg (a leg's SDP offer and answer: parsing, pointing it at the
// relay, SRTP keys by SDES, codecs and the transcoding plan), sip/presence
// (busy lamps and presence state) and sip/spool (call rows kept on disk
// while the database is away).
//
// Transport and admission: Server (server.go) builds the parts and hands
// them requests; the edge (edge.go, rawmessage.go, stateless.go, conn.go,
// tcpconn.go, tls.go) checks every message before sipgo parses it; the
// registrar (registrar.go, authcheck.go, accountcheck.go) takes REGISTER,
// over UDP on a transaction of our own (regfast.go) answered as bytes
// (reply.go); the location service (location*.go), the credentials cache
// (creds.go), the guard (guard.go, flood.go, bans.go), subscriptions and
// message-waiting (subscribe.go, mwi.go), the store follower (follow.go)
// and the trunks (trunks.go, trunk_register.go) are types of their own.
// The routing decision is the router (router.go, hours.go, target.go):
// it turns a dialed number into a route and its targets under authz and
// the dial plan, and knows no call in progress; the numbers features
// answer (a menu's, a queue's) and a user's forwarding reach it as
// functions the b2bua hands it.
//
// Legs and the dialer: a leg (leg.go, dialog.go) is one SIP dialog, in
// either direction, with its SDP origin, the last SDP we sent on it, and
// its endpoint on the media bridge; it knows nothing of other legs. The
// dialer (dialer.go) is the one way to reach a party: "ring these
// targets". It forks an INVITE to every target at once, or to one trunk
// after the other with the offer re-addressed for each, answers a trunk's
// digest challenge once, cancels what still rings and ranks failures. Call
// start, forwarding, blind transfer, menus, queues and park's ring-back
// all ring through it.
//
// The bridge is media.Relay: it joins the media of legs (two parties; a
// supervisor's listener), and taps (rooms_record.go) attach to it: the
// recorder. media.Fanout is the N-party bridge of a page (paging.go). A
// media source or sink is a leg without a dialog: a media.Endpoint of the
// PBX's own takes a party's place on the relay, a media.Player plays into
// it (greetings, prompts, music on hold) and a MonoRecorder or the DTMF
// detector listens.
//
// The call (call.go, callplan.go, ringing.go, answer.go, hangup.go) is the
// CDR's unit: the story of its legs and its bridge over time. One
// goroutine, the call's actor, owns all of it; SIP handlers and
// transaction watchers only post it events (mailbox.go), and what other
// goroutines may read (the parties, who the call is between) is published
// atomically. The call is built from parts that know nothing of each
// other, and its own methods join them: the caller's INVITE transaction
// (callertx.go), the forks toward the callee (calleetx.go), the bridge that
// holds the two legs on the relay and runs the re-INVITEs on them
// (bridge.go, reinvite.go), our 2xx waiting for their ACKs (pending.go),
// the admission of in-dialog requests to a leg (legadmit.go, admit.go),
// the outbox of BYEs and requests to a leaving party (legmove.go), the
// in-dialog methods (dialogmethods.go), and the call's record: its CDR
// row, parties, what the dashboard shows and the LegEvents busy lamps
// consume (cdr.go, active.go, legstates.go). The b2bua (b2bua.go) files
// calls in the call table (calltable.go), which also counts the
// extensions' call slots.
//
// Features sit on top: blind and attended transfer (transfer.go,
// refer.go, attended.go, replaces.go), forwarding (forward.go), monitoring
// (monitor.go), recording (record.go), pickup (pickup.go), park (park.go,
// orbits.go, parkring.go, parkmusic.go), intercom (intercom.go), paging
// (paging.go, paging_dialog.go), voicemail (voicemail.go, vm*.go), menus
// (ivr.go, ivrdigits.go) and queues (queue*.go; the decisions live in
// package acd, which knows nothing of SIP). A feature's state on one call
// is a room (rooms.go): the core asks the rooms open on a call at fixed
// points (an in-dialog request, the call ending, leg B without a dialog, a
// deadline, a re-INVITE to let through, forks still ringing), each a small
// optional interface, and names no feature. Its state across calls is a
// service the b2bua holds (the parking lot, the pickup board, the pager,
// forwarding, monitoring, recordings, voicemail, the queue runtime). A
// feature acts through leg, dialer and bridge operations (answer, hold,
// replace a leg's dialog, move a leg, ring targets, play, hang up), never
// through another feature's state; its events implement featureEvent and
// run on the call's goroutine. A new feature is a new file of this layer
// with its room and, if it needs one, its service.
package sip
