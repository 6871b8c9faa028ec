// Package queue runs call queues, a feature over the call core
// (sip/call), on package acd's engine, which knows nothing of SIP: a
// caller routed to a queue's number waits with music (and hears their
// position), agents' phones are offered the call, and the queue
// overflows, wraps up and logs agents in and out (feature codes and the
// API) as acd decides. The wallboard reads Board.
package queue
