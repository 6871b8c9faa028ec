package guard

import (
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/internal/clock"
)

// Ban is a source kept out, shown to operators. An empty Extension bans
// the source altogether; otherwise only that extension is locked for it.
type Ban struct {
	Source    string // IP address; AnySource for a spent extension budget
	Extension string
	Reason    string
	Failures  int // 0 for a ban learnt from the store
	Since     time.Time
	Until     time.Time
	Node      string // the node that imposed it when another did ("" when this one)
}

// maxPendingBans bounds the bans waiting to be written to the store; past
// it a new ban applies on this node only (and says so in the log).
const maxPendingBans = 1024

// Guard counts failed authentications per source IP, per extension and per
// (source, extension) pair, and bans. Its rules:
//   - MaxFailures from one source within the window ban the source, unless
//     it holds a current registration: an office behind one public IP that
//     authenticates fine is not banned for another extension's failures;
//     the failing extension is locked for that source instead.
//   - MaxExtFailures on one extension within the window put it under
//     attack; from then on any source failing on it is locked out of it.
//   - ExtBudget failed verifications of one extension within
//     ExtBudgetWindow, from all sources together, spend its budget: until
//     the window ends its credentials are verified only for sources that
//     hold a current registration of it (its real phones); every other
//     source gets the answer of a wrong password without a check. Rotating
//     sources gains an attacker nothing.
type Guard struct {
	cfg    Config
	exempt []netip.Prefix
	clock  clock.Clock
	log    *slog.Logger
	// registered reports whether ip holds a current registration;
	// registeredExt whether it holds one of ext.
	registered    func(ip netip.Addr) bool
	registeredExt func(ip netip.Addr, ext string) bool
	flood         *flood

	mu    sync.Mutex
	src   map[netip.Addr]*counter
	ext   map[string]*counter
	pair  map[pairKey]*counter
	bans  map[netip.Addr]*Ban
	locks map[pairKey]*Ban
	// spent counts failed verifications per extension within
	// ExtBudgetWindow, from every source; budget holds the extensions
	// whose budget is spent (a Ban with Source AnySource).
	spent  map[string]*counter
	budget map[string]*Ban

	// New bans wait in pending (under mu) for the writer (Sync), which
	// wake tells; the SIP path never waits for the store.
	pending []Ban
	wake    chan struct{}
	// writeMu orders the store writes of bans and of unbans, so that a ban
	// being written cannot come back after an operator lifted it.
	writeMu sync.Mutex
}

type pairKey struct {
	ip  netip.Addr
	ext string
}

// counter counts failures in a window that starts with the first one.
type counter struct {
	n     int
	start time.Time
}

func (c *counter) add(now time.Time, window time.Duration) int {
	if now.Sub(c.start) >= window {
		c.n, c.start = 0, now
	}
	c.n++
	return c.n
}

// AnySource is the Source of a spent extension budget: it holds for every
// source but the extension's registered ones.
const AnySource = "0.0.0.0"

// New returns a guard that applies cfg, its defaults already set and
// Exempt checked (ParseNets). registered reports whether a source holds a
// current registration, registeredExt whether it holds one of an
// extension; the guard asks them outside its lock (they read the
// location service), and registeredExt may be nil.
func New(cfg Config, c clock.Clock, log *slog.Logger, registered func(netip.Addr) bool,
	registeredExt func(netip.Addr, string) bool) *Guard {
	exempt, _ := ParseNets(cfg.Exempt) // checked by the caller's validation
	agents := make([]string, len(cfg.ScannerAgents))
	for i, a := range cfg.ScannerAgents {
		agents[i] = strings.ToLower(strings.TrimSpace(a))
	}
	cfg.ScannerAgents = agents
	return &Guard{cfg: cfg, exempt: exempt, clock: c, log: log, registered: registered, registeredExt: registeredExt,
		flood: newFlood(cfg.FloodRequests, cfg.FloodWindow, cfg.MaxTracked),
		src:   make(map[netip.Addr]*counter), ext: make(map[string]*counter), pair: make(map[pairKey]*counter),
		bans: make(map[netip.Addr]*Ban), locks: make(map[pairKey]*Ban),
		spent: make(map[string]*counter), budget: make(map[string]*Ban), wake: make(chan struct{}, 1)}
}

// Banned reports whether every request from ip is to be dropped.
func (g *Guard) Banned(ip netip.Addr) bool {
	ip = ip.Unmap()
	now := g.clock.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	b, ok := g.bans[ip]
	if !ok {
		return false
	}
	if !now.Before(b.Until) {
		g.liftLocked(ip, b)
		return false
	}
	return true
}

// Locked reports whether ip may not use ext.
func (g *Guard) Locked(ip netip.Addr, ext string) bool {
	k := pairKey{ip.Unmap(), ext}
	now := g.clock.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	b, ok := g.locks[k]
	if !ok {
		return false
	}
	if !now.Before(b.Until) {
		delete(g.locks, k)
		g.log.Info("extension lock expired", "src", k.ip.String(), "ext", ext)
		return false
	}
	return true
}

// Spent reports whether ext's failed-verification budget is spent and ip
// holds no current registration of it: its credentials are then not
// checked at all.
func (g *Guard) Spent(ip netip.Addr, ext string) bool {
	now := g.clock.Now()
	g.mu.Lock()
	b, ok := g.budget[ext]
	if ok && !now.Before(b.Until) {
		delete(g.budget, ext)
		g.log.Info("extension budget renewed", "ext", ext)
		ok = false
	}
	g.mu.Unlock()
	if !ok {
		return false
	}
	// Asked outside the lock: it reads the location service.
	return g.registeredExt == nil || !g.registeredExt(ip.Unmap(), ext)
}

func (g *Guard) liftLocked(ip netip.Addr, b *Ban) {
	delete(g.bans, ip)
	delete(g.src, ip)
	g.log.Info("source ban expired", "src", ip.String(), "since", b.Since)
}

// Exempt reports whether ip is in a network never banned, locked or
// rate-limited (Config.Exempt).
func (g *Guard) Exempt(ip netip.Addr) bool {
	for _, p := range g.exempt {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// Fail counts one failed authentication of ext from ip and bans or locks
// when a limit is reached.
func (g *Guard) Fail(ip netip.Addr, ext string) {
	ip = ip.Unmap()
	now := g.clock.Now()
	// Asked before taking the lock: it reads the location service.
	registered := g.registered != nil && g.registered(ip)
	g.mu.Lock()
	defer g.mu.Unlock()
	nSrc := count(g, g.src, ip, now)
	nExt := count(g, g.ext, ext, now)
	k := pairKey{ip, ext}
	nPair := count(g, g.pair, k, now)
	if g.Exempt(ip) {
		return
	}
	g.spendLocked(ext, now)
	if _, banned := g.bans[ip]; banned {
		return
	}
	switch {
	case nSrc >= g.cfg.MaxFailures && !registered:
		b := &Ban{Source: ip.String(), Reason: "too many failed authentications", Failures: nSrc,
			Since: now, Until: now.Add(g.cfg.BanTime)}
		g.bans[ip] = b
		g.log.Warn("source banned", "src", b.Source, "failures", nSrc, "until", b.Until)
		g.persistLocked(b)
	case nSrc >= g.cfg.MaxFailures || nPair >= g.cfg.MaxFailures:
		// The source holds a registration: it loses only the extension it
		// keeps failing on, and its other phones go on working.
		g.lockLocked(k, nPair, now, "too many failed authentications from a registered source")
	case nExt >= g.cfg.MaxExtFailures:
		g.lockLocked(k, nPair, now, "extension under attack")
	}
}

// spendLocked counts a failed verification of ext against its budget and
// closes the extension to unregistered sources when it is spent.
func (g *Guard) spendLocked(ext string, now time.Time) {
	c, ok := g.spent[ext]
	if !ok {
		if len(g.spent) >= g.cfg.MaxTracked {
			sweepCounters(g.spent, now, g.cfg.ExtBudgetWindow)
			if len(g.spent) >= g.cfg.MaxTracked {
				return
			}
		}
		c = &counter{start: now}
		g.spent[ext] = c
	}
	n := c.add(now, g.cfg.ExtBudgetWindow)
	if n < g.cfg.ExtBudget {
		return
	}
	if _, ok := g.budget[ext]; ok {
		return
	}
	b := &Ban{Source: AnySource, Extension: ext, Reason: "failed-verification budget spent",
		Failures: n, Since: now, Until: c.start.Add(g.cfg.ExtBudgetWindow)}
	g.budget[ext] = b
	g.log.Warn("extension budget spent: only its registered sources are verified", "ext", ext,
		"failures", n, "until", b.Until)
	g.persistLocked(b)
}

func (g *Guard) lockLocked(k pairKey, n int, now time.Time, reason string) {
	if _, ok := g.locks[k]; ok {
		return
	}
	b := &Ban{Source: k.ip.String(), Extension: k.ext, Reason: reason, Failures: n,
		Since: now, Until: now.Add(g.cfg.BanTime)}
	g.locks[k] = b
	g.log.Warn("extension locked for source", "src", b.Source, "ext", k.ext, "failures", n,
		"reason", reason, "until", b.Until)
	g.persistLocked(b)
}

// persistLocked queues b for the store without waiting for it.
func (g *Guard) persistLocked(b *Ban) {
	if len(g.pending) >= maxPendingBans {
		g.log.Warn("ban not stored: too many waiting; it applies on this node only",
			"src", b.Source, "ext", b.Extension)
		return
	}
	g.pending = append(g.pending, *b)
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

// takePending returns the bans waiting for the store and forgets them.
func (g *Guard) takePending() []Ban {
	g.mu.Lock()
	defer g.mu.Unlock()
	p := g.pending
	g.pending = nil
	return p
}

// count adds a failure to m[k], dropping the counter table's stale entries
// when it is full so that a flood of sources cannot grow it without bound.
func count[K comparable](g *Guard, m map[K]*counter, k K, now time.Time) int {
	c, ok := m[k]
	if !ok {
		if len(m) >= g.cfg.MaxTracked {
			for key, v := range m {
				if now.Sub(v.start) >= g.cfg.Window {
					delete(m, key)
				}
			}
			if len(m) >= g.cfg.MaxTracked {
				return 0 // still full of live counters: do not track more
			}
		}
		c = &counter{start: now}
		m[k] = c
	}
	return c.add(now, g.cfg.Window)
}

// Succeed forgets the failures of the pair once it authenticated.
func (g *Guard) Succeed(ip netip.Addr, ext string) {
	g.mu.Lock()
	delete(g.pair, pairKey{ip.Unmap(), ext})
	g.mu.Unlock()
}

// Scanner reports whether a User-Agent value is a known scanner's.
func (g *Guard) Scanner(ua string) bool {
	return MatchAgent(ua, g.cfg.ScannerAgents)
}

// ScannerBytes is Scanner of a value still in the packet's bytes.
func (g *Guard) ScannerBytes(ua []byte) bool {
	return MatchAgent(ua, g.cfg.ScannerAgents)
}

// Bans returns the bans and locks in force, oldest first.
func (g *Guard) Bans() []Ban {
	now := g.clock.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	var out []Ban
	for ip, b := range g.bans {
		if !now.Before(b.Until) {
			g.liftLocked(ip, b)
			continue
		}
		out = append(out, *b)
	}
	for k, b := range g.locks {
		if !now.Before(b.Until) {
			delete(g.locks, k)
			continue
		}
		out = append(out, *b)
	}
	for ext, b := range g.budget {
		if !now.Before(b.Until) {
			delete(g.budget, ext)
			continue
		}
		out = append(out, *b)
	}
	slices.SortFunc(out, func(a, b Ban) int {
		if c := a.Since.Compare(b.Since); c != 0 {
			return c
		}
		if c := strings.Compare(a.Source, b.Source); c != 0 {
			return c
		}
		return strings.Compare(a.Extension, b.Extension)
	})
	return out
}

// Unban lifts every ban and lock of ip and reports whether there was one.
func (g *Guard) Unban(ip netip.Addr) bool {
	ip = ip.Unmap()
	g.mu.Lock()
	defer g.mu.Unlock()
	found := false
	if _, ok := g.bans[ip]; ok {
		delete(g.bans, ip)
		found = true
	}
	delete(g.src, ip)
	for k := range g.locks {
		if k.ip == ip {
			delete(g.locks, k)
			found = true
		}
	}
	for k := range g.pair {
		if k.ip == ip {
			delete(g.pair, k)
		}
	}
	if ip.String() == AnySource {
		for ext := range g.budget {
			delete(g.budget, ext)
			delete(g.spent, ext)
			found = true
		}
	}
	g.flood.forget(ip)
	g.pending = slices.DeleteFunc(g.pending, func(b Ban) bool { return b.Source == ip.String() })
	if found {
		g.log.Info("source unbanned", "src", ip.String())
	}
	return found
}

// learn applies bans read from the store: a ban this node does not hold
// is added, one it holds is kept until the later of the two expiries.
// Nothing is queued for the store (it has them).
func (g *Guard) learn(bs []directory.Ban, node string) {
	now := g.clock.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, d := range bs {
		g.learnLocked(d, node, now)
	}
}

func (g *Guard) learnLocked(d directory.Ban, node string, now time.Time) {
	ip, err := netip.ParseAddr(d.Source)
	if err != nil || !now.Before(d.Expires) {
		return
	}
	ip = ip.Unmap()
	b := &Ban{Source: ip.String(), Extension: d.Extension, Reason: d.Reason, Since: d.Created, Until: d.Expires}
	if d.Node != node {
		b.Node = d.Node
	}
	if b.Source == AnySource && d.Extension != "" {
		if old, ok := g.budget[d.Extension]; ok && !old.Until.Before(b.Until) {
			return
		}
		g.budget[d.Extension] = b
		g.log.Info("extension budget spent on another node", "ext", d.Extension, "node", d.Node, "until", b.Until)
		return
	}
	if g.Exempt(ip) { // exempt here, whatever another node thinks
		return
	}
	if d.Extension == "" {
		if old, ok := g.bans[ip]; ok && !old.Until.Before(b.Until) {
			return
		}
		g.bans[ip] = b
		g.log.Info("source ban applied from the store", "src", b.Source, "node", d.Node, "until", b.Until)
		return
	}
	k := pairKey{ip, d.Extension}
	if old, ok := g.locks[k]; ok && !old.Until.Before(b.Until) {
		return
	}
	g.locks[k] = b
	g.log.Info("extension lock applied from the store", "src", b.Source, "ext", d.Extension,
		"node", d.Node, "until", b.Until)
}

// reset makes what this node holds against ip what the store holds (bs,
// the store's bans of ip): bans lifted elsewhere are lifted here too.
// Bans of ip still waiting for the store are kept.
func (g *Guard) reset(ip netip.Addr, bs []directory.Ban, node string) {
	ip = ip.Unmap()
	src := ip.String()
	now := g.clock.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	waiting := func(ext string) bool {
		return slices.ContainsFunc(g.pending, func(b Ban) bool { return b.Source == src && b.Extension == ext })
	}
	lifted := false
	if _, ok := g.bans[ip]; ok && !waiting("") {
		delete(g.bans, ip)
		delete(g.src, ip)
		lifted = true
	}
	for k := range g.locks {
		if k.ip == ip && !waiting(k.ext) {
			delete(g.locks, k)
			delete(g.pair, k)
			lifted = true
		}
	}
	if src == AnySource {
		for ext := range g.budget {
			if !waiting(ext) {
				delete(g.budget, ext)
				delete(g.spent, ext)
				lifted = true
			}
		}
	}
	for _, d := range bs {
		g.learnLocked(d, node, now)
	}
	if lifted {
		g.log.Info("source unbanned elsewhere", "src", src, "bans_left", len(bs))
	}
}

// Sweep drops expired bans, locks and counters.
func (g *Guard) Sweep() {
	now := g.clock.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	for ip, b := range g.bans {
		if !now.Before(b.Until) {
			g.liftLocked(ip, b)
		}
	}
	for k, b := range g.locks {
		if !now.Before(b.Until) {
			delete(g.locks, k)
			g.log.Info("extension lock expired", "src", k.ip.String(), "ext", k.ext)
		}
	}
	for ext, b := range g.budget {
		if !now.Before(b.Until) {
			delete(g.budget, ext)
			g.log.Info("extension budget renewed", "ext", ext)
		}
	}
	sweepCounters(g.src, now, g.cfg.Window)
	sweepCounters(g.ext, now, g.cfg.Window)
	sweepCounters(g.pair, now, g.cfg.Window)
	sweepCounters(g.spent, now, g.cfg.ExtBudgetWindow)
	g.flood.sweep(time.Now())
}

func sweepCounters[K comparable](m map[K]*counter, now time.Time, window time.Duration) {
	for k, c := range m {
		if now.Sub(c.start) >= window {
			delete(m, k)
		}
	}
}

// MatchAgent reports whether ua contains one of agents (lower-case),
// ignoring case, without allocating. It runs for every request: a
// User-Agent of usual length is lowered once into a buffer on the stack
// and searched with strings.Contains, instead of a byte-by-byte folding
// search per agent (2.5% of the registrar's CPU under SIPp).
func MatchAgent[T string | []byte](ua T, agents []string) bool {
	var buf [256]byte
	if len(ua) > len(buf) {
		for _, a := range agents {
			if containsFold(ua, a) {
				return true
			}
		}
		return false
	}
	low := buf[:len(ua)]
	for i := range len(ua) {
		b := ua[i]
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		low[i] = b
	}
	s := unsafe.String(unsafe.SliceData(low), len(low))
	for _, a := range agents {
		if a != "" && strings.Contains(s, a) {
			return true
		}
	}
	return false
}

// containsFold reports whether s contains the lower-case ASCII needle,
// ignoring ASCII case in s.
func containsFold[T string | []byte](s T, needle string) bool {
	n := len(needle)
	if n == 0 {
		return false
	}
	for i := 0; i+n <= len(s); i++ {
		j := 0
		for ; j < n; j++ {
			b := s[i+j]
			if 'A' <= b && b <= 'Z' {
				b += 'a' - 'A'
			}
			if b != needle[j] {
				break
			}
		}
		if j == n {
			return true
		}
	}
	return false
}
