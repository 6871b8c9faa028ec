// Package trunk owns the SIP trunks to carriers: their configuration
// (Trunk), the table of the trunks and DIDs in force (the configured ones
// merged with the trunks and dids settings of the directory), which trunk
// a request comes from by the address of its host, which trunks serve a
// number, and the PBX's own registrations to the carriers that ask for
// one, refreshed before they expire and backed off after failures.
//
// It knows nothing of calls, dialogs, the registrar or the server that
// runs it: the Contact it gives a carrier, the resolver of trunk hosts and
// the client that sends its REGISTERs come through Config.
package trunk
