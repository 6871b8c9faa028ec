package media_test

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"time"

	"github.com/switchboard-pbx/switchboard/media"
)

// A B2BUA's use of a relay for one call. (Compiled, not run: it needs
// phones.)
func ExampleRelay() {
	ctx := context.Background()
	pool, err := media.NewPortPool(20000, 30000) // once per process
	if err != nil {
		slog.Error("rtp ports", "err", err)
		return
	}

	// INVITE from the caller: anchor the media before offering it to the callee.
	relay, err := media.NewRelay(media.RelayConfig{
		Pool:    pool,
		IP:      netip.MustParseAddr("192.0.2.10"),
		Timeout: 30 * time.Second,
	})
	if err != nil { // media.ErrNoPorts: answer 503
		return
	}
	defer relay.Close()
	callerSDP := netip.MustParseAddrPort("198.51.100.7:4000") // c= and m= of the offer
	relay.SetRemote(media.LegA, callerSDP, netip.AddrPort{})
	_ = relay.Local(media.LegB).Port() // goes into the offer to the callee
	ended := make(chan error, 1)
	if err := relay.Start(ctx, func(err error) { ended <- err }); err != nil { // early media flows from here
		return
	}

	// 200 OK from the callee.
	relay.SetRemote(media.LegB, netip.MustParseAddrPort("203.0.113.9:5004"), netip.AddrPort{})
	_ = relay.Local(media.LegA).Port() // goes into the answer to the caller
	relay.Arm()
	rec, err := media.NewRecorder("/var/lib/switchboard/rec/call.wav", media.RecorderConfig{})
	if err == nil {
		relay.SetTap(rec)
	}

	// re-INVITE with a=sendonly from the caller: silence is expected both ways.
	relay.SetHold(media.LegA, true)
	relay.SetHold(media.LegB, true)

	// BYE, or the relay gave up.
	if err := <-ended; errors.Is(err, media.ErrTimeout) {
		slog.Info("call ended", "reason", err)
	}
	relay.SetTap(nil)
	if rec != nil {
		rec.Close() // then write the recording row
	}
	relay.Close()
	a, b := relay.Stats(media.LegA), relay.Stats(media.LegB)
	slog.Info("call media", "loss_a", a.LossRate(), "loss_b", b.LossRate())
}
