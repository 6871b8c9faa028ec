// Package creds is the registrar's credentials cache: the digest hashes
// (HA1, MD5 and SHA-256) and SIP rules (allowed networks, device limit,
// call forwarding) of every extension that may use SIP, loaded from the
// directory at start and kept fresh from its change log, so that checking
// a request's digest reads memory and allocates nothing. It remembers
// deleted extensions for a while, so that a phone still using one is
// refused rather than challenged.
//
// It knows nothing of SIP messages, bindings or calls, and does no I/O:
// package sip reads the directory and hands it users, and checks a digest
// (sip/digest) against the hash it returns.
package creds
