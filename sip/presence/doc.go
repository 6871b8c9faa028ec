// Package presence holds what busy lamps and presence watchers are told:
// the state of each extension (registered, do not disturb, its legs of
// calls), the subscriptions (RFC 6665) of the dialog (RFC 4235) and
// presence (PIDF, RFC 3863) event packages, their expiry, and the fan-out
// of a change to every subscription that watches it.
//
// It knows nothing of SIP transactions or of calls: package sip feeds it
// leg and registration events, authenticates and authorises subscribers,
// and sends the NOTIFYs it asks for through a Sender.
package presence
