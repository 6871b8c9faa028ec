package sip

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"golang.org/x/sync/errgroup"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/internal/clock"
	"github.com/switchboard-pbx/switchboard/sip/auth"
	"github.com/switchboard-pbx/switchboard/sip/call"
	"github.com/switchboard-pbx/switchboard/sip/creds"
	"github.com/switchboard-pbx/switchboard/sip/digest"
	"github.com/switchboard-pbx/switchboard/sip/guard"
	"github.com/switchboard-pbx/switchboard/sip/location"
	"github.com/switchboard-pbx/switchboard/sip/presence"
	"github.com/switchboard-pbx/switchboard/sip/registrar"
	"github.com/switchboard-pbx/switchboard/sip/spool"
	"github.com/switchboard-pbx/switchboard/sip/subscribe"
	"github.com/switchboard-pbx/switchboard/sip/transport"
	"github.com/switchboard-pbx/switchboard/sip/trunk"
	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// allowed lists the methods we answer, for Allow headers.
const allowed = "REGISTER, OPTIONS, INVITE, ACK, CANCEL, BYE, REFER, SUBSCRIBE, NOTIFY"

// Server is the SIP server: registrar, location service and B2BUA. It
// serves once: Run or Serve, then it is done. It wires its parts (newServer)
// and dispatches to them; each part holds what it needs of the others.
type Server struct {
	rp    wire.Responder // our responses, with our Server header
	cfg   Config
	store directory.Store
	log   *slog.Logger
	clock clock.Clock

	ua     *sipgo.UserAgent
	srv    *sipgo.Server
	client *sipgo.Client

	// What the parts share: the registrar fills creds and loc, the
	// follower keeps them current, the call side reads them.
	creds  *creds.Cache
	loc    *location.Table
	guard  *guard.Guard
	nonces *digest.Nonces

	// The transport-and-registrar parts.
	edge   *transport.Edge          // screens and checks every message before sipgo parses it
	auth   *auth.Checker            // digest authentication of every request
	reg    *registrar.Registrar     // REGISTER
	subs   *subscribe.Subscriptions // SUBSCRIBE and NOTIFY, message waiting
	pres   *presence.Table          // busy lamps and presence: subs's table, which park's lamps feed
	follow *follower                // the store's change log: keeps the caches current
	bans   *guard.Sync              // the guard's bans, shared through the store
	tk     *trunk.Table             // trunks in force and registrations to carriers

	// tlsLn is the SIP over TLS listener Serve also serves (SetTLS).
	tlsLn  net.Listener
	tlsCfg *tls.Config
	// udpReady: sipgo serves the UDP listener, so requests may be sent
	// from it (sip/call's outbound.go).
	udpReady atomic.Bool
	// udpOut is the UDP listener's socket, which the server's own client
	// transactions (clients) send from; nil without a UDP listener.
	udpOut atomic.Pointer[transport.PacketConn]

	used atomic.Bool

	// In-flight handlers, waited for at shutdown so that none touches the
	// store after Serve returned.
	hmu      sync.Mutex
	closing  bool
	inflight sync.WaitGroup

	regTxs  *wire.Transactions // REGISTERs, BYEs and INVITEs over UDP, served at the edge (transport.PacketConn)
	clients *wire.Clients      // requests sent over UDP to an address: their client transactions (callside.go)

	calls    *b2bua
	counters call.Counters
	legObs   call.LegObservers // who is told of extension legs changing state
	features featureTable      // feature codes in force (features.go)

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
	return newServer(cfg, store, log, clock.Real{})
}

func newServer(cfg Config, store directory.Store, log *slog.Logger, c clock.Clock) (*Server, error) {
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
	s := &Server{rp: wire.Responder{Agent: cfg.UserAgent, Log: log}, cfg: cfg, store: store, log: log, clock: c,
		creds: creds.New()}
	s.loc = location.New(store, cfg.Node, c, log, cfg.StoreTimeout)
	s.guard = guard.New(cfg.Guard, c, log, s.loc.Registered, s.loc.RegisteredExt)
	s.nonces = digest.NewNonces(cfg.NonceTTL, c, max(cfg.Guard.MaxTracked, digest.MaxNonceUses))
	domain := cfg.Domain
	if domain == "" {
		domain = directory.SettingDefaults[directory.SettingDomain]
	}
	algs, _ := digest.ParseAlgorithms(cfg.DigestAlgorithms) // checked by Validate
	var md5Only []string
	for _, a := range cfg.MD5OnlyAgents {
		md5Only = append(md5Only, strings.ToLower(strings.TrimSpace(a)))
	}
	s.auth = auth.New(auth.Config{Agent: cfg.UserAgent, Domain: domain, Algorithms: algs, MD5OnlyAgents: md5Only,
		StoreTimeout: cfg.StoreTimeout}, auth.Parts{Store: store, Log: log, Creds: s.creds, Loc: s.loc,
		Guard: s.guard, Nonces: s.nonces, Dropped: s.counters.Drop, Failed: s.authFailed})
	s.reg = registrar.New(registrar.Config{Agent: cfg.UserAgent, Node: cfg.Node, MinExpires: cfg.MinExpires,
		MaxExpires: cfg.MaxExpires, DefaultExpires: cfg.DefaultExpires, MaxBindings: cfg.MaxBindings},
		s.auth, s.loc, c, log)

	// sipgo's own logs are about peers' packets: debug only, and without
	// the raw packet, which may hold credentials.
	quiet := slog.New(quietHandler{log.Handler()}).With("component", "sipgo")
	parser := sip.NewParser()
	parser.MaxMessageLength = cfg.MaxMessageSize
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgent(cfg.UserAgent),
		sipgo.WithUserAgenTLSConfig(cfg.TLSClient),
		sipgo.WithUserAgentParser(parser),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(
			slog.New(parseFailures{quiet.Handler(), s.parseFailed, s.counters.Drop}))),
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
	s.regTxs = wire.NewTransactions(c, s.handle(s.onRegisterInline))
	s.clients = wire.NewClients(c)
	s.srv.OnRegister(s.handle(s.onRegister))
	s.srv.OnOptions(s.handle(s.onOptions))
	s.srv.OnNoRoute(s.handle(s.onOther))
	contactFor := func(dest, transport string) sip.ContactHeader { return s.calls.ContactFor(dest, transport) }
	s.subs = subscribe.New(subscribe.Config{Agent: cfg.UserAgent, StoreTimeout: cfg.StoreTimeout,
		Presence: cfg.Subscriptions}, subscribe.Parts{Store: store, Log: log, Client: s.client, Auth: s.auth,
		Creds: s.creds, Loc: s.loc, Dropped: s.counters.Drop, Contact: contactFor, GroupMailbox: s.groupMailbox,
		IsOrbit: func(n string) bool { return s.calls != nil && s.calls.lot.Orbits.IsOrbit(n) }})
	s.pres = s.subs.Presence()
	s.loc.OnRegistered(s.pres.SetRegistered)
	s.srv.OnSubscribe(s.handle(s.onSubscribe))
	s.watchLegs(func(e LegEvent) { s.pres.Leg(e.Ext, e.PresenceLeg(), e.State == LegEnded) })
	s.tk = trunk.New(trunk.Config{Trunks: s.cfg.Calls.Trunks, DIDs: s.cfg.Calls.DIDs, UserAgent: s.cfg.UserAgent,
		Settings: store, Log: log, Client: s.client, Contact: contactFor, Resolve: lookupHost})
	if s.history, err = spool.Open(cfg.SpoolPath, store, call.CDRTimeout, log); err != nil {
		ua.Close()
		return nil, err
	}
	s.history.Gather = call.CDRGather
	if s.calls, err = newB2BUA(s, cfg.Calls); err != nil {
		_ = s.history.Close()
		ua.Close()
		return nil, fmt.Errorf("sip calls: %w", err)
	}
	s.calls.register()
	// An ACK the edge takes goes through the handler's wrapper as one from
	// sipgo does, without a transaction (onAck needs none).
	onAck := s.handle(s.calls.onAck)
	s.calls.ackTaken = func(req *sip.Request) { onAck(req, nil) }
	s.edge = transport.New(transport.Config{UserAgent: cfg.UserAgent, MaxMessageSize: cfg.MaxMessageSize,
		MaxTCP: cfg.MaxTCP, MaxTCPPerSource: cfg.MaxTCPPerSource, TCPMessageTimeout: cfg.TCPMessageTimeout,
		TCPUnregisteredIdle: cfg.TCPUnregisteredIdle, TCPIdleTimeout: cfg.TCPIdleTimeout},
		transport.Parts{Log: log, Guard: s.guard, Auth: s.auth, Transactions: s.regTxs, Clients: s.clients,
			FromTrunk: func(ip netip.Addr) bool { return s.trunkFrom(ip) != nil }, MayCancel: s.calls.CancelFrom,
			Registered: s.loc.HasConnection, TakeAck: s.calls.takeAck, CountDrop: s.counters.Drop, CountRequest: s.counters.Request,
			OnDrop: func(src netip.Addr, reason string) {
				if s.hooks.dropped != nil {
					s.hooks.dropped(src, reason)
				}
			}})
	s.bans = guard.NewSync(s.guard, store, cfg.Node, cfg.StoreTimeout, c, log)
	s.follow = &follower{cfg: &s.cfg, store: store, log: log, clock: c, hooks: &s.hooks, creds: s.creds,
		loc: s.loc, guard: s.guard, nonces: s.nonces, auth: s.auth, subs: s.subs, tk: s.tk, bans: s.bans,
		loadFeatures: s.loadFeatures, loadPark: s.loadPark, loadRecording: s.calls.recordings.LoadPolicy}
	return s, nil
}

// realm returns the SIP domain in force.
func (s *Server) realm() string { return s.auth.Realm() }

// credential finds an extension's credential (auth.Checker.Credential).
func (s *Server) credential(ext string) (*call.Credential, error) { return s.auth.Credential(ext) }

// authFailed counts a failed authentication of ext from ip, which the
// guard has counted.
func (s *Server) authFailed(ip netip.Addr, ext string) {
	s.counters.AuthFailures.Add(1)
	if s.hooks.failed != nil {
		s.hooks.failed(ip, ext)
	}
}

// onSubscribe admits a SUBSCRIBE and hands it to the subscriptions.
func (s *Server) onSubscribe(req *sip.Request, tx sip.ServerTransaction) {
	if src, ok := s.admitRequest(req); ok {
		s.subs.OnSubscribe(req, tx, src)
	}
}

// Presence returns the live state of ext, with the peer when info is set
// (for the dashboard, which asks authz.Watch first).
func (s *Server) Presence(ext string, info bool) presence.View { return s.pres.View(ext, info) }

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

// errNoTLSConfig: a TLS listener without certificates.
var errNoTLSConfig = errors.New("sip: tls listener without a tls config")

// SetTLS makes Serve also serve SIP over TLS on ln, a plain TCP listener:
// connections pass the guard (transport.Edge.Listener) and then the
// handshake with cfg. Call it before Serve.
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
	s.follow.shareNonceKey(ctx)
	s.follow.refresh(ctx)
	// Writes held by an earlier run go first: they may finish recordings
	// that would otherwise be taken for cut by a crash.
	s.history.Flush(ctx)
	// Before any call can start a new recording.
	s.calls.recordings.RecoverRecordings(ctx, time.Now())

	// The B2BUA writes our ports into Contact headers: it must know them
	// before the first request can arrive.
	var udpAddr, tcpAddr net.Addr
	if udp != nil {
		udpAddr = udp.LocalAddr()
	}
	if tcp != nil {
		tcpAddr = tcp.Addr()
	}
	s.calls.Listening(udpAddr, tcpAddr)
	if s.tlsLn != nil {
		if s.tlsCfg == nil {
			return errNoTLSConfig
		}
		s.calls.ListeningTLS(s.tlsLn.Addr())
	}

	g, gctx := errgroup.WithContext(ctx)
	// udpServing is closed once sipgo serves the UDP listener; at once
	// without one.
	noUDP := make(chan struct{})
	close(noUDP)
	var udpServing <-chan struct{} = noUDP
	if udp != nil {
		pc := s.edge.PacketConn(udp)
		s.udpOut.Store(pc)
		udpServing = pc.Serving()
		serveListener(gctx, g, s.log, "udp", udp.LocalAddr(), func() error { return s.srv.ServeUDP(pc) })
	}
	if tcp != nil {
		ln := s.edge.Listener(tcp, nil)
		serveListener(gctx, g, s.log, "tcp", tcp.Addr(), func() error { return s.srv.ServeTCP(ln) })
	}
	if s.tlsLn != nil {
		ln := s.edge.Listener(s.tlsLn, s.tlsCfg)
		serveListener(gctx, g, s.log, "tls", s.tlsLn.Addr(), func() error { return s.srv.ServeTLS(ln) })
	}
	g.Go(func() error {
		s.follow.run(gctx)
		return nil
	})
	g.Go(func() error {
		s.calls.recordings.RunRetention(gctx)
		return nil
	})
	g.Go(func() error {
		s.history.Run(gctx)
		return nil
	})
	g.Go(func() error {
		s.loc.RunLater(gctx)
		return nil
	})
	// Requests leave from the UDP listener (sip/call's outbound.go), which sipgo
	// knows only once it serves it: trunk registrations wait for that.
	select {
	case <-udpServing:
		s.udpReady.Store(true)
	case <-gctx.Done():
	}
	s.tk.Start()
	g.Go(func() error {
		<-gctx.Done()
		// Calls hang up, and carriers are unregistered, while the
		// listeners can still carry the BYEs and REGISTERs.
		s.tk.Stop()
		s.calls.Shutdown()
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
	s.clients.Close() // the listener is closed: nothing more to send or hear
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.StoreTimeout)
	defer cancel()
	s.loc.FlushLater(fctx) // refreshes of requests answered while stopping
	if !s.loc.Flush(fctx) {
		s.log.Warn("binding writes still held at shutdown", "writes", s.loc.Held())
	}
	s.closeHistory(fctx)
	return err
}

// serveListener runs serve, which serves one listener at addr, in g: its
// end while ctx lives is an error that ends Serve.
func serveListener(ctx context.Context, g *errgroup.Group, log *slog.Logger, transport string, addr net.Addr,
	serve func() error) {
	log.Info("sip listening", "addr", addr.String(), "transport", transport)
	g.Go(func() error {
		err := serve()
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("sip %s listener %s stopped: %w", transport, addr, orClosed(err))
	})
}

func orClosed(err error) error {
	if err == nil {
		return net.ErrClosed
	}
	return err
}

// Registrations returns every current binding, of all nodes, by extension.
func (s *Server) Registrations() []directory.Binding { return s.loc.All() }

// Bindings returns the current bindings of one extension.
func (s *Server) Bindings(ext string) []directory.Binding { return s.loc.Current(ext) }

// Ban is a source kept out, shown to operators (guard.Ban).
type Ban = guard.Ban

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
	n, err := s.bans.Unban(context.Background(), a.Unmap())
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
