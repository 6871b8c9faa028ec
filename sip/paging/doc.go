// Package paging pages a group, a feature over the call core (sip/call):
// one talker's call reaches every member's registered phones at once with
// intercom's auto-answer headers (sip/intercom), and a media.Fanout
// carries the talker's voice to each member who answered. A page is not a
// call of the call core: it keeps its own dialogs and CDR row.
package paging
