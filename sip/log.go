package sip

import (
	"context"
	"log/slog"
)

// quietHandler takes sipgo's own log records down to debug and drops their
// "data" attribute: sipgo logs whole raw packets at error level when a
// peer sends garbage, and those may hold credentials. A peer's bad packet
// is not an operator's error.
type quietHandler struct{ h slog.Handler }

func (q quietHandler) Enabled(ctx context.Context, _ slog.Level) bool {
	return q.h.Enabled(ctx, slog.LevelDebug)
}

func (q quietHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, slog.LevelDebug, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		if a.Key != "data" {
			out.AddAttrs(a)
		}
		return true
	})
	return q.h.Handle(ctx, out)
}

func (q quietHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	keep := attrs[:0:0]
	for _, a := range attrs {
		if a.Key != "data" {
			keep = append(keep, a)
		}
	}
	return quietHandler{q.h.WithAttrs(keep)}
}

func (q quietHandler) WithGroup(name string) slog.Handler { return quietHandler{q.h.WithGroup(name)} }

// sipgoParseFailed is the message sipgo v1.7.2's UDP transport logs, at
// error, when it cannot parse a datagram (transport_udp.go:
// parseAndHandle).
const sipgoParseFailed = "failed to parse"

// parseFailures counts the datagrams sipgo's transport could not parse as
// dropped ("malformed") and passes its records on to h (a quietHandler).
// The edge passes responses on without parsing them (sipgo parses them
// itself): a bad one is known only from sipgo's record of it.
type parseFailures struct {
	h     slog.Handler
	count func(reason string)
}

func (p parseFailures) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelError || p.h.Enabled(ctx, l)
}

func (p parseFailures) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == sipgoParseFailed {
		p.count("malformed")
	}
	if !p.h.Enabled(ctx, r.Level) {
		return nil
	}
	return p.h.Handle(ctx, r)
}

func (p parseFailures) WithAttrs(attrs []slog.Attr) slog.Handler {
	return parseFailures{p.h.WithAttrs(attrs), p.count}
}

func (p parseFailures) WithGroup(name string) slog.Handler {
	return parseFailures{p.h.WithGroup(name), p.count}
}
