package sip

import (
	"maps"
	"sync"
	"sync/atomic"

	"github.com/switchboard-pbx/switchboard/directory"
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

// CallOutcome is the key of Metrics.Calls.
type CallOutcome struct {
	Direction   directory.Direction
	Disposition directory.Disposition
}

// counters are the server's monotonic counters. The request counter is on
// every request's path, so the common methods have their own atomics.
type counters struct {
	register, invite, ack, bye, cancel, options atomic.Uint64
	authFailures                                atomic.Uint64

	mu      sync.Mutex
	other   map[string]uint64
	dropped map[string]uint64
	calls   map[CallOutcome]uint64
}

func (c *counters) request(method string) {
	switch method {
	case "REGISTER":
		c.register.Add(1)
	case "INVITE":
		c.invite.Add(1)
	case "ACK":
		c.ack.Add(1)
	case "BYE":
		c.bye.Add(1)
	case "CANCEL":
		c.cancel.Add(1)
	case "OPTIONS":
		c.options.Add(1)
	default:
		c.add(&c.other, method)
	}
}

func (c *counters) drop(reason string) { c.add(&c.dropped, reason) }

func (c *counters) call(row directory.Call) {
	c.mu.Lock()
	if c.calls == nil {
		c.calls = make(map[CallOutcome]uint64)
	}
	c.calls[CallOutcome{row.Direction, row.Disposition}]++
	c.mu.Unlock()
}

func (c *counters) add(m *map[string]uint64, key string) {
	c.mu.Lock()
	if *m == nil {
		*m = make(map[string]uint64)
	}
	// Methods come from the network: only a bounded set of keys is kept.
	if _, ok := (*m)[key]; ok || len(*m) < 32 {
		(*m)[key]++
	} else {
		(*m)["other"]++
	}
	c.mu.Unlock()
}

// Metrics returns the server's counters and gauges.
func (s *Server) Metrics() Metrics {
	c := &s.counters
	m := Metrics{
		Requests: map[string]uint64{
			"REGISTER": c.register.Load(), "INVITE": c.invite.Load(), "ACK": c.ack.Load(),
			"BYE": c.bye.Load(), "CANCEL": c.cancel.Load(), "OPTIONS": c.options.Load(),
		},
		AuthFailures: c.authFailures.Load(),
		Bans:         len(s.guard.Bans()),
		HeldWrites:   s.loc.Held(),
	}
	c.mu.Lock()
	maps.Copy(m.Requests, c.other)
	m.Dropped = maps.Clone(c.dropped)
	m.Calls = maps.Clone(c.calls)
	c.mu.Unlock()
	m.Bindings, m.Extensions = s.loc.Count()
	if s.calls != nil {
		m.ActiveCalls = s.calls.active()
		m.RTPPortsFree, m.RTPPortsTotal = s.calls.pool.Free(), s.calls.pool.Size()
		m.RTPRejected = s.calls.pool.Rejected()
		m.RTPRelay = s.calls.pool.Counters()
	}
	return m
}
