package main

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/dirstore"
)

// Config is everything `switchboard` is told through flags and their
// SWITCHBOARD_* environment twins. Values are passed down to constructors.
type Config struct {
	Data    string // directory for the SQLite file and recordings
	DB      string // "" or "sqlite:PATH" for SQLite in Data, or postgres://…
	SIPAddr string
	SIPTCP  sipTCP // --sip-tcp-*: connection hygiene
	// SIPTLSAddr is the SIP over TLS listener: "" for the host of SIPAddr
	// on port 5061 (a free port when SIPAddr's is 0), "off" for none.
	SIPTLSAddr      string
	TLSCert, TLSKey string // PEM files; none: a self-signed pair in Data/tls
	Domain          string // SIP domain (digest realm); "" keeps the stored setting
	WebAddr         string
	RTPPorts        string
	RTPLow          int
	RTPHigh         int
	Node            string

	// Media timeouts and the port quarantine as given ("60s", "0" for
	// off), and as Validate parses them for sip.CallConfig: negative is
	// off, zero (nothing given) the default.
	MediaTimeoutArg, MediaHoldTimeoutArg, RTPQuarantineArg string
	MediaTimeout, MediaHoldTimeout, RTPQuarantine          time.Duration

	LogLevel string
	BaseURL  string // how people reach the web UI; used in the setup link

	MetricsAddr string // Prometheus /metrics listener; "" means none
	PprofAddr   string // net/http/pprof listener, loopback only; "" means none
	PublicAddr  string // the node's address as seen from the internet (1:1 NAT); "" means none

	RecordingsDir string // call recordings; "" means Data/recordings

	// SIPUDPTransactions is who serves the INVITE transactions over UDP,
	// and the client transactions of what the server sends over UDP: "own"
	// (the server's, wire.InviteTx and wire.Clients; "" too) or "sipgo", a
	// fallback.
	SIPUDPTransactions string

	// SIPOptions are the values of the sipOptions flags, in their order;
	// "" takes the stored setting, then the default.
	SIPOptions          []string
	WebStoreTimeoutText string        // --web-store-timeout as given
	GCPercentText       string        // --gc-percent as given; "": 200 unless GOGC is set
	GCPercent           int           // the collector's target in force; 0: leave the runtime's (GOGC)
	ProcsText           string        // --procs as given; "" or "auto": autoProcs unless GOMAXPROCS is set
	Procs               int           // processors for Go code in force (GOMAXPROCS); 0: leave the runtime's
	WebStoreTimeout     time.Duration // bound of the store calls of one web or API request

	SMTP smtpFlags // --smtp-*: this node's mail server, over the stored settings
}

// envName is the environment twin of a flag: --sip-addr ↔ SWITCHBOARD_SIP_ADDR.
func envName(flagName string) string {
	return "SWITCHBOARD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

// flagSet builds a FlagSet whose string flags take their defaults from the
// environment, so that a flag given on the command line wins over its twin.
type flagSet struct {
	*flag.FlagSet
	getenv func(string) string
}

func newFlagSet(name string, getenv func(string) string) *flagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	return &flagSet{FlagSet: fs, getenv: getenv}
}

func (f *flagSet) str(p *string, name, def, usage string) {
	if v := f.getenv(envName(name)); v != "" {
		def = v
	}
	f.StringVar(p, name, def, usage+" ("+envName(name)+")")
}

// storeFlags adds --data and --db, which every subcommand takes.
func (f *flagSet) storeFlags(c *Config) {
	f.str(&c.Data, "data", "./data", "directory for the embedded database and recordings")
	f.str(&c.DB, "db", "", "database: empty for SQLite in --data, or postgres://user@host:5432/db")
	f.str(&c.LogLevel, "log-level", "info", "log level: debug, info, warn, error")
}

// serveFlags adds the listener and identity flags of `serve`.
func (f *flagSet) serveFlags(c *Config) {
	host, _ := os.Hostname()
	f.str(&c.SIPAddr, "sip-addr", "0.0.0.0:5060", "SIP listen address, UDP and TCP")
	f.sipTCPFlags(&c.SIPTCP)
	f.str(&c.SIPTLSAddr, "sip-tls-addr", "", "SIP over TLS listen address; off: none (default: the --sip-addr host, port 5061)")
	f.str(&c.TLSCert, "tls-cert", "", "PEM certificate (chain) of the SIP TLS listener, reloaded when it changes (default: a self-signed one made in DATA/tls)")
	f.str(&c.TLSKey, "tls-key", "", "PEM private key of --tls-cert, reloaded when it changes")
	f.str(&c.Domain, "domain", "", "SIP domain and digest realm (default: the stored setting sip.domain)")
	f.str(&c.WebAddr, "web-addr", "0.0.0.0:8080", "web UI and API listen address")
	f.str(&c.RTPPorts, "rtp-ports", "20000-30000", "RTP port range LO-HI")
	f.str(&c.MediaTimeoutArg, "media-timeout", "60s", "end a call when one side sends no RTP for this long; 0: never")
	f.str(&c.MediaHoldTimeoutArg, "media-hold-timeout", "1h", "the same for a side on hold (sendonly, inactive); 0: never")
	f.str(&c.RTPQuarantineArg, "rtp-quarantine", "10s", "keep a port pair freed by a call unused this long; 0: none")
	f.str(&c.RecordingsDir, "recordings-dir", "", "directory for call recordings (default: DATA/recordings)")
	f.str(&c.Node, "node", host, "name of this node in call records and registrations")
	f.str(&c.MetricsAddr, "metrics-addr", "", "Prometheus metrics listen address, e.g. 127.0.0.1:9360 (default: none)")
	f.str(&c.PprofAddr, "pprof-addr", "", "Go profiler (net/http/pprof) listen address on loopback, e.g. 127.0.0.1:6060 (default: none)")
	f.str(&c.BaseURL, "base-url", "", "URL people use to reach the web UI (default: http://<web-addr>)")
	f.str(&c.SIPUDPTransactions, "sip-udp-transactions", "own",
		"who serves INVITE transactions over UDP and the requests the server sends over UDP: own, or sipgo (the SIP library's, slower: a fallback)")
	f.str(&c.PublicAddr, "public-addr", "", "this node's public IP behind 1:1 NAT, written in Via, Contact and SDP toward peers outside its networks (default: none)")
	f.guardFlags(c)
	f.smtpFlags(&c.SMTP)
	f.str(&c.GCPercentText, "gc-percent", "",
		"heap growth, in percent of the live heap, before Go's garbage collector runs again: more memory for less CPU (default: 200, or GOGC when set)")
	f.str(&c.ProcsText, "procs", "auto",
		"processors the server's Go code runs on, besides one per busy relay poller: a number, or auto (all the CPUs it may use but one, at least 1; GOMAXPROCS when set)")
	f.str(&c.WebStoreTimeoutText, "web-store-timeout", "5s",
		"deadline of the database calls made while answering one web or API request; past it the answer is 503")
}

// defaultGCPercent is the collector's target of `serve`. Go's own is 100;
// at 200 a node answering 6,000 REGISTER/s spends some 5% less CPU on them
// for a heap twice its live size, which a PBX (whose live heap is its
// caches and bindings, well under a gigabyte) can spare.
const defaultGCPercent = 200

// autoProcs is the processors (GOMAXPROCS) of `serve` for Go code on a
// machine where Go would use cpus: all but one, at least one. The relay's
// pollers add one each for their own thread when they start relaying
// (media's reserveProc), so that while calls flow Go uses every CPU. What
// the spare processor cost: each idle one is a thread that the runtime
// wakes to look for work whenever a goroutine becomes runnable (a SIP
// message read, a call's event, a timer), and that finds little and
// sleeps again, two context switches or more each time. Measured on a
// 2-CPU machine, Go's own choice (2, and 3 with the relay's) against this
// (1, and 2), alternated runs on one binary (--procs 2 against auto):
// 200 calls a second with 2 s of relayed media (bench/sb-calls.sh cps
// 200), 2,410-3,400 against 2,105-2,750 us of the server's CPU a call in
// 5 runs each (medians 2,610 and 2,365), 65,000-70,000 against 38,000-42,000
// context switches; authenticated REGISTER at 2,000 / 4,000 / 6,000 a
// second (bench/sb-reg.sh), two runs each, 132-136 / 63 / 61-69 against
// 97-100 / 55-56 / 55-72 us. What it costs: a goroutine that holds the one
// processor (a batch of call rows written to SQLite, the collector's
// marking) delays the SIP messages behind it: setup p99 at 200 calls a
// second 12-16 against 8-16 ms in those runs. --procs raises it.
func autoProcs(cpus int) int { return max(1, cpus-1) }

// Validate reports every mistake at once, each naming its flag and variable.
func (c *Config) Validate(serve bool) error {
	var errs []error
	field := func(name, msg string) {
		errs = append(errs, fmt.Errorf("--%s (%s): %s", name, envName(name), msg))
	}
	if c.Data == "" {
		field("data", "must not be empty")
	}
	if !dirstore.Valid(c.DB) {
		field("db", "must be postgres://… or sqlite:PATH")
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		field("log-level", err.Error())
	}
	if !serve {
		return errors.Join(errs...)
	}
	if err := checkHostPort(c.SIPAddr); err != nil {
		field("sip-addr", err.Error())
	}
	c.SIPTCP.validate(field)
	c.SMTP.validate(field)
	if t := c.SIPUDPTransactions; t != "" && t != "own" && t != "sipgo" {
		field("sip-udp-transactions", fmt.Sprintf("%q: must be own or sipgo", c.SIPUDPTransactions))
	}
	if c.SIPTLSAddr != "" && c.SIPTLSAddr != "off" {
		if err := checkHostPort(c.SIPTLSAddr); err != nil {
			field("sip-tls-addr", err.Error()+`, or "off"`)
		}
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		field("tls-cert", "--tls-cert and --tls-key (SWITCHBOARD_TLS_KEY) go together")
	}
	if err := checkHostPort(c.WebAddr); err != nil {
		field("web-addr", err.Error())
	}
	if lo, hi, err := parsePortRange(c.RTPPorts); err != nil {
		field("rtp-ports", err.Error())
	} else {
		c.RTPLow, c.RTPHigh = lo, hi
	}
	for _, d := range []struct {
		name string
		arg  string
		to   *time.Duration
	}{
		{"media-timeout", c.MediaTimeoutArg, &c.MediaTimeout},
		{"media-hold-timeout", c.MediaHoldTimeoutArg, &c.MediaHoldTimeout},
		{"rtp-quarantine", c.RTPQuarantineArg, &c.RTPQuarantine},
	} {
		if d.arg == "" {
			continue
		}
		v, err := time.ParseDuration(d.arg)
		switch {
		case err != nil:
			field(d.name, fmt.Sprintf("%q: must be a duration such as 90s or 5m, or 0", d.arg))
		case v < 0 || (v > 0 && v < time.Second):
			field(d.name, fmt.Sprintf("%q: must be 0 or at least 1s", d.arg))
		case v == 0:
			*d.to = -1
		default:
			*d.to = v
		}
	}
	if c.Domain != "" && strings.ContainsAny(c.Domain, " \t:;@<>\"/") {
		field("domain", "must be a host name such as pbx.example.com")
	}
	if c.MetricsAddr != "" {
		if err := checkHostPort(c.MetricsAddr); err != nil {
			field("metrics-addr", err.Error())
		}
	}
	if c.PprofAddr != "" {
		if err := checkLoopback(c.PprofAddr); err != nil {
			field("pprof-addr", err.Error())
		}
	}
	if c.Node == "" {
		field("node", "must not be empty")
	}
	if c.RecordingsDir == "" && c.Data != "" {
		c.RecordingsDir = filepath.Join(c.Data, "recordings")
	}
	if c.WebStoreTimeoutText == "" {
		c.WebStoreTimeoutText = "5s"
	}
	if d, err := time.ParseDuration(c.WebStoreTimeoutText); err != nil || d < 100*time.Millisecond || d > 5*time.Minute {
		field("web-store-timeout", fmt.Sprintf("%q: must be a duration from 100ms to 5m, like 5s", c.WebStoreTimeoutText))
	} else {
		c.WebStoreTimeout = d
	}
	switch n, err := strconv.Atoi(c.GCPercentText); {
	case c.GCPercentText == "" && os.Getenv("GOGC") != "":
	case c.GCPercentText == "":
		c.GCPercent = defaultGCPercent
	case err != nil || n < 50 || n > 1000:
		field("gc-percent", fmt.Sprintf("%q: must be a number from 50 to 1000, like 200", c.GCPercentText))
	default:
		c.GCPercent = n
	}
	switch n, err := strconv.Atoi(c.ProcsText); {
	case (c.ProcsText == "" || c.ProcsText == "auto") && os.Getenv("GOMAXPROCS") != "":
	case c.ProcsText == "" || c.ProcsText == "auto":
		c.Procs = autoProcs(runtime.GOMAXPROCS(0))
	case err != nil || n < 1 || n > 1024:
		field("procs", fmt.Sprintf("%q: must be auto or a number from 1 to 1024, like 2", c.ProcsText))
	default:
		c.Procs = n
	}
	if c.BaseURL != "" && !strings.HasPrefix(c.BaseURL, "http://") && !strings.HasPrefix(c.BaseURL, "https://") {
		field("base-url", "must start with http:// or https://")
	}
	if c.PublicAddr != "" {
		if a, err := netip.ParseAddr(c.PublicAddr); err != nil || a.IsUnspecified() || a.Zone() != "" {
			field("public-addr", fmt.Sprintf("%q: must be an IP address such as 198.51.100.7", c.PublicAddr))
		}
	}
	c.validateSIPOptions(field)
	return errors.Join(errs...)
}

func checkHostPort(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("%q: must be HOST:PORT", addr)
	}
	if host != "" && net.ParseIP(host) == nil && host != "localhost" {
		return fmt.Errorf("%q: host must be an IP address or localhost", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("%q: port must be 0 to 65535", addr)
	}
	return nil
}

// checkLoopback is checkHostPort for a listener that must not be reached
// from another machine: its host must be a loopback address or localhost.
func checkLoopback(addr string) error {
	if err := checkHostPort(addr); err != nil {
		return err
	}
	host, _, _ := net.SplitHostPort(addr)
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("%q: host must be a loopback address such as 127.0.0.1", addr)
	}
	return nil
}

func parsePortRange(s string) (lo, hi int, err error) {
	a, b, ok := strings.Cut(s, "-")
	lo, err1 := strconv.Atoi(a)
	hi, err2 := strconv.Atoi(b)
	switch {
	case !ok || err1 != nil || err2 != nil:
		return 0, 0, fmt.Errorf("%q: must be LO-HI, like 20000-30000", s)
	case lo < 1024 || hi > 65535:
		return 0, 0, fmt.Errorf("%q: ports must be between 1024 and 65535", s)
	case lo%2 != 0:
		return 0, 0, fmt.Errorf("%q: the low port must be even (RTP on even, RTCP on odd ports)", s)
	case hi-lo < 3:
		return 0, 0, fmt.Errorf("%d-%d: low must be below high with room for two RTP/RTCP pairs", lo, hi)
	}
	return lo, hi, nil
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return l, fmt.Errorf("%q: must be debug, info, warn or error", s)
	}
	return l, nil
}

// tlsAddr returns the address of the SIP TLS listener, "" for none.
func (c *Config) tlsAddr() string {
	switch c.SIPTLSAddr {
	case "off":
		return ""
	case "":
		host, port, err := net.SplitHostPort(c.SIPAddr)
		if err != nil {
			return ""
		}
		if port == "0" {
			return net.JoinHostPort(host, "0")
		}
		return net.JoinHostPort(host, "5061")
	}
	return c.SIPTLSAddr
}
