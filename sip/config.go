package sip

import (
	"github.com/switchboard-pbx/switchboard/sip/guard"
	"github.com/switchboard-pbx/switchboard/sip/presence"

	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/digest"
)

// Config is what the SIP server needs. Zero values take the defaults below
// (see the field comments); Validate reports every mistake at once.
type Config struct {
	// Addr is host:port of the UDP and TCP listeners Run opens.
	Addr string
	// TLSAddr is host:port of the SIP over TLS listener Run opens, with
	// TLS as its configuration; empty: none.
	TLSAddr string
	// TLS configures the TLS listener (its certificate); nil: no TLS
	// listener.
	TLS *tls.Config
	// TLSClient configures the TLS connections the PBX opens (to trunks
	// whose transport is TLS): nil verifies peers against the system's
	// roots.
	TLSClient *tls.Config
	// Domain is the SIP domain and digest realm. Empty: the directory
	// setting sip.domain, followed when it changes.
	Domain string
	// Node names this process in the bindings it writes; empty: the host name.
	Node string

	// MinExpires, MaxExpires and DefaultExpires bound registrations: a
	// shorter non-zero request gets 423 with Min-Expires, a longer one is
	// cut to MaxExpires, a request without any gets DefaultExpires.
	// Defaults 60s, 1h and 10m.
	MinExpires, MaxExpires, DefaultExpires time.Duration
	// Subscriptions bounds busy-lamp and presence subscriptions (zero:
	// 60 s to 1 h, 50,000 per node).
	Subscriptions presence.Config
	// NonceTTL is how long a challenge's nonce is good for; an older one
	// gets stale=true. Default 5m.
	NonceTTL time.Duration
	// MaxBindings caps the contacts of one extension whatever its own
	// device limit says. Default 10.
	MaxBindings int
	// MaxMessageSize drops larger SIP messages unparsed. Default 16 KiB.
	MaxMessageSize int
	// TCPIdleTimeout closes a TCP connection that sent nothing for that
	// long (phones keep theirs alive with CRLF pings and re-registration).
	// Default MaxExpires plus one minute.
	TCPIdleTimeout time.Duration
	// MaxTCPPerSource caps the open TCP connections from one source IP
	// (a flood of idle connections would otherwise exhaust file
	// descriptors); exempt networks are not capped. Default 256: an office
	// of phones behind one NAT stays well below it.
	MaxTCPPerSource int
	// TCPMessageTimeout: a message begun on a TCP connection must be
	// complete within it, or the connection is closed (slow-loris).
	// Default 10s.
	TCPMessageTimeout time.Duration
	// TCPUnregisteredIdle closes a TCP connection that carries no
	// registration (and is not from a trunk or an exempt network) once it
	// has sent no request for that long; CRLF keep-alives do not count.
	// Default 30s.
	TCPUnregisteredIdle time.Duration
	// MaxTCP caps the open TCP connections in all, so that file
	// descriptors cannot run out. Default half the process's file limit
	// (RLIMIT_NOFILE), at least 64.
	MaxTCP int
	// FollowInterval is how often the store's change log is polled when
	// the store cannot wake us. Default 1s.
	FollowInterval time.Duration
	// StoreTimeout bounds one store call made while answering a request.
	// Default 2s.
	StoreTimeout time.Duration
	// UserAgent is sent in the Server and User-Agent headers. Default
	// "Switchboard".
	UserAgent string
	// MD5OnlyAgents are User-Agent substrings (case-insensitive) of phones
	// that give up on a 401 offering an algorithm they do not know, even
	// alongside MD5; they are offered MD5 alone. Default
	// DefaultMD5OnlyAgents; an empty non-nil slice offers both to all.
	MD5OnlyAgents []string
	// DigestAlgorithms are the digest algorithms challenges offer, most
	// preferred first: "SHA-256", "MD5". Default SHA-256 then MD5; clients
	// that take the first challenge only and know MD5 alone (SIPp, old
	// phones) want MD5 first or alone.
	DigestAlgorithms []string

	Guard GuardConfig

	// SipgoInvites leaves INVITEs over UDP, and their CANCELs, to sipgo's
	// transaction layer, as before the edge served them itself
	// (wire.InviteTx, which saves sipgo's parse, goroutine, transaction
	// and timers per INVITE): a fallback should a peer need what only
	// sipgo's transactions do. Over TCP and TLS sipgo serves them anyway.
	SipgoInvites bool
	// SipgoClients leaves the requests the server sends over UDP (a call's
	// INVITEs, BYEs and CANCELs, NOTIFYs, trunk registrations) to sipgo's
	// client transactions, as before the server had its own (wire.Clients):
	// the same fallback, for the responses' side.
	SipgoClients bool

	// Calls configures the B2BUA: ring time, media, limits, trunks, DIDs.
	Calls CallConfig

	// RecordingsDir is where call recordings are written, in dated
	// subfolders, when the recording policy (the directory settings
	// recording.*) asks for them. Empty: no call is recorded.
	RecordingsDir string

	// SpoolPath is the file that keeps the call history and recording
	// writes held while the store does not answer (see package spool).
	// Empty: they are held in memory only.
	SpoolPath string
}

// GuardConfig sets the brute-force and scanner defence (guard.Config).
type GuardConfig = guard.Config

// DefaultMD5OnlyAgents: baresip 1.x (libre 1.x, Debian 12) fails any
// challenge list holding SHA-256 with "Function not implemented"; SIPp
// answers the first challenge only and knows MD5 alone.
var DefaultMD5OnlyAgents = []string{"baresip", "sipp"}

// DefaultScannerAgents are the User-Agents of the common SIP scanners.
var DefaultScannerAgents = guard.DefaultScannerAgents

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&c.MinExpires, 60*time.Second)
	def(&c.MaxExpires, time.Hour)
	def(&c.DefaultExpires, 10*time.Minute)
	def(&c.NonceTTL, 5*time.Minute)
	def(&c.TCPIdleTimeout, c.MaxExpires+time.Minute)
	def(&c.FollowInterval, time.Second)
	def(&c.StoreTimeout, 2*time.Second)
	if c.MaxBindings == 0 {
		c.MaxBindings = 10
	}
	if c.MaxMessageSize == 0 {
		c.MaxMessageSize = 16 << 10
	}
	if c.MaxTCPPerSource == 0 {
		c.MaxTCPPerSource = 256
	}
	def(&c.TCPMessageTimeout, 10*time.Second)
	def(&c.TCPUnregisteredIdle, 30*time.Second)
	if c.MaxTCP == 0 {
		c.MaxTCP = max(64, fileLimit()/2)
	}
	if c.UserAgent == "" {
		c.UserAgent = "Switchboard"
	}
	if c.MD5OnlyAgents == nil {
		c.MD5OnlyAgents = DefaultMD5OnlyAgents
	}
	if c.Node == "" {
		c.Node, _ = os.Hostname()
		if c.Node == "" {
			c.Node = "switchboard"
		}
	}
	c.Guard = c.Guard.WithDefaults()
	return c
}

// Validate checks the configuration, zero values standing for their
// defaults, and names the field of every mistake.
func (c Config) Validate() error {
	c = c.withDefaults()
	var errs []error
	bad := func(field string, v any, rule string) {
		errs = append(errs, fmt.Errorf("%s %v: %s", field, v, rule))
	}
	if c.Addr == "" {
		errs = append(errs, errors.New("Addr: must be host:port"))
	} else if _, port, err := net.SplitHostPort(c.Addr); err != nil {
		bad("Addr", strconv.Quote(c.Addr), "must be host:port")
	} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		bad("Addr", strconv.Quote(c.Addr), "port must be a number up to 65535")
	}
	if c.Domain != "" {
		if err := directory.ValidateSetting(directory.SettingDomain, c.Domain); err != nil {
			bad("Domain", strconv.Quote(c.Domain), "must be a host name such as pbx.example.com")
		}
	}
	if strings.ContainsAny(c.Node, " \t\r\n") || len(c.Node) > 100 {
		bad("Node", strconv.Quote(c.Node), "must be one word of at most 100 characters")
	}
	positive := func(field string, d time.Duration) {
		if d < time.Second {
			bad(field, d, "must be at least 1s")
		}
	}
	positive("MinExpires", c.MinExpires)
	positive("MaxExpires", c.MaxExpires)
	positive("DefaultExpires", c.DefaultExpires)
	positive("NonceTTL", c.NonceTTL)
	positive("TCPIdleTimeout", c.TCPIdleTimeout)
	if c.MinExpires > c.MaxExpires {
		bad("MinExpires", c.MinExpires, "must not exceed MaxExpires "+c.MaxExpires.String())
	}
	if c.DefaultExpires < c.MinExpires || c.DefaultExpires > c.MaxExpires {
		bad("DefaultExpires", c.DefaultExpires, "must be between MinExpires and MaxExpires")
	}
	if c.FollowInterval < 10*time.Millisecond {
		bad("FollowInterval", c.FollowInterval, "must be at least 10ms")
	}
	if c.StoreTimeout < 10*time.Millisecond {
		bad("StoreTimeout", c.StoreTimeout, "must be at least 10ms")
	}
	if c.MaxBindings < 1 || c.MaxBindings > 100 {
		bad("MaxBindings", c.MaxBindings, "must be 1 to 100")
	}
	if c.MaxTCPPerSource < 0 {
		bad("MaxTCPPerSource", c.MaxTCPPerSource, "must not be negative")
	}
	if c.TCPMessageTimeout < 10*time.Millisecond {
		bad("TCPMessageTimeout", c.TCPMessageTimeout, "must be at least 10ms")
	}
	if c.TCPUnregisteredIdle < 10*time.Millisecond {
		bad("TCPUnregisteredIdle", c.TCPUnregisteredIdle, "must be at least 10ms")
	}
	if c.MaxTCP < 1 {
		bad("MaxTCP", c.MaxTCP, "must be at least 1")
	}
	if c.MaxMessageSize < 1024 || c.MaxMessageSize > 65535 {
		bad("MaxMessageSize", c.MaxMessageSize, "must be 1024 to 65535 bytes")
	}
	if strings.ContainsAny(c.UserAgent, "\r\n") {
		bad("UserAgent", strconv.Quote(c.UserAgent), "must be a single line")
	}
	for _, a := range c.MD5OnlyAgents {
		if strings.TrimSpace(a) == "" {
			bad("MD5OnlyAgents", strconv.Quote(a), "must not hold empty entries")
		}
	}
	if _, err := digest.ParseAlgorithms(c.DigestAlgorithms); err != nil {
		bad("DigestAlgorithms", c.DigestAlgorithms, err.Error())
	}
	g := c.Guard
	if g.MaxFailures < 1 {
		bad("Guard.MaxFailures", g.MaxFailures, "must be at least 1")
	}
	if g.MaxExtFailures < 1 {
		bad("Guard.MaxExtFailures", g.MaxExtFailures, "must be at least 1")
	}
	positive("Guard.Window", g.Window)
	positive("Guard.BanTime", g.BanTime)
	if g.MaxTracked < 100 {
		bad("Guard.MaxTracked", g.MaxTracked, "must be at least 100")
	}
	if g.ExtBudget < 1 {
		bad("Guard.ExtBudget", g.ExtBudget, "must be at least 1")
	}
	positive("Guard.ExtBudgetWindow", g.ExtBudgetWindow)
	if g.FloodRequests < 1 {
		bad("Guard.FloodRequests", g.FloodRequests, "must be at least 1")
	}
	if g.FloodWindow < 10*time.Millisecond {
		bad("Guard.FloodWindow", g.FloodWindow, "must be at least 10ms")
	}
	positive("Guard.FloodBanTime", g.FloodBanTime)
	for _, a := range g.ScannerAgents {
		if strings.TrimSpace(a) == "" {
			bad("Guard.ScannerAgents", strconv.Quote(a), "must not hold empty entries")
		}
	}
	if _, err := guard.ParseNets(g.Exempt); err != nil {
		errs = append(errs, fmt.Errorf("Guard.Exempt: %w", err))
	}
	if err := c.Calls.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("Calls: %w", err))
	}
	return errors.Join(errs...)
}
