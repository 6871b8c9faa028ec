package digest

import (
	"testing"
	"time"
)

func TestNonces(t *testing.T) {
	clk := newManualClock()
	n := NewNonces(5*time.Minute, clk, 100)
	a := n.New()
	if len(a) != nonceLen {
		t.Fatalf("nonce %q has %d characters, want %d", a, len(a), nonceLen)
	}
	if b := n.New(); b == a {
		t.Fatal("two Nonces alike")
	}
	if got := n.Check(a); got != Fresh {
		t.Fatalf("new nonce: %v", got)
	}
	if got := n.Use(a, 1); got != Fresh {
		t.Fatalf("first use: %v", got)
	}
	if got := n.Use(a, 1); got != Replay {
		t.Errorf("nc 1 again: %v, want replay", got)
	}
	if got := n.Use(a, 2); got != Fresh {
		t.Errorf("nc 2: %v", got)
	}

	clk.Advance(5*time.Minute + time.Second)
	if got := n.Check(a); got != Expired {
		t.Errorf("after the TTL: %v, want expired", got)
	}

	other := NewNonces(5*time.Minute, clk, 100)
	if got := n.Check(other.New()); got != Foreign {
		t.Errorf("another process's nonce: %v, want foreign", got)
	}
	tampered := []byte(n.New())
	tampered[3] ^= 1
	for _, bad := range []string{"", "x", string(tampered), a + "A"} {
		if got := n.Check(bad); got != Foreign {
			t.Errorf("Check(%q) = %v, want foreign", bad, got)
		}
	}
}

func TestNoncesBounded(t *testing.T) {
	clk := newManualClock()
	n := NewNonces(time.Minute, clk, 100)
	for range 100 {
		if got := n.Use(n.New(), 1); got != Fresh {
			t.Fatal(got)
		}
	}
	if got := n.Use(n.New(), 1); got != Replay {
		t.Errorf("table full of fresh Nonces: %v, want refused", got)
	}
	clk.Advance(time.Minute)
	if got := n.Use(n.New(), 1); got != Fresh {
		t.Errorf("after they expired: %v", got)
	}
	n.Prune()
	if got := n.Held(); got != 1 {
		t.Errorf("%d Nonces kept after Prune, want 1", got)
	}
}

// TestNonceReplayAcrossGenerations: a nonce used just before the table
// starts a new generation is still known as used after it, until it can no
// longer pass Check.
func TestNonceReplayAcrossGenerations(t *testing.T) {
	clk := newManualClock()
	n := NewNonces(5*time.Minute, clk, 100)
	clk.Advance(5*time.Minute - time.Second)
	a := n.New()
	if got := n.Use(a, 1); got != Fresh {
		t.Fatal(got)
	}
	clk.Advance(2 * time.Second) // a new generation starts at the next use
	if got := n.Use(n.New(), 1); got != Fresh {
		t.Fatal(got)
	}
	if got := n.Use(a, 1); got != Replay {
		t.Errorf("nc 1 again after a new generation: %v, want replay", got)
	}
	if got := n.Use(a, 2); got != Fresh {
		t.Errorf("nc 2 after a new generation: %v", got)
	}
	clk.Advance(5*time.Minute - 2*time.Second)
	if got := n.Check(a); got != Fresh {
		t.Fatalf("a just before its TTL: %v", got)
	}
	if got := n.Use(a, 2); got != Replay {
		t.Errorf("nc 2 again just before the TTL: %v, want replay", got)
	}
}

// manualClock is a clock that moves only when told to.
type manualClock struct{ now time.Time }

func newManualClock() *manualClock {
	return &manualClock{now: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *manualClock) Now() time.Time          { return c.now }
func (c *manualClock) Advance(d time.Duration) { c.now = c.now.Add(d) }
