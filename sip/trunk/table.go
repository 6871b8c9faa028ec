package trunk

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
)

// Config is what a Table is built from.
type Config struct {
	// Trunks and DIDs are the configured ones, in force until the
	// settings are loaded and merged under them.
	Trunks []Trunk
	DIDs   map[string]string
	// UserAgent is sent in the REGISTERs to carriers.
	UserAgent string
	// Settings holds the trunks and dids settings (directory.Store).
	Settings Settings
	Log      *slog.Logger
	// Client sends the REGISTERs to carriers.
	Client *sipgo.Client
	// Contact returns the Contact the PBX gives a peer at dest.
	Contact func(dest, transport string) sip.ContactHeader
	// Resolve returns the addresses of a trunk's host; none when it does
	// not resolve.
	Resolve func(host string) []netip.Addr
}

// Settings reads a setting of the directory.
type Settings interface {
	Setting(ctx context.Context, key string) (string, error)
}

// Table holds the trunks and DIDs in force (the configured ones merged
// with the settings) and the registrations to their carriers, which it
// sends through the Config's client.
type Table struct {
	// RetryMin and RetryMax bound the back-off after a failed
	// registration, Expires is the registration time asked for in
	// seconds, and After waits (a timer by default). Set them before
	// Start; zero values take the defaults.
	RetryMin, RetryMax time.Duration
	Expires            int
	After              func(time.Duration) <-chan time.Time

	cfg Config

	table atomic.Pointer[table]
	wake  chan struct{} // a new table: registrations follow it

	mu     sync.Mutex
	status map[string]Registration
	cancel context.CancelFunc // of the registrations, nil when stopped
	done   chan struct{}
}

// New returns a Table with the configured trunks in force until Load.
func New(cfg Config) *Table {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	k := &Table{cfg: cfg, wake: make(chan struct{}, 1)}
	k.setTable(newTable(cfg.Trunks, cfg.DIDs, nil, nil, cfg.Resolve))
	return k
}

// table is the trunks and DIDs in force: the configured ones merged with
// the trunks and dids settings of the directory, which win (a setting
// trunk replaces the configured one of the same name). A table is never
// changed once stored; a new one replaces it whole.
type table struct {
	trunks []*Trunk // in order of priority (Outbound)
	byIP   map[netip.Addr]*Trunk
	dids   map[string]string
	// unresolved names the trunks whose host has no address.
	unresolved []string
}

// newTable merges the configured trunks and DIDs with those of the
// settings and resolves the trunks' hosts (requests from those addresses
// are the carrier's).
func newTable(static []Trunk, staticDIDs map[string]string, set []directory.TrunkSetting, setDIDs map[string]string,
	resolve func(string) []netip.Addr) *table {
	tt := &table{byIP: make(map[netip.Addr]*Trunk), dids: make(map[string]string, len(staticDIDs)+len(setDIDs))}
	named := make(map[string]bool, len(set))
	for _, ts := range set {
		named[ts.Name] = true
		tt.trunks = append(tt.trunks, &Trunk{Name: ts.Name, Host: ts.Host, Port: ts.Port, Transport: ts.Transport,
			Username: ts.Username, Password: ts.Password, Register: ts.Register, CallerID: ts.CallerID,
			Prefixes: slices.Clone(ts.Prefixes), FromUser: ts.FromUser, PAI: ts.PAI, Privacy: ts.Privacy,
			Diversion: ts.Diversion})
	}
	for i := range static {
		if t := static[i]; t.Name == "" || !named[t.Name] {
			tt.trunks = append(tt.trunks, &t)
		}
	}
	for _, t := range tt.trunks {
		var ips []netip.Addr
		if resolve != nil {
			ips = resolve(t.Host)
		}
		if len(ips) == 0 {
			tt.unresolved = append(tt.unresolved, t.Name)
		}
		for _, ip := range ips {
			if tt.byIP[ip] == nil {
				tt.byIP[ip] = t
			}
		}
	}
	maps.Copy(tt.dids, staticDIDs)
	maps.Copy(tt.dids, setDIDs)
	return tt
}

// sameTrunks reports whether two tables hold the same trunks, in order.
func (tt *table) sameTrunks(o *table) bool {
	return o != nil && slices.EqualFunc(tt.trunks, o.trunks, same)
}

// current returns the trunks and DIDs in force.
func (k *Table) current() *table {
	if tt := k.table.Load(); tt != nil {
		return tt
	}
	return &table{}
}

// From returns the trunk whose host has address ip, or nil.
func (k *Table) From(ip netip.Addr) *Trunk { return k.current().byIP[ip.Unmap()] }

// First returns the trunk of the highest priority, or nil.
func (k *Table) First() *Trunk {
	if ts := k.current().trunks; len(ts) > 0 {
		return ts[0]
	}
	return nil
}

// Outbound returns the trunks that serve the E.164 number num, in the
// order a call tries them: those with a matching prefix, the longest
// match first, then those without prefixes; trunks that rank equal keep
// the order of the table.
func (k *Table) Outbound(num string) []*Trunk { return k.current().outbound(num) }

func (tt *table) outbound(num string) []*Trunk {
	type cand struct {
		t     *Trunk
		match int // length of the longest matching prefix; 0: no prefixes
	}
	var cs []cand
	for _, t := range tt.trunks {
		if len(t.Prefixes) == 0 {
			cs = append(cs, cand{t, 0})
			continue
		}
		best := -1
		for _, p := range t.Prefixes {
			if strings.HasPrefix(num, p) && len(p) > best {
				best = len(p)
			}
		}
		if best > 0 {
			cs = append(cs, cand{t, best})
		}
	}
	slices.SortStableFunc(cs, func(a, b cand) int { return b.match - a.match })
	out := make([]*Trunk, len(cs))
	for i, c := range cs {
		out[i] = c.t
	}
	return out
}

// DID returns the extension a number dialed from a trunk is mapped to, as
// dialed.
func (k *Table) DID(number string) (string, bool) {
	ext, ok := k.current().dids[number]
	return ext, ok
}

// Trunks returns the trunks in force, configured and from settings, with
// their passwords.
func (k *Table) Trunks() []Trunk {
	var out []Trunk
	for _, t := range k.current().trunks {
		out = append(out, *t)
	}
	return out
}

// Load reads the trunks and dids settings and puts them in force, merged
// with the configured ones. A stored value that no longer parses (it was
// validated when written) is logged and ignored.
func (k *Table) Load(ctx context.Context) error {
	tv, err := k.cfg.Settings.Setting(ctx, directory.SettingTrunks)
	if err != nil {
		return fmt.Errorf("setting %s: %w", directory.SettingTrunks, err)
	}
	dv, err := k.cfg.Settings.Setting(ctx, directory.SettingDIDs)
	if err != nil {
		return fmt.Errorf("setting %s: %w", directory.SettingDIDs, err)
	}
	set, err := directory.ParseTrunks(tv)
	if err != nil {
		k.cfg.Log.Error("trunks setting ignored", "err", err)
		set = nil
	}
	dids, err := directory.ParseDIDs(dv)
	if err != nil {
		k.cfg.Log.Error("dids setting ignored", "err", err)
		dids = nil
	}
	k.setTable(newTable(k.cfg.Trunks, k.cfg.DIDs, set, dids, k.cfg.Resolve))
	return nil
}

func (k *Table) setTable(tt *table) {
	old := k.table.Swap(tt)
	if tt.sameTrunks(old) {
		return
	}
	for _, name := range tt.unresolved {
		k.cfg.Log.Warn("trunk host does not resolve", "trunk", name)
	}
	k.cfg.Log.Info("trunks", "trunks", len(tt.trunks), "dids", len(tt.dids))
	k.changed()
}
