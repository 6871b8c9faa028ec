// Package sip is Switchboard's SIP side, built on sipgo: the registrar
// (digest authentication with stateless expiring nonces, MD5 and SHA-256),
// the location service (bindings kept in memory and persisted through the
// directory store, shared by nodes over one PostgreSQL) and the guard
// (failed-authentication counting, bans, scanner drops), the router (dial
// plan: extension, group, DID, outbound through a trunk under authz) and the
// B2BUA: one actor goroutine per call owning both dialogs and a media relay,
// SDP rewritten to the relay, and a call history row per attempt.
//
// Credentials are checked against what the directory stores, never a plain
// password: the HA1 values of directory.SIPSecret, cached in memory and kept
// fresh by following the store's change log.
package sip
