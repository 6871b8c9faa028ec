// Command sipload is Switchboard's SIP load generator. `sipload register`
// registers N extensions with digest authentication at a target rate for a
// bounded time and prints the rate achieved, failures by status and latency
// percentiles. `sipload call` places concurrent calls between pairs of
// extensions at a target rate, answers them itself, sends G.711 RTP both
// ways through the PBX's relay and prints the setup rate, failures by
// status, setup latency and RTP packets sent, received and lost. It only
// targets loopback addresses unless told otherwise.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/emiago/sipgo/sip"
)

func main() {
	// sipgo's package-wide logger, set once before any user agent exists
	// (setting it later races with the transports of earlier ones).
	sip.SetDefaultLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError})))
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

const usage = `usage: sipload register|call [flags]   (sipload register -h, sipload call -h list them)`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "register":
		err = runRegister(ctx, args[1:], stdout, stderr)
	case "call":
		err = runCall(ctx, args[1:], stdout, stderr)
	default:
		fmt.Fprintln(stderr, usage)
		return 2
	}
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintln(stderr, "sipload:", err)
		return 2
	}
	fmt.Fprintln(stderr, "sipload:", err)
	return 1
}

type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }
