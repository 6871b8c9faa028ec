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

// parseFailures hears sipgo's transport layer say it could not parse a
// datagram: the edge passes on unparsed the requests it does not act on
// and every response (sipgo parses them anyway), so this is where a bad
// one is known. failed is told of the datagram (the record's "data"): it
// refuses a request the edge passed on and reports true; anything else is
// counted as dropped ("malformed"). The record then goes on to h (a
// quietHandler).
type parseFailures struct {
	h      slog.Handler
	failed func(data string) bool
	count  func(reason string)
}

func (p parseFailures) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelError || p.h.Enabled(ctx, l)
}

func (p parseFailures) Handle(ctx context.Context, r slog.Record) error {
	if r.Message == sipgoParseFailed {
		var data string
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "data" {
				data = a.Value.String()
				return false
			}
			return true
		})
		if !p.failed(data) {
			p.count("malformed")
		}
	}
	if !p.h.Enabled(ctx, r.Level) {
		return nil
	}
	return p.h.Handle(ctx, r)
}

func (p parseFailures) WithAttrs(attrs []slog.Attr) slog.Handler {
	return parseFailures{p.h.WithAttrs(attrs), p.failed, p.count}
}

func (p parseFailures) WithGroup(name string) slog.Handler {
	return parseFailures{p.h.WithGroup(name), p.failed, p.count}
}

// parseFailed is parseFailures' failed: the edge refuses the request in
// data if one of its listeners passed it on unparsed.
func (s *Server) parseFailed(data string) bool {
	return s.edge != nil && s.edge.ParseFailed(data)
}
