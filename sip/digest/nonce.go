package digest

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"hash"
	"sync"
	"time"
)

// Nonces are stateless: base64url(issued-at ‖ random ‖ HMAC-SHA256 of both
// under a per-process secret). Any node can tell its own nonces and their
// age without storing them; a nonce of another process (or of a previous
// run) simply fails the MAC and, with an otherwise correct digest, is
// answered stale=true like an old one.
const (
	nonceTimeLen = 8
	nonceRandLen = 8
	nonceMACLen  = 16
	nonceRawLen  = nonceTimeLen + nonceRandLen + nonceMACLen
	nonceLen     = (nonceRawLen*8 + 5) / 6 // base64 without padding
)

// NonceState says what a nonce check found.
type NonceState int

const (
	Fresh   NonceState = iota
	Expired            // ours, but older than the TTL
	Foreign            // not made by this process (or malformed)
	Replay             // nc not above the last one seen
)

// Clock tells the nonces the time.
type Clock interface{ Now() time.Time }

// Nonces makes and checks nonces and remembers the nc of each use.
type Nonces struct {
	key   [32]byte
	ttl   time.Duration
	clock Clock
	macs  sync.Pool // of HMAC-SHA256 under key, reset

	// Replay protection through nc (RFC 7616 §3.3): the highest nc
	// accepted per nonce (by its random part), kept while the nonce is
	// fresh. Uses go into cur; every ttl cur becomes prev and prev is
	// forgotten whole, so a use is kept at least ttl, at most twice that,
	// without a scan of the table: at thousands of REGISTERs a second the
	// table holds millions of uses.
	mu        sync.Mutex
	cur, prev map[uint64]uint32
	rotated   time.Time // when cur was started
	prevLast  time.Time // the last use put in prev
	curLast   time.Time // the last use put in cur
	limit     int
}

// MaxNonceUses bounds the nonce uses remembered (some 20 to 40 bytes
// each): room for some 7,000 new nonces a second, each kept for one to two
// TTLs of 5 minutes. Beyond it new nonces are refused (a fresh challenge)
// rather than replays forgotten.
const MaxNonceUses = 4 << 20

// NewNonces makes nonces that live ttl, remembering at most limit uses.
func NewNonces(ttl time.Duration, c Clock, limit int) *Nonces {
	n := &Nonces{ttl: ttl, clock: c, cur: make(map[uint64]uint32), rotated: c.Now(), limit: limit}
	if _, err := rand.Read(n.key[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux; not input
	}
	return n
}

// New returns a fresh nonce.
func (n *Nonces) New() string {
	var raw [nonceRawLen]byte
	binary.BigEndian.PutUint64(raw[:nonceTimeLen], uint64(n.clock.Now().UnixNano()))
	if _, err := rand.Read(raw[nonceTimeLen : nonceTimeLen+nonceRandLen]); err != nil {
		panic(err)
	}
	n.mac(raw[:nonceTimeLen+nonceRandLen], raw[nonceTimeLen+nonceRandLen:])
	return base64.RawURLEncoding.EncodeToString(raw[:])
}

func (n *Nonces) mac(msg, out []byte) {
	h, _ := n.macs.Get().(hash.Hash)
	if h == nil {
		h = hmac.New(sha256.New, n.key[:])
	}
	h.Write(msg)
	var sum [sha256.Size]byte
	copy(out, h.Sum(sum[:0]))
	h.Reset()
	n.macs.Put(h)
}

// SetKey replaces the secret nonces are made under. Call it before the
// server answers any request: New and Check read the key unlocked.
func (n *Nonces) SetKey(k [32]byte) {
	n.key = k
	n.macs = sync.Pool{} // MACs keyed with the old secret go
}

// Check tells whether nonce is ours and fresh. It does not record nc; call
// Use once the digest it came with has been verified.
func (n *Nonces) Check(nonce string) NonceState {
	if len(nonce) != nonceLen {
		return Foreign
	}
	var raw [nonceRawLen]byte
	if m, err := base64.RawURLEncoding.Decode(raw[:], []byte(nonce)); err != nil || m != nonceRawLen {
		return Foreign
	}
	var want [nonceMACLen]byte
	n.mac(raw[:nonceTimeLen+nonceRandLen], want[:])
	if !hmac.Equal(want[:], raw[nonceTimeLen+nonceRandLen:]) {
		return Foreign
	}
	issued := time.Unix(0, int64(binary.BigEndian.Uint64(raw[:nonceTimeLen])))
	now := n.clock.Now()
	if now.Sub(issued) > n.ttl || issued.After(now.Add(time.Minute)) {
		return Expired
	}
	return Fresh
}

// Use records nc for a fresh nonce whose digest was correct and reports
// Replay when that nc (or a higher one) was used before.
func (n *Nonces) Use(nonce string, nc uint32) NonceState {
	var raw [nonceRawLen]byte
	if m, err := base64.RawURLEncoding.Decode(raw[:], []byte(nonce)); err != nil || m != nonceRawLen {
		return Replay // not one of ours: Check says so first
	}
	id := binary.BigEndian.Uint64(raw[nonceTimeLen : nonceTimeLen+nonceRandLen])
	now := n.clock.Now()
	n.mu.Lock()
	defer n.mu.Unlock()
	n.pruneLocked(now)
	last, ok := n.cur[id]
	if !ok {
		last, ok = n.prev[id]
	}
	if ok && nc <= last {
		return Replay
	}
	if !ok && len(n.cur)+len(n.prev) >= n.limit {
		// Full of fresh nonces: refuse rather than forget replays; the
		// phone asks again with a new nonce later.
		return Replay
	}
	n.cur[id] = nc
	n.curLast = now
	return Fresh
}

// Prune forgets nonces that can no longer pass Check.
func (n *Nonces) Prune() {
	now := n.clock.Now()
	n.mu.Lock()
	n.pruneLocked(now)
	n.mu.Unlock()
}

// pruneLocked starts a new generation every ttl and forgets the previous
// one once its last use is ttl old.
func (n *Nonces) pruneLocked(now time.Time) {
	if now.Sub(n.rotated) >= n.ttl {
		n.prev, n.prevLast = n.cur, n.curLast
		n.cur = make(map[uint64]uint32, len(n.prev))
		n.rotated = now
	}
	if n.prev != nil && now.Sub(n.prevLast) >= n.ttl {
		n.prev = nil
	}
}

// Held returns how many nonce uses are remembered.
func (n *Nonces) Held() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.cur) + len(n.prev)
}
