package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"time"

	sipgosip "github.com/emiago/sipgo/sip"
	"golang.org/x/sync/errgroup"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/media"
	"github.com/switchboard-pbx/switchboard/sip"
	"github.com/switchboard-pbx/switchboard/sip/transport"
	"github.com/switchboard-pbx/switchboard/web"
)

// Main is a running Switchboard: the store and every server over it. Tests
// build one on 127.0.0.1:0 with a temp data dir, as `serve` does for real.
type Main struct {
	Config Config
	Log    *slog.Logger

	Store directory.Store
	SIP   *sip.Server
	Web   *web.Server

	sipUDP   net.PacketConn
	sipTCP   net.Listener
	sipTLS   net.Listener // nil with --sip-tls-addr off
	webLn    net.Listener
	metrics  net.Listener // nil unless --metrics-addr is set
	pprof    net.Listener // nil unless --pprof-addr is set
	SetupURL string       // set while no owner exists
}

func runServe(ctx context.Context, args []string, e env) error {
	var c Config
	fs := newFlagSet("switchboard serve", e.getenv)
	fs.SetOutput(e.stderr)
	fs.storeFlags(&c)
	fs.serveFlags(&c)
	pos, err := parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("serve: unexpected argument %q", pos[0])
	}
	if err := c.Validate(true); err != nil {
		return &configError{err}
	}
	m := &Main{Config: c, Log: newLogger(e.stderr, c.LogLevel)}
	if c.GCPercent != 0 {
		debug.SetGCPercent(c.GCPercent)
	}
	if c.Procs != 0 {
		// Before anything starts: the relay's pollers count the
		// processors when the first is made.
		runtime.GOMAXPROCS(c.Procs)
	}
	// sipgo's package-wide logger (its transport layer's warnings) is set
	// once, before any user agent exists; errors only, never raw packets.
	sipgosip.SetDefaultLogger(newLogger(e.stderr, "error").With("component", "sipgo"))
	// A non-INVITE server transaction over UDP is kept after its final
	// response to answer retransmissions: RFC 3261's Timer J is 32 s, which
	// at 5,000 REGISTER/s holds some 300,000 transactions (about 1 GB).
	// Like Kamailio's wt_timer we keep them 5 s, which covers the
	// retransmissions of a lost answer at 0.5, 1.5 and 3.5 s; a later one
	// is handled as a new request (a REGISTER or OPTIONS again, a BYE gets
	// 481).
	sipgosip.Timer_J = sipTimerJ
	if err := m.Open(ctx); err != nil {
		if ctx.Err() != nil {
			return nil // stopped while waiting for the database
		}
		return err
	}
	defer m.Close()
	return m.Run(ctx)
}

// Open binds the listeners, opens the store (applying migrations; an
// unreachable database is waited for, see openStoreWaiting) and prepares
// the setup link when no owner exists. Listening here, before Run, means
// the addresses are known and a busy port is a start-up error.
func (m *Main) Open(ctx context.Context) (err error) {
	defer func() {
		if err != nil {
			m.Close()
		}
	}()
	if err := m.listenSIP(ctx); err != nil {
		return err
	}
	var lc net.ListenConfig
	if m.webLn, err = lc.Listen(ctx, "tcp", m.Config.WebAddr); err != nil {
		return &configError{fmt.Errorf("--web-addr %s: %w", m.Config.WebAddr, err)}
	}
	if err := m.openStoreWaiting(ctx); err != nil {
		return err
	}
	if err := m.applyDomain(ctx); err != nil {
		return err
	}
	scfg := sip.Config{Addr: m.Config.SIPAddr, Node: m.Config.Node,
		Calls: sip.CallConfig{RTPLow: m.Config.RTPLow, RTPHigh: m.Config.RTPHigh, MediaIP: m.mediaIP(),
			MediaTimeout: m.Config.MediaTimeout, MediaHoldTimeout: m.Config.MediaHoldTimeout,
			RTPQuarantine: m.Config.RTPQuarantine, PublicIP: m.publicIP()},
		RecordingsDir: m.Config.RecordingsDir, SpoolPath: filepath.Join(m.Config.Data, "history.spool"),
		SipgoInvites: m.Config.SIPUDPTransactions == "sipgo", SipgoClients: m.Config.SIPUDPTransactions == "sipgo"}
	m.Config.SIPTCP.apply(&scfg)
	applySIPOptions(ctx, &scfg, &m.Config, m.Store, m.Log)
	if m.SIP, err = sip.NewServer(scfg, m.Store, m.Log); err != nil {
		return &configError{err}
	}
	if m.sipTLS != nil {
		tc, err := m.tlsConfig()
		if err != nil {
			return &configError{err}
		}
		m.SIP.SetTLS(m.sipTLS, tc)
	}
	if m.Config.MetricsAddr != "" {
		if m.metrics, err = lc.Listen(ctx, "tcp", m.Config.MetricsAddr); err != nil {
			return &configError{fmt.Errorf("--metrics-addr %s: %w", m.Config.MetricsAddr, err)}
		}
		m.Log.Info("metrics listening", "addr", m.metrics.Addr().String(), "path", "/metrics")
	}
	if m.Config.PprofAddr != "" {
		if m.pprof, err = lc.Listen(ctx, "tcp", m.Config.PprofAddr); err != nil {
			return &configError{fmt.Errorf("--pprof-addr %s: %w", m.Config.PprofAddr, err)}
		}
		m.Log.Info("profiler listening", "addr", m.pprof.Addr().String(), "path", "/debug/pprof/")
	}
	live := liveState{m.SIP}
	wcfg := web.Config{Addr: m.Config.WebAddr, BaseURL: m.Config.BaseURL,
		RecordingsDir: m.Config.RecordingsDir, StoreTimeout: m.Config.WebStoreTimeout, Mail: m.Config.SMTP.MailConfig,
		ConvertAudio: media.ConvertToMono8k}
	m.phoneAddrs(&wcfg)
	if m.Web, err = web.New(wcfg, m.Store, live, m.Log); err != nil {
		return err
	}
	return m.prepareSetup(ctx)
}

// listenSIP binds UDP and TCP on one port (see sip.Listen).
func (m *Main) listenSIP(ctx context.Context) (err error) {
	if m.sipUDP, m.sipTCP, err = sip.Listen(ctx, m.Config.SIPAddr); err != nil {
		return &configError{fmt.Errorf("--sip-addr %s: %w", m.Config.SIPAddr, err)}
	}
	if addr := m.Config.tlsAddr(); addr != "" {
		var lc net.ListenConfig
		if m.sipTLS, err = lc.Listen(ctx, "tcp", addr); err != nil {
			return &configError{fmt.Errorf("--sip-tls-addr %s: %w", addr, err)}
		}
	}
	return nil
}

// tlsConfig loads --tls-cert and --tls-key (reloaded when they change), or
// without them makes a self-signed pair in DATA/tls at the first start,
// for trying TLS out: phones must be told to accept it.
func (m *Main) tlsConfig() (*tls.Config, error) {
	cert, key := m.Config.TLSCert, m.Config.TLSKey
	if cert == "" {
		dir := filepath.Join(m.Config.Data, "tls")
		var made bool
		var err error
		if cert, key, made, err = transport.SelfSigned(dir, m.Config.PublicAddr); err != nil {
			return nil, fmt.Errorf("--tls-cert (SWITCHBOARD_TLS_CERT): %w", err)
		}
		if made {
			m.Log.Warn("no tls certificate given: made a self-signed one for trying TLS out; give --tls-cert and --tls-key for phones in production",
				"cert", cert, "key", key)
		} else {
			m.Log.Warn("no tls certificate given: using the self-signed one made earlier", "cert", cert)
		}
	}
	cf, err := transport.LoadCertFiles(cert, key)
	if err != nil {
		return nil, fmt.Errorf("--tls-cert (SWITCHBOARD_TLS_CERT): %w", err)
	}
	return cf.ServerConfig(), nil
}

// SIPTLSAddr is the address of the SIP TLS listener, "" when there is none.
func (m *Main) SIPTLSAddr() string {
	if m.sipTLS == nil {
		return ""
	}
	return m.sipTLS.Addr().String()
}

// mediaIP is the relay address: the SIP listener's when it is a specific
// one, else unspecified (the relay then advertises its route to each phone).
func (m *Main) mediaIP() netip.Addr {
	if ap, err := netip.ParseAddrPort(m.sipUDP.LocalAddr().String()); err == nil && !ap.Addr().IsUnspecified() {
		return ap.Addr().Unmap()
	}
	return netip.IPv4Unspecified()
}

// SIPAddr is the address the SIP listeners (UDP and TCP) are bound to.
func (m *Main) SIPAddr() string { return m.sipUDP.LocalAddr().String() }

// applyDomain writes --domain into the stored setting when it is given and
// differs, warning that extension passwords were hashed for the old realm.
func (m *Main) applyDomain(ctx context.Context) error {
	if m.Config.Domain == "" {
		return nil
	}
	cur, err := m.Store.Setting(ctx, directory.SettingDomain)
	if err != nil {
		return err
	}
	if cur == m.Config.Domain {
		return nil
	}
	if err := m.Store.SetSetting(ctx, directory.SettingDomain, m.Config.Domain); err != nil {
		return &configError{fmt.Errorf("--domain: %w", err)}
	}
	m.Log.Warn("sip domain changed; extension passwords made for the old domain must be set again",
		"old", cur, "new", m.Config.Domain)
	return nil
}

func (m *Main) prepareSetup(ctx context.Context) error {
	has, err := m.Store.HasOwner(ctx)
	if err != nil || has {
		return err
	}
	tok, err := web.NewSetupToken(ctx, m.Store)
	if err != nil {
		return fmt.Errorf("setup token: %w", err)
	}
	m.SetupURL = m.baseURL() + "/setup/" + tok
	return nil
}

// baseURL is how people reach the web UI: --base-url, or the listener's
// address with an unspecified host shown as localhost.
func (m *Main) baseURL() string {
	if m.Config.BaseURL != "" {
		return m.Config.BaseURL
	}
	host, port, _ := net.SplitHostPort(m.webLn.Addr().String())
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// WebAddr is the address the web server listens on.
func (m *Main) WebAddr() string { return m.webLn.Addr().String() }

// Run serves until ctx ends or a server fails, then waits for all of them.
func (m *Main) Run(ctx context.Context) error {
	if m.SetupURL != "" {
		m.Log.Info("no owner yet: open the setup link to create one", "url", m.SetupURL)
	}
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return m.SIP.Serve(ctx, m.sipUDP, m.sipTCP) })
	g.Go(func() error { return m.Web.Serve(ctx, m.webLn) })
	g.Go(func() error { m.pruneChanges(ctx); return nil })
	if m.metrics != nil {
		g.Go(func() error { return serveMetrics(ctx, m.metrics, metricsHandler(m.SIP, m.Store)) })
	}
	if m.pprof != nil {
		g.Go(func() error { return serveMetrics(ctx, m.pprof, pprofHandler()) })
	}
	err := g.Wait()
	if errors.Is(err, context.Canceled) {
		err = nil
	}
	m.Log.Info("stopped")
	return err
}

// changeLogKeep is how long change-log entries are kept: far longer than
// any node follows behind (a node that lost its place reloads in full).
const changeLogKeep = 24 * time.Hour

// pruneChanges trims the change log hourly until ctx ends.
func (m *Main) pruneChanges(ctx context.Context) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if err := m.Store.PruneChanges(ctx, time.Now().Add(-changeLogKeep)); err != nil && ctx.Err() == nil {
			m.Log.Warn("change log not pruned", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Close releases what Open acquired.
func (m *Main) Close() {
	for _, c := range []interface{ Close() error }{m.webLn, m.sipTCP, m.sipUDP, m.sipTLS, m.metrics, m.pprof} {
		if c != nil {
			_ = c.Close()
		}
	}
	if m.Store != nil {
		_ = m.Store.Close()
		m.Store = nil
	}
}

// sipTimerJ is how long a completed non-INVITE server transaction over
// UDP is kept (see runServe).
const sipTimerJ = 5 * time.Second

// liveState is what the web UI shows of the running PBX: the registrations
// and the calls in progress, from sip.
type liveState struct{ sip *sip.Server }

func (l liveState) Registrations() []directory.Binding { return l.sip.Registrations() }

// HistoryWritesHeld is the count of call history writes waiting for the
// database, for the dashboard.
func (l liveState) HistoryWritesHeld() int { return l.sip.HistoryWritesHeld() }

func (l liveState) ActiveCalls() []web.ActiveCall {
	calls := l.sip.ActiveCalls()
	out := make([]web.ActiveCall, 0, len(calls))
	for _, c := range calls {
		out = append(out, web.ActiveCall{CallID: c.CallID, CallerID: c.CallerID, CalleeID: c.CalleeID,
			From: c.From, To: c.To, State: c.State, StartedAt: c.StartedAt})
	}
	return out
}

// MailboxChanged has sip tell the phones watching a mailbox of a change
// made on the web (voicemail heard or deleted).
func (l liveState) MailboxChanged(userID int64) { l.sip.MailboxChanged(userID) }

// GroupMailboxChanged is the same for a group's mailbox.
func (l liveState) GroupMailboxChanged(groupID int64) { l.sip.GroupMailboxChanged(groupID) }

// TrunkRegistrations gives the settings page the state of the
// registrations to carriers.
func (l liveState) TrunkRegistrations() []web.TrunkStatus {
	regs := l.sip.TrunkRegistrations()
	out := make([]web.TrunkStatus, 0, len(regs))
	for _, r := range regs {
		out = append(out, web.TrunkStatus{Trunk: r.Trunk, State: r.State, Expires: r.Expires, Error: r.Error})
	}
	return out
}

// publicIP is --public-addr, checked by Validate; zero when not given.
func (m *Main) publicIP() netip.Addr {
	a, _ := netip.ParseAddr(m.Config.PublicAddr)
	return a
}

// phoneAddrs tells the web where phones reach the registrar, for
// provisioning and the user's page: the public address behind 1:1 NAT, or
// the SIP listener's host when it is a specific one (else the web uses
// the host a request came to), and the ports really bound.
func (m *Main) phoneAddrs(c *web.Config) {
	if ap, err := netip.ParseAddrPort(m.SIPAddr()); err == nil {
		c.SIPPort = int(ap.Port())
		if !ap.Addr().IsUnspecified() {
			c.SIPHost = ap.Addr().Unmap().String()
		}
	}
	if m.Config.PublicAddr != "" {
		c.SIPHost = m.Config.PublicAddr
	}
	if ap, err := netip.ParseAddrPort(m.SIPTLSAddr()); err == nil {
		c.SIPTLSPort = int(ap.Port())
	}
}

// Presence gives the dashboard an extension's live state (busy lamps).
func (l liveState) Presence(ext string, info bool) web.ExtPresence {
	v := l.sip.Presence(ext, info)
	return web.ExtPresence{Status: v.Status.String(), Peer: v.Peer()}
}
