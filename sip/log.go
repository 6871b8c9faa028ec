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
