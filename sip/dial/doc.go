// Package dial rings the targets of a route (sip/route): a Dialer sends an
// INVITE (a Fork) to every target at once or, on a route that fails over,
// to one trunk after the other with the offer re-addressed for each,
// answers a trunk's digest challenge once, cancels what still rings and
// ranks the failures when nobody answers (BestFailure). It knows no call:
// what it needs of the one it rings for comes in an Env (the client, the
// relay, how to post an Event to the call's actor), and what an answer or
// a failure means is its user's business (OnResponse, OnFailed).
package dial
