// Package leg is the lowest layer of Switchboard's calls: one SIP dialog
// as the PBX keeps it (Dialog: enough to send requests inside it), a leg
// (Leg: a dialog with the origin line of the SDP we send on it and the
// last SDP we sent) and the bridge (Bridge) that joins two legs on a
// media relay.
//
// A leg builds our in-dialog requests (a re-INVITE, a BYE), tells whether
// a request names its dialog and follows its peer's address; it knows
// nothing of the other leg. The bridge points each relay leg at its
// phone's media, rewrites the SDP one leg sends into the SDP the other
// gets, has the relay transcode, and runs the re-INVITEs on its legs.
//
// It knows nothing of calls, their events, admission, features or the
// server: the call that holds a bridge hands it what it needs of the
// network and of the call's 2xx as functions (Messenger), and decides
// whether a re-INVITE may pass.
package leg
