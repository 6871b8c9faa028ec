// Package auth is the digest authentication of SIP requests (RFC 3261
// §22, RFC 8760): the registrar's 401 with WWW-Authenticate (Registrar)
// and the proxy's 407 with Proxy-Authenticate (Proxy), which INVITE and
// the other requests that cost money get. A Checker holds the realm in
// force, challenges, checks an answer against the credentials cache
// (reading the directory for an extension not cached), counts failures
// with the guard, and asks the directory whether an authenticated
// extension is still what the cache says (Current).
//
// It knows nothing of registrations or calls: it answers the request
// itself only with a challenge or a refusal, and leaves what follows a
// success to its caller.
package auth
