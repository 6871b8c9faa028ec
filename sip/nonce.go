package sip

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

// nonceState says what a nonce check found.
type nonceState int

const (
	nonceFresh   nonceState = iota
	nonceExpired            // ours, but older than the TTL
	nonceForeign            // not made by this process (or malformed)
	nonceReplay             // nc not above the last one seen
)

type nonces struct {
	key   [32]byte
	ttl   time.Duration
	clock clock
	macs  sync.Pool // of HMAC-SHA256 under key, reset

	// Replay protection through nc (RFC 7616 §3.3): the highest nc
	// accepted per nonce, kept while the nonce is fresh.
	mu    sync.Mutex
	seen  map[string]nonceUse
	limit int
}

type nonceUse struct {
	nc     uint32
	expiry time.Time
}

func newNonces(ttl time.Duration, c clock, limit int) *nonces {
	n := &nonces{ttl: ttl, clock: c, seen: make(map[string]nonceUse), limit: limit}
	if _, err := rand.Read(n.key[:]); err != nil {
		panic(err) // crypto/rand never fails on Linux; not input
	}
	return n
}

// New returns a fresh nonce.
func (n *nonces) New() string {
	var raw [nonceRawLen]byte
	binary.BigEndian.PutUint64(raw[:nonceTimeLen], uint64(n.clock.Now().UnixNano()))
	if _, err := rand.Read(raw[nonceTimeLen : nonceTimeLen+nonceRandLen]); err != nil {
		panic(err)
	}
	n.mac(raw[:nonceTimeLen+nonceRandLen], raw[nonceTimeLen+nonceRandLen:])
	return base64.RawURLEncoding.EncodeToString(raw[:])
}

func (n *nonces) mac(msg, out []byte) {
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

// setKey replaces the secret nonces are made under. Call it before the
// server answers any request: New and Check read the key unlocked.
func (n *nonces) setKey(k [32]byte) {
	n.key = k
	n.macs = sync.Pool{} // MACs keyed with the old secret go
}

// Check tells whether nonce is ours and fresh. It does not record nc; call
// Use once the digest it came with has been verified.
func (n *nonces) Check(nonce string) nonceState {
	if len(nonce) != nonceLen {
		return nonceForeign
	}
	var raw [nonceRawLen]byte
	if m, err := base64.RawURLEncoding.Decode(raw[:], []byte(nonce)); err != nil || m != nonceRawLen {
		return nonceForeign
	}
	var want [nonceMACLen]byte
	n.mac(raw[:nonceTimeLen+nonceRandLen], want[:])
	if !hmac.Equal(want[:], raw[nonceTimeLen+nonceRandLen:]) {
		return nonceForeign
	}
	issued := time.Unix(0, int64(binary.BigEndian.Uint64(raw[:nonceTimeLen])))
	now := n.clock.Now()
	if now.Sub(issued) > n.ttl || issued.After(now.Add(time.Minute)) {
		return nonceExpired
	}
	return nonceFresh
}

// Use records nc for a fresh nonce whose digest was correct and reports
// nonceReplay when that nc (or a higher one) was used before.
func (n *nonces) Use(nonce string, nc uint32) nonceState {
	now := n.clock.Now()
	n.mu.Lock()
	defer n.mu.Unlock()
	u, ok := n.seen[nonce]
	if ok && now.Before(u.expiry) && nc <= u.nc {
		return nonceReplay
	}
	if !ok && len(n.seen) >= n.limit {
		n.pruneLocked(now)
		if len(n.seen) >= n.limit {
			// Full of fresh nonces: refuse rather than forget replays; the
			// phone asks again with a new nonce later.
			return nonceReplay
		}
	}
	n.seen[nonce] = nonceUse{nc: nc, expiry: now.Add(n.ttl)}
	return nonceFresh
}

// Prune forgets nonces that can no longer pass Check.
func (n *nonces) Prune() {
	now := n.clock.Now()
	n.mu.Lock()
	n.pruneLocked(now)
	n.mu.Unlock()
}

func (n *nonces) pruneLocked(now time.Time) {
	for k, u := range n.seen {
		if !now.Before(u.expiry) {
			delete(n.seen, k)
		}
	}
}
