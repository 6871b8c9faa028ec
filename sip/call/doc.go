// Package call is the call core: a Call, the CDR's unit, is the story of
// its legs and its bridge over time, and Core is what every call needs of
// the server (the SIP client and our responses, the relay's ports, the
// addresses we are reached at, the history spool, the counters, the
// watchers of extension legs) with the table of calls in progress and
// their call slots. It knows no feature: transfers, forwarding, park,
// queues, menus, voicemail, monitoring, paging, pickup and recording are
// package sip's, above it, and use the operations it exports.
//
// A call is built from parts, each a type that knows nothing of the
// others:
//   - callerTx (callertx.go): the caller's INVITE transaction, until our
//     final response, and what the caller heard before it;
//   - calleeTx (calleetx.go): the dialer (sip/dial) ringing the callee's
//     phones or the trunk, where leg B is and the ACK of the answering
//     fork's 2xx;
//   - leg.Bridge (sip/leg): the two legs joined on the media relay, their
//     codecs and their re-INVITEs;
//   - acks (pending.go): our 2xx, resent until their ACKs come, and the
//     BYEs that wait for them;
//   - admission (legadmit.go, admit.go): which leg's dialog and peer an
//     in-dialog request names, and the dialogs of parties the call left;
//   - outbox (legmove.go): the BYEs (an ended call's read by the actor as
//     it ends), and the requests to a party leaving the call, one after
//     the other;
//   - watched (watch.go): the one fork transaction the actor reads itself,
//     instead of a watcher goroutine;
//   - callRecord (cdr.go, active.go, legstates.go, legevents.go): the CDR
//     row, who is on each leg, what the dashboard and the busy lamps were
//     told;
//   - callTimers (calltimers.go): the ring time, the actor's next wake-up
//     and how long an ended call waits for its forks.
//
// The call's own methods run its life (call.go, with the plan in
// callplan.go), its ringing (ringing.go), its answer (answer.go), the
// gate of the re-INVITEs (reinvite.go) and its end (hangup.go); they ask
// the parts and join what the parts say.
//
// One goroutine owns a call: its actor (run). Only the actor reads or
// writes the call's fields, its parts' included; other goroutines reach it
// by posting events (mailbox.go, Post), the edge hands it the ACK of its
// 2xx without a sipgo transaction (TakesAck), and what they may read is
// published whole and atomically (the parties, who the call is between)
// or fixed before the call is filed in the call table (ID, AReq, the
// relay).
//
// Features keep their state on one call in a room (rooms.go): a feature
// opens its room on the call (Rooms.Open) and closes it when done, and the
// core asks the rooms open at a few fixed points through small optional
// interfaces: RequestTaker (an in-dialog request), CallEnder (the call
// ending), FarEnd (leg B without a dialog), TimedRoom (a deadline),
// ReinviteGate (a re-INVITE to let through), ForkHolder (forks still
// ringing). An Answerer of the PBX's takes a call in place of ringing (a
// queue, a menu, a mailbox; rooms_answer.go), the StandIn takes a callee's
// call they cannot answer, BridgeTaps listen on every answered call's
// relay (rooms_record.go), and a FeatureEvent runs a feature's code on the
// call's goroutine.
package call
