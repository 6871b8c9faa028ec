// Package ivr answers IVR menus, a feature over the call core
// (sip/call): the PBX answers a menu's number with its greeting, reads the
// caller's digits (RFC 4733 or SIP INFO) and takes the option chosen: an
// extension, a group or a queue (sip/queue), another menu, a mailbox
// (sip/voicemail), dial-by-extension or hang up.
package ivr
