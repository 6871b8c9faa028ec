package sip

import (
	"sync"
	"sync/atomic"

	"github.com/switchboard-pbx/switchboard/directory"
)

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
