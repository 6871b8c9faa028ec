// Package subscribe answers SUBSCRIBEs and sends their NOTIFYs (RFC 6665):
// busy lamps and presence of extensions, group numbers and park orbits
// (Event: dialog or presence, kept in the state table of package
// presence), and message waiting of a user's or a group's mailbox
// (Event: message-summary, RFC 3842).
//
// It authenticates subscribers through the digest check, decides what a
// watcher may see with authz, and reads the credential cache, the
// location service and the store. It knows nothing of calls: the server
// feeds the presence table its legs' states, tells it of mailbox changes
// (MailboxChanged), and gives as functions what only the call side knows
// (the Contact we give a peer, which numbers are park orbits, a group's
// mailbox).
package subscribe
