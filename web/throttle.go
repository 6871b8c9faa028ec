package web

import (
	"net"
	"sync"
	"time"
)

// throttle counts failed logins and refuses further attempts for a while
// (ASVS 5.0 6.3.x: limits that an attacker cannot turn into a lockout of
// the real user):
//
//   - per account and source: perPair failures of one email from one source
//     stop that source from trying that email;
//   - per source: perSource failures of any emails stop the source;
//   - per account: once perAccount failures come from all sources together,
//     the account is under attack and every source that has already failed
//     on it gets no further try, which slows guessing from many sources. A
//     source that has not failed on the account is never refused for it, so
//     the real user, from their own address, still signs in.
//
// Memory is bounded: at most maxEntries keys are kept; expired ones are
// swept when the table is full, and if it is still full the oldest window
// is dropped.
type throttle struct {
	mu         sync.Mutex
	now        func() time.Time
	window     time.Duration
	perPair    int
	perSource  int
	perAccount int
	maxEntries int
	m          map[string]*attempts
}

type attempts struct {
	n     int
	first time.Time
}

func newThrottle(now func() time.Time) *throttle {
	return &throttle{now: now, window: 15 * time.Minute, perPair: 5, perSource: 20, perAccount: 20,
		maxEntries: 10_000, m: make(map[string]*attempts)}
}

// sourceKey is the throttled unit of an address: the IP, or its /64 for
// IPv6, where one host easily holds a whole prefix.
func sourceKey(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip := net.ParseIP(host)
	if ip == nil {
		return "ip:" + host
	}
	if ip.To4() == nil {
		ip = ip.Mask(net.CIDRMask(64, 128))
	}
	return "ip:" + ip.String()
}

// allowed reports whether a login for email from source may be tried now.
func (t *throttle) allowed(email, source string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	pair := t.count(pairKey(email, source))
	if pair >= t.perPair || t.count(source) >= t.perSource {
		return false
	}
	return pair == 0 || t.count("em:"+email) < t.perAccount
}

// failed records a failed login.
func (t *throttle) failed(email, source string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.add(pairKey(email, source))
	t.add("em:" + email)
	t.add(source)
}

// succeeded forgets the failures of email from source (not the source's
// own: one good password does not vouch for the other attempts from there,
// nor the account's: the other sources keep their count).
func (t *throttle) succeeded(email, source string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.m, pairKey(email, source))
}

func pairKey(email, source string) string { return "pa:" + email + "|" + source }

func (t *throttle) count(key string) int {
	a := t.m[key]
	if a == nil {
		return 0
	}
	if t.now().Sub(a.first) >= t.window {
		delete(t.m, key)
		return 0
	}
	return a.n
}

func (t *throttle) add(key string) {
	now := t.now()
	if a := t.m[key]; a != nil && now.Sub(a.first) < t.window {
		a.n++
		return
	}
	if len(t.m) >= t.maxEntries {
		t.sweep(now)
	}
	t.m[key] = &attempts{n: 1, first: now}
}

// sweep drops expired entries and, when none expired, the oldest one.
func (t *throttle) sweep(now time.Time) {
	var oldest string
	var oldestAt time.Time
	for k, a := range t.m {
		if now.Sub(a.first) >= t.window {
			delete(t.m, k)
			continue
		}
		if oldest == "" || a.first.Before(oldestAt) {
			oldest, oldestAt = k, a.first
		}
	}
	if len(t.m) >= t.maxEntries && oldest != "" {
		delete(t.m, oldest)
	}
}

func (t *throttle) size() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}
