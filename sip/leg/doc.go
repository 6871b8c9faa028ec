// Package leg is the lowest layer of Switchboard's calls: one SIP dialog
// as the PBX keeps it (Dialog: enough to send requests inside it) and a
// leg (Leg: a dialog with the origin line of the SDP we send on it and the
// last SDP we sent). A leg builds our in-dialog requests (a re-INVITE, a
// BYE), tells whether a request names its dialog and follows its peer's
// address.
//
// It knows nothing of calls, other legs, the media relay or the server:
// package sip's calls hold two legs, join them on a relay and move them
// between parties; a leg only answers for its own dialog.
package leg
