// Package guard is the SIP side's defence against brute force, scanners
// and floods: it counts failed authentications per source, per extension
// and per pair, bans sources and locks extensions for them, spends an
// extension's failed-verification budget, limits each source's request
// rate, and shares its bans with the other nodes through the directory
// store (Sync).
//
// It knows nothing of SIP messages, registrations or calls: its caller
// tells it of each failure and success and asks it before handling a
// packet, and it learns whether a source holds a current registration
// through the functions given to New.
package guard
