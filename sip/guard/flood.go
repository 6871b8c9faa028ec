package guard

import (
	"net/netip"
	"sync"
	"time"
)

// flood is the per-source request-rate limit (Kamailio's pike is the
// model): each source may send FloodRequests requests per FloodWindow;
// past that its requests are dropped unanswered until the window turns,
// and a source over the limit in floodHotWindows windows in a row is
// banned for FloodBanTime. Exempt networks are never limited. The table is
// bounded like the failure counters.
type flood struct {
	limit  int
	window time.Duration
	max    int

	mu  sync.Mutex
	src map[netip.Addr]*rate
}

// floodHotWindows is how many windows in a row over the limit ban a
// source: one is a burst (an office of phones booting behind one address),
// two is a flood.
const floodHotWindows = 2

type rate struct {
	start time.Time
	n     int
	over  int // windows in a row, before this one, over the limit
}

func newFlood(limit int, window time.Duration, max int) *flood {
	return &flood{limit: limit, window: window, max: max, src: make(map[netip.Addr]*rate)}
}

// count counts one request from ip at now and reports whether it may be
// handled, and whether the source must be banned (once, on the request
// that makes it so).
func (f *flood) count(ip netip.Addr, now time.Time) (allow, ban bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.src[ip]
	if !ok {
		if len(f.src) >= f.max {
			f.sweepLocked(now)
			if len(f.src) >= f.max {
				return true, false // full of live sources: do not track more
			}
		}
		r = &rate{start: now}
		f.src[ip] = r
	}
	if d := now.Sub(r.start); d >= f.window {
		switch {
		case d >= 2*f.window: // a quiet window in between
			r.over = 0
		case r.n > f.limit:
			r.over++
		default:
			r.over = 0
		}
		r.start, r.n = now, 0
	}
	r.n++
	if r.n <= f.limit {
		return true, false
	}
	return false, r.n == f.limit+1 && r.over+1 >= floodHotWindows
}

func (f *flood) forget(ip netip.Addr) {
	f.mu.Lock()
	delete(f.src, ip)
	f.mu.Unlock()
}

func (f *flood) sweep(now time.Time) {
	f.mu.Lock()
	f.sweepLocked(now)
	f.mu.Unlock()
}

func (f *flood) sweepLocked(now time.Time) {
	for ip, r := range f.src {
		if now.Sub(r.start) >= 2*f.window {
			delete(f.src, ip)
		}
	}
}

// Flood counts one request from ip against the source's rate limit and
// reports whether it may be handled. A source that keeps flooding is
// banned here (and in the store, for every node).
func (g *Guard) Flood(ip netip.Addr) bool {
	ip = ip.Unmap()
	if g.Exempt(ip) {
		return true
	}
	// Rates are of real traffic: the window runs on the wall clock even
	// where the guard's clock is a test's.
	allow, ban := g.flood.count(ip, time.Now())
	now := g.clock.Now()
	if ban {
		g.mu.Lock()
		if _, banned := g.bans[ip]; !banned {
			b := &Ban{Source: ip.String(), Reason: "request flood", Failures: 0,
				Since: now, Until: now.Add(g.cfg.FloodBanTime)}
			g.bans[ip] = b
			g.log.Warn("source banned", "src", b.Source, "reason", b.Reason,
				"limit", g.cfg.FloodRequests, "window", g.cfg.FloodWindow, "until", b.Until)
			g.persistLocked(b)
		}
		g.mu.Unlock()
	}
	return allow
}
