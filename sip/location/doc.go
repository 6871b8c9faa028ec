// Package location is the registrar's location service: the bindings of
// every extension (contact, source, transport, path, expiry), held in
// memory for lookups and written to the directory's binding store so that
// a restart, even a kill -9, keeps every binding answered with a 200 and
// other nodes see it. A change is stored before Commit returns, in group
// commits with the changes of other registrations; a refresh that changes
// no route may be written behind (Later, FlushLater); writes the store
// cannot take are held in order and flushed when it answers again.
//
// It knows nothing of SIP messages, digest authentication or calls:
// package sip parses a REGISTER, decides what it changes and hands the
// bindings over; it reads only the directory and the clock.
package location
