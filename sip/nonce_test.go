package sip

import (
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/clock"
	"github.com/switchboard-pbx/switchboard/sip/digest"
)

// TestNoncesAtRegisterRate: the registrar as configured by default takes
// 6,000 new nonces a second (SIPp's reg_auth: every REGISTER answers a
// fresh challenge) for 45 seconds, the length of the REGISTER ladder,
// without refusing one. With the table bounded by Guard.MaxTracked
// (100,000) it refused every new nonce after some 17 seconds.
func TestNoncesAtRegisterRate(t *testing.T) {
	st, _ := openSQLite(t)
	clk := clock.NewManual()
	srv, err := newServer(Config{Addr: "127.0.0.1:0", Node: "node-a"}, st, nil, clk)
	if err != nil {
		t.Fatal(err)
	}
	n := srv.nonces
	const rate, seconds = 6000, 45
	for i := range rate * seconds {
		nonce := n.New()
		if got := n.Check(nonce); got != digest.Fresh {
			t.Fatalf("nonce %d: %v", i, got)
		}
		if got := n.Use(nonce, 1); got != digest.Fresh {
			t.Fatalf("nonce %d (after %v): %v, want fresh", i, time.Duration(i)*time.Second/rate, got)
		}
		clk.Advance(time.Second / rate)
	}
	if got := n.Held(); got != rate*seconds {
		t.Errorf("%d uses held, want %d", got, rate*seconds)
	}
}
