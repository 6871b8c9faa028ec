// Package wire is SIP at the level of bytes, where the registrar's hot
// path needs no second parse: it splits a message into start line and
// header fields without sipgo (Split, HeaderValue, HeaderEnd), looks up a
// parsed request's headers without allocating (Header, Headers), writes
// responses as bytes straight from the request (Reply; Message.Reply for
// one that sipgo could not parse), keeps the REGISTER, BYE and INVITE
// transactions served over UDP outside sipgo's transaction layer
// (Transactions, InviteTx), and the client transactions of the requests
// the server sends over UDP to an address (Clients: the call side's
// INVITEs, BYEs and CANCELs among them).
//
// It decides nothing: which messages to refuse, and why, is its caller's.
// It knows nothing of the registrar, the guard, calls or the store.
package wire
