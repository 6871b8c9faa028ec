package sip

import (
	"maps"

	"github.com/switchboard-pbx/switchboard/media"
)

// Metrics is a snapshot of what monitoring wants to know about a running
// server: counters since start and the gauges of the moment.
type Metrics struct {
	// Requests counts the requests the server admitted, by method.
	Requests map[string]uint64
	// Dropped counts requests dropped unanswered, by reason ("banned",
	// "scanner").
	Dropped map[string]uint64
	// AuthFailures counts digest answers that did not match (REGISTER and
	// INVITE).
	AuthFailures uint64
	// Calls counts finished call attempts by direction and disposition, as
	// written to the call history.
	Calls map[CallOutcome]uint64
	// SetupRoute and SetupAnswer are the PBX's own share of call setups
	// over UDP: from a caller's INVITE to the callee's INVITE, and from
	// the callee's 2xx to the caller's (sip/call/setupdelay.go).
	SetupRoute, SetupAnswer DelaySnapshot

	Bindings      int // current registrations (contacts), of all nodes
	Extensions    int // extensions with at least one current binding
	ActiveCalls   int
	Bans          int // bans and extension locks in force
	RTPPortsFree  int // RTP+RTCP pairs free in the pool
	RTPPortsTotal int
	// RTPRejected counts datagrams the media relay refused: from a
	// source that is not the leg's phone, or still on probation.
	RTPRejected uint64
	// RTPRelay counts what the relay received, forwarded and dropped
	// (by reason, the kernel's full receive queues included).
	RTPRelay   media.RelayCounters
	HeldWrites int // binding writes held while the store is away
}

// Metrics returns the server's counters and gauges.
func (s *Server) Metrics() Metrics {
	c := &s.counters
	m := Metrics{
		Requests: map[string]uint64{
			"REGISTER": c.Register.Load(), "INVITE": c.Invite.Load(), "ACK": c.Ack.Load(),
			"BYE": c.Bye.Load(), "CANCEL": c.Cancel.Load(), "OPTIONS": c.Options.Load(),
		},
		AuthFailures: c.AuthFailures.Load(),
		SetupRoute:   c.Setup.Route.Snapshot(),
		SetupAnswer:  c.Setup.Answer.Snapshot(),
		Bans:         len(s.guard.Bans()),
		HeldWrites:   s.loc.Held(),
	}
	c.Mu.Lock()
	maps.Copy(m.Requests, c.Other)
	m.Dropped = maps.Clone(c.Dropped)
	m.Calls = maps.Clone(c.Calls)
	c.Mu.Unlock()
	m.Bindings, m.Extensions = s.loc.Count()
	if s.calls != nil {
		m.ActiveCalls = s.calls.Active()
		m.RTPPortsFree, m.RTPPortsTotal = s.calls.Pool.Free(), s.calls.Pool.Size()
		m.RTPRejected = s.calls.Pool.Rejected()
		m.RTPRelay = s.calls.Pool.Counters()
	}
	return m
}
