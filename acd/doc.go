// Package acd is Switchboard's automatic call distributor: the
// decisions of call queues, and nothing else. It knows queues, agents and
// waiting callers by opaque IDs; it plays no audio, sends no SIP and reads
// no store, so it imports nothing of ours.
//
// # What it decides
//
//   - which agent is offered which waiting caller, by the queue's strategy:
//     ring all, longest idle, round robin, fewest calls;
//   - agents logging in and out and pausing with a reason, members of any
//     number of queues; wrap-up time after each queue call;
//   - each caller's position, and when it changes;
//   - when a caller has waited the queue's maximum, or finds the queue
//     full or without agents, that they overflow to another route;
//   - service-level figures per queue (answered within N seconds).
//
// # How it is driven
//
// An Engine is a state machine behind one mutex. The rule: every exported
// method takes the lock for its whole body, changes state, and returns the
// events it produced; the engine never calls out, blocks, or starts a
// goroutine. So callers may call it from any goroutine, and must act on the
// events after the call returns, in their order. Time comes from the Clock
// given to New; deadlines (maximum wait, wrap-up end, ring timeout) are
// acted upon when Tick is called, and NextDeadline says when that is due.
//
// # Wiring it into calls (the sip side, later)
//
// A sip feature, say sip/queue, owns one Engine and one goroutine:
//
//	for {
//		timer.Reset(until(engine.NextDeadline()))
//		select {
//		case <-timer.C:  act(engine.Tick())
//		case <-ctx.Done(): return
//		}
//	}
//
// and it maps calls to engine calls and events to leg and bridge operations:
//
//   - an inbound call routed to a queue number: answer the caller's leg,
//     attach the music-on-hold player, then act(Enqueue(queue, callID));
//   - EventOffer{Agent, Caller}: dial the agent's extension (a B-leg) with
//     the queue's ring timeout; on its 200 OK act(AgentAnswered), then move
//     the caller from the hold player into a bridge with the agent; on a
//     busy, decline or no answer act(AgentMissed);
//   - EventCancel{Agent, Caller}: CANCEL that B-leg (ring all: someone else
//     answered; or the caller left);
//   - EventPosition{Caller, Position}: play "you are number N" over the hold
//     music;
//   - EventOverflow{Caller, Target}: stop the player and route the caller's
//     leg to Target as the dial plan routes an extension (or to voicemail);
//   - the caller hangs up while waiting: act(Abandon(callID)); the bridged
//     call ends: act(CallEnded(agent)), which starts wrap-up;
//   - the agent's phone is busy with a call outside the queue: AgentBusy,
//     then AgentFree when it ends;
//   - feature codes, the web page and the API call Login, Logout, Pause
//     and Unpause, and show Snapshot and Stats.
package acd
