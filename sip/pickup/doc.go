// Package pickup takes a call ringing elsewhere to the picker's phone, a
// feature over the call core (sip/call): directed pickup of one
// extension's ringing call and group pickup by feature code, and an
// INVITE with Replaces naming a ringing phone's early dialog (as busy lamp
// keys send). The board of ringing legs is fed by the leg events.
package pickup
