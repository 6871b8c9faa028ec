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
	if got := n.held(); got != 1 {
		t.Errorf("%d nonces kept after Prune, want 1", got)
	}
}

// TestNonceReplayAcrossGenerations: a nonce used just before the table
// starts a new generation is still known as used after it, until it can no
// longer pass Check.
func TestNonceReplayAcrossGenerations(t *testing.T) {
	clk := newManualClock()
	n := newNonces(5*time.Minute, clk, 100)
	clk.Advance(5*time.Minute - time.Second)
	a := n.New()
	if got := n.Use(a, 1); got != nonceFresh {
		t.Fatal(got)
	}
	clk.Advance(2 * time.Second) // a new generation starts at the next use
	if got := n.Use(n.New(), 1); got != nonceFresh {
		t.Fatal(got)
	}
	if got := n.Use(a, 1); got != nonceReplay {
		t.Errorf("nc 1 again after a new generation: %v, want replay", got)
	}
	if got := n.Use(a, 2); got != nonceFresh {
		t.Errorf("nc 2 after a new generation: %v", got)
	}
	clk.Advance(5*time.Minute - 2*time.Second)
	if got := n.Check(a); got != nonceFresh {
		t.Fatalf("a just before its TTL: %v", got)
	}
	if got := n.Use(a, 2); got != nonceReplay {
		t.Errorf("nc 2 again just before the TTL: %v, want replay", got)
	}
}

// TestNoncesAtRegisterRate: the registrar as configured by default takes
// 6,000 new nonces a second (SIPp's reg_auth: every REGISTER answers a
// fresh challenge) for 45 seconds, the length of the REGISTER ladder,
// without refusing one. With the table bounded by Guard.MaxTracked
// (100,000) it refused every new nonce after some 17 seconds.
func TestNoncesAtRegisterRate(t *testing.T) {
	st, _ := openSQLite(t)
	clk := newManualClock()
	srv, err := newServer(Config{Addr: "127.0.0.1:0", Node: "node-a"}, st, nil, clk)
	if err != nil {
		t.Fatal(err)
	}
	n := srv.nonces
	const rate, seconds = 6000, 45
	for i := range rate * seconds {
		nonce := n.New()
		if got := n.Check(nonce); got != nonceFresh {
			t.Fatalf("nonce %d: %v", i, got)
		}
		if got := n.Use(nonce, 1); got != nonceFresh {
			t.Fatalf("nonce %d (after %v): %v, want fresh", i, time.Duration(i)*time.Second/rate, got)
		}
		clk.Advance(time.Second / rate)
	}
	if got := n.held(); got != rate*seconds {
		t.Errorf("%d uses held, want %d", got, rate*seconds)
	}
}
