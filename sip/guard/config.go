package guard

import (
	"fmt"
	"net/netip"
	"strings"
	"time"
)

// Config sets the brute-force and scanner defence. Its zero values stand
// for the defaults WithDefaults sets.
type Config struct {
	// MaxFailures failed authentications from one source IP within Window
	// ban that source for BanTime, unless it holds a current registration
	// (an office behind one public IP): then only the failing extension is
	// locked for it. Defaults 20, 10m and 1h. Phones retry a refused
	// password by themselves (baresip 16 times), so one mistyped password
	// must stay under MaxFailures.
	MaxFailures int
	Window      time.Duration
	BanTime     time.Duration
	// MaxExtFailures failures on one extension within Window, from any
	// sources, put it under attack: from then on every source failing on
	// it is locked out of it for BanTime. Default 40.
	MaxExtFailures int
	// ScannerAgents are User-Agent substrings (case-insensitive) whose
	// requests are dropped unanswered. Default DefaultScannerAgents; set
	// to an empty non-nil slice to drop none.
	ScannerAgents []string
	// Exempt lists CIDR networks never banned or locked (monitoring, the
	// operators' own network). Failures from them are still counted and
	// answered 401.
	Exempt []string
	// MaxTracked bounds the counters kept in memory. Default 100000.
	MaxTracked int
	// ExtBudget failed verifications of one extension within
	// ExtBudgetWindow, counted over all sources, spend its budget: until
	// the window ends only sources holding a current registration of it
	// are verified. Defaults 100 (ASVS: no more than 100 an hour) and 1h.
	ExtBudget       int
	ExtBudgetWindow time.Duration
	// FloodRequests requests from one source within FloodWindow are
	// handled; more are dropped unanswered, and a source over the limit
	// in two windows in a row is banned for FloodBanTime. Exempt networks
	// are not limited. Defaults 200, 1s and 10m.
	FloodRequests int
	FloodWindow   time.Duration
	FloodBanTime  time.Duration
}

// DefaultScannerAgents are the User-Agents of the common SIP scanners.
var DefaultScannerAgents = []string{
	"friendly-scanner", "sipvicious", "sipcli", "sip-scan", "sipscan", "sundayddr",
	"iwar", "vaxsipuseragent", "pplsip", "smap", "sipbomber", "siparmyknife",
}

// WithDefaults returns c with its zero values set to their defaults.
func (c Config) WithDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if c.MaxFailures == 0 {
		c.MaxFailures = 20
	}
	def(&c.Window, 10*time.Minute)
	def(&c.BanTime, time.Hour)
	if c.MaxExtFailures == 0 {
		c.MaxExtFailures = 40
	}
	if c.ScannerAgents == nil {
		c.ScannerAgents = DefaultScannerAgents
	}
	if c.MaxTracked == 0 {
		c.MaxTracked = 100000
	}
	if c.ExtBudget == 0 {
		c.ExtBudget = 100
	}
	def(&c.ExtBudgetWindow, time.Hour)
	if c.FloodRequests == 0 {
		c.FloodRequests = 200
	}
	def(&c.FloodWindow, time.Second)
	def(&c.FloodBanTime, 10*time.Minute)
	return c
}

// ParseNets parses CIDR networks; a bare address is a network of one.
func ParseNets(nets []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range nets {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, fmt.Errorf("%q is not a CIDR network such as 192.168.1.0/24", s)
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		out = append(out, p.Masked())
	}
	return out, nil
}
