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
// From the bottom up; a layer uses only itself and those below. The lower
// layers are sub-packages, so the compiler holds their direction (a
// sub-package cannot import package sip), and each one's deps test says
// which of ours it may import. DESIGN.md in the repository's root says the
// same in prose.
//
// Messages and state that know no dialog:
//   - sip/wire: SIP as bytes: a message split and its header fields read
//     without a parse, responses written straight from the request, the
//     UDP REGISTER and BYE transactions served outside sipgo, the small header
//     readings every layer shares (tags, Max-Forwards, option tags).
//   - sip/digest (digest algorithms, challenges, nonces), sip/sdpneg (a
//     leg's SDP offer and answer, SRTP keys by SDES, codecs and the
//     transcoding plan), sip/presence (busy lamps and presence state),
//     sip/spool (call rows kept on disk while the database is away, written
//     in group commits).
//   - sip/guard: failed-authentication counting, bans shared through the
//     store, scanner drops, the flood limit.
//   - sip/location: the bindings, in memory and written before the 200;
//     sip/creds: the credentials (HA1) cache; sip/trunk: the trunks in
//     force and the PBX's registrations to carriers.
//
// Transport, authentication and the registrar:
//   - sip/auth: the digest check every request goes through (401 as a
//     registrar, 407 as a proxy).
//   - sip/registrar: REGISTER, over sipgo's transactions and the UDP fast
//     path alike.
//   - sip/transport: the edge: every message screened and checked before
//     sipgo parses it, TCP framing and limits, TLS, stateless answers.
//   - sip/subscribe: SUBSCRIBE and NOTIFY: busy lamps, presence, park
//     orbits' lamps, message waiting.
//
// The routing decision and the dialer:
//   - sip/route: the dial plan: a dialed number to a route and its targets
//     under authz, office hours and the trunks' identities; it knows no
//     call in progress; the numbers features answer (a menu's, a queue's)
//     and a user's forwarding reach it as functions.
//   - sip/dial: "ring these targets", the one way to reach a party: forks
//     to every target at once, or trunk after trunk with the offer
//     re-addressed for each, a trunk's digest challenge answered once,
//     what still rings cancelled, failures ranked. Call start, forwarding,
//     blind transfer, menus, queues and park's ring-back ring through it.
//
// Legs and bridges: sip/leg holds a dialog as the PBX keeps it
// (leg.Dialog), a leg (leg.Leg: one SIP dialog in either direction, its
// SDP origin and the last SDP we sent on it; it knows nothing of other
// legs) and the bridge (leg.Bridge) that joins two legs' media on a
// media.Relay, sets their codecs and runs the re-INVITEs on them. It
// knows no call: the call hands it a leg.Messenger for the network and
// its own 2xx/ACK handling. Taps attach to the relay (the recorder,
// sip/record); media.Fanout is the N-party bridge of a page (sip/paging).
// A media source or sink is a leg without a dialog: a media.Endpoint of the
// PBX's own takes a party's place on the relay, a media.Player plays into
// it (greetings, prompts, music on hold) and a MonoRecorder or the DTMF
// detector listens.
//
// The call: sip/call is the call core, below the features. A call
// (call.Call) is the CDR's unit: the story of its legs and its bridge over
// time. One goroutine, its actor, owns all of it; SIP handlers and
// transaction watchers only post it events, and what other goroutines may
// read is published atomically. call.Core is what every call needs of the
// server (the SIP client, our responses, the relay's ports, the history
// spool, the counters, the leg watchers) and the call table; the package
// doc says how a call is built from its parts. It names no feature: the
// features plug in through its rooms (call.Room and the small interfaces
// beside it), the stand-in for a callee who cannot answer, the taps on an
// answered call's relay and what a call whose targets all failed does.
//
// Features sit on top, each a package over the call core that the
// compiler keeps below package sip (a feature cannot import it) and
// whose deps test names the other features it may use:
//   - sip/transfer: blind and attended transfer (REFER, REFER with
//     Replaces, INVITE with Replaces); sip/park: park orbits, music on
//     hold, ring-back, retrieval (it parks through transfer's Parker);
//   - sip/forward: forwarding and do not disturb; sip/intercom: intercom
//     calls; sip/paging: paging a group (over intercom's check and
//     headers); sip/pickup: directed, group and Replaces pickup;
//     sip/monitor: listen, whisper, barge in;
//   - sip/record: call recording, a tap on every answered call's relay;
//     sip/voicemail: mailboxes, the stand-in for a callee who cannot
//     answer, retrieval by phone, lamps and e-mail (recordings' files
//     through record);
//   - sip/queue: call queues over package acd's engine, which knows
//     nothing of SIP; sip/ivr: IVR menus (handing callers on to queues and
//     mailboxes).
//
// A feature's state on one call is a room (call.Room): the core asks the
// rooms open on a call at fixed points (an in-dialog request, the call
// ending, leg B without a dialog, a deadline, a re-INVITE to let through,
// forks still ringing), each a small optional interface, and names no
// feature. Its state across calls is its service (the parking lot, the
// pickup board, the pager, forwarding, monitoring, recordings, voicemail,
// the queue runtime, the menus), which the b2bua builds and holds. A
// feature acts through leg, dialer and bridge operations (answer, hold,
// replace a leg's dialog, move a leg, ring targets, play, hang up), never
// through another feature's state; its events implement
// call.FeatureEvent and run on the call's goroutine. A new feature is a
// new package of this layer with its room and, if it needs one, its
// service, wired in b2bua.go.
//
// In package sip itself, the top: Server (server.go) builds the parts and
// hands them requests; the follower (follow.go) keeps the caches current
// from the store's change log; the b2bua (b2bua.go) embeds the call core,
// builds and holds the features' services and dispatches the call side's
// requests (a new dialog to a call, a Replaces, a park retrieval or a
// feature code; an in-dialog request to its call, or to a supervisor's,
// page's or mailbox's own dialog); features.go maps feature codes to the
// features; callside.go is what the server's API shows of the call side.
package sip
