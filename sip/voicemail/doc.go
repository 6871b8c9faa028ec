// Package voicemail is the mailboxes, a feature over the call core
// (sip/call): the stand-in that takes a call the callee cannot answer and
// records the caller's message (a user's mailbox, or a group's), the
// owner's retrieval by phone (PIN, digits by RFC 4733 or INFO), the
// message-waiting lamps and the e-mail copy of each message.
package voicemail
