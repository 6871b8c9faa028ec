// Package park parks calls, a feature over the call core (sip/call): a
// REFER to an orbit or the park code (through sip/transfer) leaves the
// other party on the orbit with music on hold on the call's empty leg, the
// orbit's busy lamp lit; whoever may dial the orbit takes the call, and
// after the park timeout the parker's phone is rung back.
package park
