// Package transfer carries transfers, a feature over the call core
// (sip/call): a blind transfer (REFER) rings the target with the dialer
// while the transferor hears NOTIFYs of its progress, an attended
// transfer joins two calls (REFER with Replaces, or an INVITE with
// Replaces from the target's side), and a REFER to a park orbit or the
// park code goes to the Parker (sip/park). Its state on a call is a room.
package transfer
