package sip

import (
	"testing"
	"time"
)

func TestNonces(t *testing.T) {
	clk := newManualClock()
	n := newNonces(5*time.Minute, clk, 100)
	a := n.New()
	if len(a) != nonceLen {
		t.Fatalf("nonce %q has %d characters, want %d", a, len(a), nonceLen)
	}
	if b := n.New(); b == a {
		t.Fatal("two nonces alike")
	}
	if got := n.Check(a); got != nonceFresh {
		t.Fatalf("new nonce: %v", got)
	}
	if got := n.Use(a, 1); got != nonceFresh {
		t.Fatalf("first use: %v", got)
	}
	if got := n.Use(a, 1); got != nonceReplay {
		t.Errorf("nc 1 again: %v, want replay", got)
	}
	if got := n.Use(a, 2); got != nonceFresh {
		t.Errorf("nc 2: %v", got)
	}

	clk.Advance(5*time.Minute + time.Second)
	if got := n.Check(a); got != nonceExpired {
		t.Errorf("after the TTL: %v, want expired", got)
	}

	other := newNonces(5*time.Minute, clk, 100)
	if got := n.Check(other.New()); got != nonceForeign {
		t.Errorf("another process's nonce: %v, want foreign", got)
	}
	tampered := []byte(n.New())
	tampered[3] ^= 1
	for _, bad := range []string{"", "x", string(tampered), a + "A"} {
		if got := n.Check(bad); got != nonceForeign {
			t.Errorf("Check(%q) = %v, want foreign", bad, got)
		}
	}
}

func TestNoncesBounded(t *testing.T) {
	clk := newManualClock()
	n := newNonces(time.Minute, clk, 100)
	for range 100 {
		if got := n.Use(n.New(), 1); got != nonceFresh {
			t.Fatal(got)
		}
	}
	if got := n.Use(n.New(), 1); got != nonceReplay {
		t.Errorf("table full of fresh nonces: %v, want refused", got)
	}
	clk.Advance(time.Minute)
	if got := n.Use(n.New(), 1); got != nonceFresh {
		t.Errorf("after they expired: %v", got)
	}
	n.Prune()
	if len(n.seen) != 1 {
		t.Errorf("%d nonces kept after Prune, want 1", len(n.seen))
	}
}
