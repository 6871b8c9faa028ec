package sip

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"golang.org/x/sync/errgroup"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/presence"
	"github.com/switchboard-pbx/switchboard/sip/spool"
)

// allowed lists the methods we answer, for Allow headers.
const allowed = "REGISTER, OPTIONS, INVITE, ACK, CANCEL, BYE, REFER, SUBSCRIBE, NOTIFY"

// Server is the SIP server: registrar, location service and B2BUA. It
// serves once: Run or Serve, then it is done.
type Server struct {
	cfg   Config
	store directory.Store
	log   *slog.Logger
	clock clock

	ua     *sipgo.UserAgent
	srv    *sipgo.Server
	client *sipgo.Client

	creds   *credentials
	loc     *location
	guard   *guard
	nonces  *nonces
	domain  atomic.Pointer[string] // the realm in force
	md5Only []string               // lower-case User-Agent substrings
	algs    []algorithm            // offered in challenges, in this order
	// tlsLn is the SIP over TLS listener Serve also serves (SetTLS).
	tlsLn  net.Listener
	tlsCfg *tls.Config
	// udpReady: sipgo serves the UDP listener, so requests may be sent
	// from it (outbound.go).
	udpReady atomic.Bool

	follow follower
	used   atomic.Bool

	// In-flight handlers, waited for at shutdown so that none touches the
	// store after Serve returned.
	hmu      sync.Mutex
	closing  bool
	inflight sync.WaitGroup

	calls    *b2bua
	tk       trunkState // trunks in force and registrations to carriers
	counters counters
	conns    connCount       // open TCP connections by source
	legObs   legObservers    // who is told of extension legs changing state
	pres     *presence.Table // busy lamps and presence (subscribe.go)
	features featureTable    // feature codes in force (features.go)
	pickups  pickupBoard     // extensions' legs ringing now (pickup.go)
	mwi      mwiTable        // message-summary subscriptions (mwi.go)
	vms      sync.Map        // Call-ID → *vmSession: phones in their mailbox (vmretrieve.go)

	hooks hooks

	history *spool.Spool // call history and recording writes (see history.go)
}

// hooks let tests see what is otherwise silent. Nil in production.
type hooks struct {
	dropped   func(src netip.Addr, reason string)
	failed    func(src netip.Addr, ext string)
	synced    func()
	handled   func(src netip.Addr, method string) // a request reached its handler
	voicemail func(directory.Voicemail)           // a voicemail row was stored
}

// NewServer checks cfg and builds a server over store. Nothing listens
// until Run or Serve.
func NewServer(cfg Config, store directory.Store, log *slog.Logger) (*Server, error) {
	return newServer(cfg, store, log, realClock{})
}

func newServer(cfg Config, store directory.Store, log *slog.Logger, c clock) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("sip config: %w", err)
	}
	if store == nil {
		return nil, errors.New("sip: no store")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.withDefaults()
	s := &Server{cfg: cfg, store: store, log: log, clock: c, creds: newCredentials()}
	s.loc = newLocation(store, cfg.Node, c, log, cfg.StoreTimeout)
	s.guard = newGuard(cfg.Guard, c, log, s.loc.Registered, s.loc.RegisteredExt)
	s.nonces = newNonces(cfg.NonceTTL, c, max(cfg.Guard.MaxTracked, maxNonceUses))
	domain := cfg.Domain
	if domain == "" {
		domain = directory.SettingDefaults[directory.SettingDomain]
	}
	s.domain.Store(&domain)
	s.algs, _ = parseAlgorithms(cfg.DigestAlgorithms) // checked by Validate
	for _, a := range cfg.MD5OnlyAgents {
		s.md5Only = append(s.md5Only, strings.ToLower(strings.TrimSpace(a)))
	}

	// sipgo's own logs are about peers' packets: debug only, and without
	// the raw packet, which may hold credentials.
	quiet := slog.New(quietHandler{log.Handler()}).With("component", "sipgo")
	parser := sip.NewParser()
	parser.MaxMessageLength = cfg.MaxMessageSize
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgent(cfg.UserAgent),
		sipgo.WithUserAgenTLSConfig(cfg.TLSClient),
		sipgo.WithUserAgentParser(parser),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(quiet)),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(quiet),
			sip.WithTransactionLayerUnhandledResponseHandler(func(*sip.Response) {})),
	)
	if err != nil {
		return nil, fmt.Errorf("sip user agent: %w", err)
	}
	if s.srv, err = sipgo.NewServer(ua, sipgo.WithServerLogger(quiet)); err != nil {
		ua.Close()
		return nil, fmt.Errorf("sip server: %w", err)
	}
	if s.client, err = sipgo.NewClient(ua, sipgo.WithClientLogger(quiet)); err != nil {
		ua.Close()
		return nil, fmt.Errorf("sip client: %w", err)
	}
	s.ua = ua
	s.client.TxRequester = requester{s}
	s.srv.OnRegister(s.handle(s.onRegister))
	s.srv.OnOptions(s.handle(s.onOptions))
	s.srv.OnNoRoute(s.handle(s.onOther))
	s.pres = newPresence(s, cfg.Subscriptions)
	s.loc.onReg = s.pres.SetRegistered
	s.srv.OnSubscribe(s.handle(s.onSubscribe))
	if s.calls, err = newB2BUA(s, cfg.Calls); err != nil {
		ua.Close()
		return nil, fmt.Errorf("sip calls: %w", err)
	}
	s.calls.register()
	s.setStaticTrunks()
	if s.history, err = spool.Open(cfg.SpoolPath, store, cdrTimeout, log); err != nil {
		ua.Close()
		return nil, err
	}
	return s, nil
}

// realm returns the SIP domain in force.
func (s *Server) realm() string { return *s.domain.Load() }

// Run listens on cfg.Addr over UDP and TCP (the same port) and serves until
// ctx ends; it returns after a clean shutdown.
func (s *Server) Run(ctx context.Context) error {
	udp, tcp, err := Listen(ctx, s.cfg.Addr)
	if err != nil {
		return err
	}
	if s.cfg.TLSAddr != "" && s.cfg.TLS != nil {
		var lc net.ListenConfig
		ln, err := lc.Listen(ctx, "tcp", s.cfg.TLSAddr)
		if err != nil {
			udp.Close()
			tcp.Close()
			return fmt.Errorf("sip tls listen %s: %w", s.cfg.TLSAddr, err)
		}
		s.SetTLS(ln, s.cfg.TLS)
	}
	return s.Serve(ctx, udp, tcp)
}

// Listen binds UDP and TCP on one address and port. With port 0 TCP takes
// the port UDP got; when another program holds that TCP port (an outgoing
// connection's ephemeral port, say) it tries again with a new UDP port, a
// bounded number of times.
func Listen(ctx context.Context, addr string) (net.PacketConn, net.Listener, error) {
	host, want, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("sip listen %s: %w", addr, err)
	}
	var lc net.ListenConfig
	for try := 0; ; try++ {
		udp, err := lc.ListenPacket(ctx, "udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("udp: %w", err)
		}
		_, port, _ := net.SplitHostPort(udp.LocalAddr().String())
		tcp, err := lc.Listen(ctx, "tcp", net.JoinHostPort(host, port))
		if err == nil {
			return udp, tcp, nil
		}
		udp.Close()
		if want != "0" || try >= 20 {
			return nil, nil, fmt.Errorf("tcp: %w", err)
		}
	}
}

// SetTLS makes Serve also serve SIP over TLS on ln, a plain TCP listener:
// connections pass the guard (conn.go) and then the handshake with cfg.
// Call it before Serve.
func (s *Server) SetTLS(ln net.Listener, cfg *tls.Config) {
	s.tlsLn, s.tlsCfg = ln, cfg
}

// Serve serves SIP on the given listeners (either may be nil) until ctx
// ends, then closes them, waits for the requests in flight, writes what
// the store still owes and returns. Any listener failing ends it with an
// error.
func (s *Server) Serve(ctx context.Context, udp net.PacketConn, tcp net.Listener) error {
	if !s.used.CompareAndSwap(false, true) {
		return errors.New("sip: server already served")
	}
	if udp == nil && tcp == nil {
		return errors.New("sip: no listener")
	}
	defer s.ua.Close()

	// Credentials and bindings are loaded before the first request when
	// the store answers; otherwise (logged by refresh) the follower keeps
	// trying, and uncached extensions get 503 meanwhile.
	s.shareNonceKey(ctx)
	s.refresh(ctx)
	// Writes held by an earlier run go first: they may finish recordings
	// that would otherwise be taken for cut by a crash.
	s.history.Flush(ctx)
	// Before any call can start a new recording.
	s.calls.recordings.recoverRecordings(ctx, time.Now())

	// The B2BUA writes our ports into Contact headers: it must know them
	// before the first request can arrive.
	var udpAddr, tcpAddr net.Addr
	if udp != nil {
		udpAddr = udp.LocalAddr()
	}
	if tcp != nil {
		tcpAddr = tcp.Addr()
	}
	s.calls.listening(udpAddr, tcpAddr)
	if s.tlsLn != nil {
		if s.tlsCfg == nil {
			return errNoTLSConfig
		}
		s.calls.listeningTLS(s.tlsLn.Addr())
	}

	g, gctx := errgroup.WithContext(ctx)
	udpServing := make(chan struct{})
	if udp == nil {
		close(udpServing)
	}
	if udp != nil {
		pc := &packetConn{PacketConn: udp, s: s, serving: make(chan struct{})}
		udpServing = pc.serving
		addr := udp.LocalAddr().String()
		s.log.Info("sip listening", "addr", addr, "transport", "udp")
		g.Go(func() error {
			err := s.srv.ServeUDP(pc)
			if gctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("sip udp listener %s stopped: %w", addr, orClosed(err))
		})
	}
	if tcp != nil {
		ln := &listener{Listener: tcp, s: s}
		addr := tcp.Addr().String()
		s.log.Info("sip listening", "addr", addr, "transport", "tcp")
		g.Go(func() error {
			err := s.srv.ServeTCP(ln)
			if gctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("sip tcp listener %s stopped: %w", addr, orClosed(err))
		})
	}
	if s.tlsLn != nil {
		ln := &listener{Listener: s.tlsLn, s: s, tls: s.tlsCfg}
		addr := s.tlsLn.Addr().String()
		s.log.Info("sip listening", "addr", addr, "transport", "tls")
		g.Go(func() error {
			err := s.srv.ServeTLS(ln)
			if gctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("sip tls listener %s stopped: %w", addr, orClosed(err))
		})
	}
	g.Go(func() error {
		s.run(gctx)
		return nil
	})
	g.Go(func() error {
		s.calls.recordings.runRetention(gctx)
		return nil
	})
	g.Go(func() error {
		s.history.Run(gctx)
		return nil
	})
	g.Go(func() error {
		s.loc.runLater(gctx)
		return nil
	})
	// Requests leave from the UDP listener (outbound.go), which sipgo
	// knows only once it serves it: trunk registrations wait for that.
	select {
	case <-udpServing:
		s.udpReady.Store(true)
	case <-gctx.Done():
	}
	s.startTrunkRegistrations()
	g.Go(func() error {
		<-gctx.Done()
		// Calls hang up, and carriers are unregistered, while the
		// listeners can still carry the BYEs and REGISTERs.
		s.stopTrunkRegistrations()
		s.calls.shutdown()
		// Subscribers get their final NOTIFYs while the listeners carry them.
		pctx, pcancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		s.pres.Close(pctx)
		pcancel()
		if udp != nil {
			udp.Close()
		}
		if tcp != nil {
			tcp.Close()
		}
		if s.tlsLn != nil {
			s.tlsLn.Close()
		}
		return nil
	})
	err := g.Wait()

	s.hmu.Lock()
	s.closing = true
	s.hmu.Unlock()
	s.inflight.Wait()
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.StoreTimeout)
	defer cancel()
	s.loc.FlushLater(fctx) // refreshes of requests answered while stopping
	if !s.loc.Flush(fctx) {
		s.log.Warn("binding writes still held at shutdown", "writes", s.loc.Held())
	}
	s.closeHistory(fctx)
	return err
}

func orClosed(err error) error {
	if err == nil {
		return net.ErrClosed
	}
	return err
}

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
		// parsing (packetConn); stream requests are counted here.
		if sip.IsReliable(req.Transport()) {
			if src, err := netip.ParseAddrPort(req.Source()); err == nil && !s.guard.Flood(src.Addr()) {
				s.dropped(src.Addr().Unmap(), "flood")
				return
			}
		}
		s.counters.request(string(req.Method))
		if s.hooks.handled != nil {
			if src, err := netip.ParseAddrPort(req.Source()); err == nil {
				s.hooks.handled(src.Addr().Unmap(), string(req.Method))
			}
		}
		defer func() {
			if r := recover(); r != nil {
				s.log.Error("sip handler panic", "method", string(req.Method), "src", req.Source(),
					"panic", fmt.Sprint(r), "stack", string(debug.Stack()))
				s.respond(tx, req, 500, "Server Internal Error")
			}
		}()
		h(req, tx)
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
		s.dropped(src.Addr(), "banned")
		return src, false
	}
	if h := req.GetHeader("User-Agent"); h != nil && s.guard.Scanner(h.Value()) {
		s.dropped(src.Addr(), "scanner")
		return src, false
	}
	return src, true
}

func (s *Server) dropped(ip netip.Addr, reason string) {
	s.log.Debug("sip request dropped", "src", ip.String(), "reason", reason)
	s.counters.drop(reason)
	if s.hooks.dropped != nil {
		s.hooks.dropped(ip, reason)
	}
}

func (s *Server) onOptions(req *sip.Request, tx sip.ServerTransaction) {
	if _, ok := s.admitRequest(req); !ok {
		return
	}
	res := s.response(req, 200, "OK")
	res.AppendHeader(sip.NewHeader("Allow", allowed))
	res.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
	res.AppendHeader(sip.NewHeader("Allow-Events", presence.Allowed+", "+mwiEvent))
	s.send(tx, res)
}

func (s *Server) onOther(req *sip.Request, tx sip.ServerTransaction) {
	if _, ok := s.admitRequest(req); !ok {
		return
	}
	res := s.response(req, 405, "Method Not Allowed")
	res.AppendHeader(sip.NewHeader("Allow", allowed))
	s.send(tx, res)
}

func (s *Server) response(req *sip.Request, code int, reason string) *sip.Response {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	res.AppendHeader(sip.NewHeader("Server", s.cfg.UserAgent))
	return res
}

func (s *Server) respond(tx sip.ServerTransaction, req *sip.Request, code int, reason string) {
	s.send(tx, s.response(req, code, reason))
}

func (s *Server) send(tx sip.ServerTransaction, res *sip.Response) {
	if err := tx.Respond(res); err != nil {
		s.log.Debug("sip response not sent", "code", res.StatusCode, "err", err)
	}
}

// Registrations returns every current binding, of all nodes, by extension.
func (s *Server) Registrations() []directory.Binding { return s.loc.All() }

// Bindings returns the current bindings of one extension.
func (s *Server) Bindings(ext string) []directory.Binding { return s.loc.Current(ext) }

// Bans returns the bans and extension locks in force.
func (s *Server) Bans() []Ban { return s.guard.Bans() }

// Unban lifts every ban and lock of a source IP, on this node and in the
// store (so on every node), and reports whether there was any. A store
// failure is logged; the ban is lifted here all the same.
func (s *Server) Unban(ip string) bool {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	found := s.guard.Unban(a)
	n, err := s.unbanStored(context.Background(), a.Unmap())
	if err != nil {
		s.log.Warn("ban not lifted in the store", "src", a.Unmap().String(), "err", err)
	}
	return found || n > 0
}

// Ping sends OPTIONS to a registered phone where it really is: to the
// binding's source address over its transport (the phone's own TCP
// connection, or through the NAT pinhole its REGISTERs opened), not to the
// private address of its Contact. It returns the status of the answer.
func (s *Server) Ping(ctx context.Context, b directory.Binding) (int, error) {
	var uri sip.Uri
	if err := sip.ParseUri(b.Contact, &uri); err != nil {
		return 0, fmt.Errorf("ping %s: contact: %w", b.Extension, err)
	}
	realm := s.realm()
	req := sip.NewRequest(sip.OPTIONS, uri)
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: "switchboard", Host: realm},
		Params: sip.HeaderParams{{K: "tag", V: sip.GenerateTagN(16)}}}
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: b.Extension, Host: realm}})
	req.AppendHeader(sip.NewHeader("User-Agent", s.cfg.UserAgent))
	req.SetTransport(b.Transport)
	req.SetDestination(b.Source)
	res, err := s.client.Do(ctx, req)
	if err != nil {
		return 0, fmt.Errorf("ping %s at %s: %w", b.Extension, b.Source, err)
	}
	return res.StatusCode, nil
}

// shareNonceKey makes nonces under the key the nodes share in the store
// (made by the first node that needs it), so that a phone's nonce from
// another node or from before a restart is still ours: only a forged one
// fails its MAC. With the store away this run keeps its own key.
func (s *Server) shareNonceKey(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.StoreTimeout)
	defer cancel()
	v, err := s.store.Setting(ctx, directory.SettingNonceKey)
	if err == nil && v == "" {
		var k [32]byte
		rand.Read(k[:])
		if err = s.store.SetSetting(ctx, directory.SettingNonceKey, hex.EncodeToString(k[:])); err == nil {
			// Two nodes starting at once: both read back what the store kept.
			v, err = s.store.Setting(ctx, directory.SettingNonceKey)
		}
	}
	var k [32]byte
	if err == nil {
		var n int
		if n, err = hex.Decode(k[:], []byte(v)); err == nil && n != len(k) {
			err = errors.New("short key")
		}
	}
	if err != nil {
		s.log.Warn("nonce key not shared: this node's nonces are its own until restart", "err", err)
		return
	}
	s.nonces.setKey(k)
}
