package media

import (
	"context"
	"errors"
	"net/netip"
	"testing"
)

// Start returns at once; the relay tells ended why it stopped, once,
// after its ports are back in the pool, and ended may Close it.
func TestRelayStartEndedOnCancel(t *testing.T) {
	t.Parallel()
	pool := testPool(t, 2)
	r := loopbackRelay(t, pool)
	ctx, cancel := context.WithCancel(t.Context())
	ended := make(chan error, 2)
	if err := r.Start(ctx, func(err error) {
		r.Close() // from ended: must not wait for itself
		if pool.Free() != 2 {
			t.Errorf("free = %d when ended is called, want 2", pool.Free())
		}
		ended <- err
	}); err != nil {
		t.Fatal(err)
	}
	a, b := newEndpoint(t), newEndpoint(t)
	r.SetRemote(LegA, a.addr(), netip.AddrPort{})
	r.SetRemote(LegB, b.addr(), netip.AddrPort{})
	a.send(r.Local(LegA), rtpPacket(0, 1, 0, 0xA, false, []byte{0}))
	b.recv() // relaying, with Start long returned

	cancel()
	if err := <-ended; err != nil {
		t.Errorf("ended(%v), want nil on cancel", err)
	}
	<-r.Done()
	r.Close()
	if err := r.Start(t.Context(), func(err error) { ended <- err }); !errors.Is(err, ErrClosed) {
		t.Errorf("Start again = %v, want ErrClosed", err)
	}
	select {
	case err := <-ended:
		t.Errorf("ended called again, with %v", err)
	default:
	}
}

// Close of a started relay calls ended with nil before it returns; a
// relay that was closed before it started never calls ended.
func TestRelayStartEndedOnClose(t *testing.T) {
	t.Parallel()
	pool := testPool(t, 4)
	r, err := NewRelay(RelayConfig{Pool: pool, IP: loopback, Timeout: 30e9})
	if err != nil {
		t.Fatal(err)
	}
	var got []error
	if err := r.Start(t.Context(), func(err error) { got = append(got, err) }); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if len(got) != 1 || got[0] != nil {
		t.Errorf("after Close, ended got %v, want one nil", got)
	}
	r.Close()
	if len(got) != 1 {
		t.Errorf("ended called %d times", len(got))
	}

	closed, err := NewRelay(RelayConfig{Pool: pool, IP: loopback})
	if err != nil {
		t.Fatal(err)
	}
	closed.Close()
	if err := closed.Start(t.Context(), func(error) { t.Error("ended called on a relay closed before Start") }); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Close = %v, want ErrClosed", err)
	}
	if pool.Free() != 4 {
		t.Errorf("free = %d, want 4", pool.Free())
	}
}
