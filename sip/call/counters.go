package call

import (
	"sync"
	"sync/atomic"

	"github.com/switchboard-pbx/switchboard/directory"
)

// Outcome is the key of Metrics.Calls.
type Outcome struct {
	Direction   directory.Direction
	Disposition directory.Disposition
}

// Counters are the server's monotonic counters. The request counter is on
// every request's path, so the common methods have their own atomics.
type Counters struct {
	Register, Invite, Ack, Bye, Cancel, Options atomic.Uint64
	AuthFailures                                atomic.Uint64
	// Setup is the PBX's own share of call setups (setupdelay.go).
	Setup SetupDelays

	Mu      sync.Mutex
	Other   map[string]uint64
	Dropped map[string]uint64
	Calls   map[Outcome]uint64
}

func (c *Counters) Request(method string) {
	switch method {
	case "REGISTER":
		c.Register.Add(1)
	case "INVITE":
		c.Invite.Add(1)
	case "ACK":
		c.Ack.Add(1)
	case "BYE":
		c.Bye.Add(1)
	case "CANCEL":
		c.Cancel.Add(1)
	case "OPTIONS":
		c.Options.Add(1)
	default:
		c.add(&c.Other, method)
	}
}

func (c *Counters) Drop(reason string) { c.add(&c.Dropped, reason) }

func (c *Counters) Call(row directory.Call) {
	c.Mu.Lock()
	if c.Calls == nil {
		c.Calls = make(map[Outcome]uint64)
	}
	c.Calls[Outcome{row.Direction, row.Disposition}]++
	c.Mu.Unlock()
}

func (c *Counters) add(m *map[string]uint64, key string) {
	c.Mu.Lock()
	if *m == nil {
		*m = make(map[string]uint64)
	}
	// Methods come from the network: only a bounded set of keys is kept.
	if _, ok := (*m)[key]; ok || len(*m) < 32 {
		(*m)[key]++
	} else {
		(*m)["other"]++
	}
	c.Mu.Unlock()
}
