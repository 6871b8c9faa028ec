// Package forward is call forwarding, a feature over the call core
// (sip/call): it routes a call to a user by the user's forwarding rules
// (always, do not disturb) and, when a ringing call's targets all fail or
// do not answer in time, forwards it on busy or no answer, else leaves it
// to the stand-in (the callee's mailbox). The dial plan (sip/route) calls
// it for every call to a user (RouteUser); the call core calls it when
// ringing fails (RingFailed).
package forward
