package sip

import (
	"fmt"
	"net/netip"
	"runtime/debug"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/sip/subscribe"
	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// The server's request handlers that are its own (the call side's and the
// features' are in b2bua.go and features.go): the wrapper every handler
// runs in, REGISTER, OPTIONS and the methods nobody serves.

// handle wraps a handler: requests arriving during shutdown are dropped,
// and a panic is logged and answered 500 instead of killing the process.
func (s *Server) handle(h sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		s.hmu.Lock()
		if s.closing {
			s.hmu.Unlock()
			return
		}
		s.inflight.Add(1)
		s.hmu.Unlock()
		defer s.inflight.Done()
		// Datagrams were counted against their source's rate before
		// parsing (transport.PacketConn); stream requests are counted here.
		if sip.IsReliable(req.Transport()) {
			if src, err := netip.ParseAddrPort(req.Source()); err == nil && !s.guard.Flood(src.Addr()) {
				s.edge.Dropped(src.Addr().Unmap(), "flood")
				return
			}
		}
		s.counters.Request(string(req.Method))
		if s.hooks.handled != nil {
			if src, err := netip.ParseAddrPort(req.Source()); err == nil {
				s.hooks.handled(src.Addr().Unmap(), string(req.Method))
			}
		}
		defer s.recoverHandler(req, tx)
		h(req, tx)
	}
}

// recoverHandler, deferred, answers 500 to a request whose handler
// panicked, and logs the panic.
func (s *Server) recoverHandler(req *sip.Request, tx sip.ServerTransaction) {
	if r := recover(); r != nil {
		s.log.Error("sip handler panic", "method", string(req.Method), "src", req.Source(),
			"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
		if tx != nil { // nil: an ACK the edge took, never answered
			s.rp.Respond(tx, req, 500, "Server Internal Error")
		}
	}
}

// admitRequest applies the guard to a parsed request: banned sources and
// scanners are dropped unanswered.
func (s *Server) admitRequest(req *sip.Request) (netip.AddrPort, bool) {
	src, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return src, false
	}
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	if s.guard.Banned(src.Addr()) {
		s.edge.Dropped(src.Addr(), "banned")
		return src, false
	}
	if h := wire.Header(req, "user-agent"); h != nil && s.guard.Scanner(h.Value()) {
		s.edge.Dropped(src.Addr(), "scanner")
		return src, false
	}
	return src, true
}

func (s *Server) onOptions(req *sip.Request, tx sip.ServerTransaction) {
	if _, ok := s.admitRequest(req); !ok {
		return
	}
	res := s.rp.Response(req, 200, "OK")
	res.AppendHeader(sip.NewHeader("Allow", allowed))
	res.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
	res.AppendHeader(sip.NewHeader("Allow-Events", subscribe.AllowEvents))
	s.rp.Send(tx, res)
}

func (s *Server) onOther(req *sip.Request, tx sip.ServerTransaction) {
	if _, ok := s.admitRequest(req); !ok {
		return
	}
	res := s.rp.Response(req, 405, "Method Not Allowed")
	res.AppendHeader(sip.NewHeader("Allow", allowed))
	s.rp.Send(tx, res)
}

// onRegister admits a REGISTER and hands it to the registrar.
func (s *Server) onRegister(req *sip.Request, tx sip.ServerTransaction) {
	if src, ok := s.admitRequest(req); ok {
		s.reg.OnRegister(req, tx, src)
	}
}

// onRegisterInline answers a REGISTER on the reader of a UDP socket
// (wire.Transactions): what would wait goes on in a goroutine (detach).
func (s *Server) onRegisterInline(req *sip.Request, tx sip.ServerTransaction) {
	if src, ok := s.admitRequest(req); ok {
		s.reg.OnRegisterInline(req, tx, src, s.detach)
	}
}

// detach runs f, the rest of a handler's answer to req on tx, in a
// goroutine counted in flight like the handler (which is in flight while
// it calls detach, so the count is above zero), answering 500 should it
// panic.
func (s *Server) detach(req *sip.Request, tx sip.ServerTransaction, f func()) {
	s.inflight.Add(1)
	go func() {
		defer s.inflight.Done()
		defer s.recoverHandler(req, tx)
		f()
	}()
}
