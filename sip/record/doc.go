// Package record records calls, a feature over the call core
// (sip/call): a tap (call.BridgeTap) on the bridge of every answered call
// decides by the recording policy in force whether the call is recorded
// and attaches a recorder to its relay, and the recording row follows the
// call. It also keeps the recordings directory: recordings left
// unfinished by a crash are repaired at start, and those past the
// retention are deleted.
package record
