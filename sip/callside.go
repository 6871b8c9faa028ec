package sip

import (
	"context"
	"errors"
	"net/netip"
	"strings"

	"github.com/emiago/sipgo/sip"
	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/call"
	"github.com/switchboard-pbx/switchboard/sip/queue"
	"github.com/switchboard-pbx/switchboard/sip/trunk"
	"github.com/switchboard-pbx/switchboard/sip/voicemail"
	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// What the server gives of its call side (the core, the features): the
// calls in progress, the leg events, the history writes held, and the
// requester the SIP client sends through.

// ActiveCalls returns the calls in progress on this node, oldest first.
//
// It reads only what a call publishes for other goroutines (shown, stored
// whole each time who the call is between changes) and its relay, fixed
// before the call is filed; so it never races the call's own goroutine.
// The state is therefore told from the relay's counters, not from the SIP
// dialog: early media counts as talking.
func (s *Server) ActiveCalls() []ActiveCall {
	return s.calls.ShownCalls()
}

// ObserveLegs sets the function that receives every extension leg's
// state changes (nil stops them).
func (s *Server) ObserveLegs(f LegObserver) {
	if f == nil {
		s.legObs.Observer.Store(nil)
		return
	}
	s.legObs.Observer.Store(&f)
}

// watchLegs adds one of the server's own watchers of leg events. Only
// while the server is built: legEvent reads them without a lock.
func (s *Server) watchLegs(f LegObserver) {
	s.legObs.Own = append(s.legObs.Own, f)
}

// HistoryWritesHeld returns the number of call history and recording
// writes waiting for the store.
func (s *Server) HistoryWritesHeld() int { return s.history.Held() }

// closeHistory makes a last attempt at the held writes at shutdown; those
// left stay in the spool file for the next start.
func (s *Server) closeHistory(ctx context.Context) {
	if !s.history.Flush(ctx) {
		s.log.Warn("call history writes still held at shutdown", "writes", s.history.Held())
	}
	if err := s.history.Close(); err != nil {
		s.log.Warn("spool not closed", "err", err)
	}
}

// requester is the client's transaction requester: it stamps the request
// and hands it to sipgo's transaction layer (or, for an ACK, straight to
// the transport, which is where sipgo's WriteRequest would put it).
type requester struct{ s *Server }

func (r requester) Request(ctx context.Context, req *sip.Request) (sip.ClientTransaction, error) {
	udp := r.s.udpReady.Load()
	r.s.calls.Stamp(req, udp)
	if req.IsAck() {
		return nil, r.s.ua.TransportLayer().WriteMsg(req)
	}
	if pc := r.s.udpOut.Load(); udp && pc != nil && !r.s.cfg.SipgoClients && strings.EqualFold(req.Transport(), "udp") {
		// To an address over UDP: the server's own client transaction
		// (wire.Clients), from the listener's socket as Stamp says. A
		// name to resolve, or a request too large for a datagram, is
		// sipgo's.
		if dest, err := netip.ParseAddrPort(req.Destination()); err == nil {
			tx, err := r.s.clients.Request(pc.Raw(), netip.AddrPortFrom(dest.Addr().Unmap(), dest.Port()), req)
			if err == nil {
				return tx, nil
			}
			if !errors.Is(err, wire.ErrTooLarge) {
				return nil, err
			}
		}
	}
	return r.s.ua.TransactionLayer().Request(ctx, req)
}

// The call side's types that the server's API names.
type (
	// CallConfig is the call side's configuration (Config.Calls).
	CallConfig = call.Config
	// Trunk is a SIP trunk to a carrier.
	Trunk = trunk.Trunk
	// ActiveCall is a call in progress, as the dashboard shows it.
	ActiveCall = call.ActiveCall
	// LegEvent tells watchers that one extension's leg of a call changed
	// state.
	LegEvent = call.LegEvent
	// LegState is where one extension's leg of a call stands.
	LegState = call.LegState
	// LegObserver receives leg events (ObserveLegs).
	LegObserver = call.LegObserver
	// CallOutcome is the key of Metrics.Calls.
	CallOutcome = call.Outcome
	// DelaySnapshot is a histogram of Metrics (SetupRoute, SetupAnswer),
	// over DelayBounds.
	DelaySnapshot = call.DelaySnapshot
)

// DelayBounds are the upper bounds of a DelaySnapshot's buckets.
var DelayBounds = call.DelayBounds

// Where an extension's leg stands (LegEvent.State).
const (
	LegRinging  = call.LegRinging
	LegAnswered = call.LegAnswered
	LegEnded    = call.LegEnded
)

// MailboxChanged tells the phones watching a user's mailbox its counts
// now, after a change made elsewhere (messages heard or deleted on the
// web). It returns at once; the NOTIFYs go in the background.
func (s *Server) MailboxChanged(userID int64) { go s.subs.MailboxChanged(userID, 0) }

// mailboxChangedOf sends the current counts to every subscription of the
// mailbox of a user (userID) or a group.
func (s *Server) mailboxChangedOf(userID, groupID int64) { s.subs.MailboxChanged(userID, groupID) }

// GroupMailboxChanged tells the phones watching a group's mailbox its
// counts now (messages heard or deleted on the web). It returns at once.
func (s *Server) GroupMailboxChanged(groupID int64) { go s.mailboxChangedOf(0, groupID) }

// groupMailbox is voicemail.groupMailbox as the message-waiting
// subscriptions take it (subscribe.Parts.GroupMailbox): no group and no
// error when ext is no group's.
func (s *Server) groupMailbox(ctx context.Context, userID int64, ext string) (*directory.Group, error) {
	g, err := s.calls.vm.GroupMailbox(ctx, userID, ext)
	if errors.Is(err, voicemail.ErrNoGroup) {
		return nil, nil
	}
	return g, err
}

// QueueAgent logs a user in to their queues or out, or pauses (with a
// reason) or unpauses them: action is QueueLogin, QueueLogout, QueuePause
// or QueueUnpause. ErrNotQueueAgent: the user is a member of no queue;
// ErrNotLoggedIn: pausing or unpausing an agent logged out.
func (s *Server) QueueAgent(ctx context.Context, userID int64, action, reason string) error {
	if s.calls == nil {
		return errors.New("no call side")
	}
	return s.calls.queues.SetAgent(ctx, userID, action, reason)
}

// QueueBoard returns every queue's state now, by number. The directory's
// queues are read again first, so that a queue made a moment ago shows.
func (s *Server) QueueBoard(ctx context.Context) ([]queue.QueueStatus, error) {
	if s.calls == nil {
		return nil, nil
	}
	return s.calls.queues.Board(ctx)
}

// QueueStatus is a queue as a wallboard shows it now (QueueBoard).
type QueueStatus = queue.QueueStatus

// Agent actions (QueueAgent).
const (
	QueueLogin   = queue.QueueLogin
	QueueLogout  = queue.QueueLogout
	QueuePause   = queue.QueuePause
	QueueUnpause = queue.QueueUnpause
)

// Errors of agent actions (QueueAgent).
var (
	ErrNotQueueAgent = queue.ErrNotQueueAgent
	ErrNotLoggedIn   = queue.ErrNotLoggedIn
)
