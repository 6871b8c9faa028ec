package sip

import (
	"context"
	"fmt"
	"maps"
	"net/netip"
	"slices"
	"strings"

	"github.com/switchboard-pbx/switchboard/directory"
)

// trunkTable is the trunks and DIDs in force: those of CallConfig merged
// with the trunks and dids settings of the directory, which win (a setting
// trunk replaces the configured one of the same name). A table is never
// changed once stored; a new one replaces it whole.
type trunkTable struct {
	trunks []*Trunk // in order of priority (outboundTrunks)
	byIP   map[netip.Addr]*Trunk
	dids   map[string]string
	// unresolved names the trunks whose host has no address.
	unresolved []string
}

// newTrunkTable merges the configured trunks and DIDs with those of the
// settings and resolves the trunks' hosts (requests from those addresses
// are the carrier's).
func newTrunkTable(static []Trunk, staticDIDs map[string]string, set []directory.TrunkSetting, setDIDs map[string]string) *trunkTable {
	tt := &trunkTable{byIP: make(map[netip.Addr]*Trunk), dids: make(map[string]string, len(staticDIDs)+len(setDIDs))}
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
		ips := lookupHost(t.Host)
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
func (tt *trunkTable) sameTrunks(o *trunkTable) bool {
	return o != nil && slices.EqualFunc(tt.trunks, o.trunks, sameTrunk)
}

// sameTrunk compares every field of two trunks (a Trunk holds a slice, so
// == does not compile).
func sameTrunk(a, b *Trunk) bool {
	return a.Name == b.Name && a.Host == b.Host && a.Port == b.Port && a.Transport == b.Transport &&
		a.Username == b.Username && a.Password == b.Password && a.Register == b.Register &&
		a.CallerID == b.CallerID && slices.Equal(a.Prefixes, b.Prefixes) && a.FromUser == b.FromUser &&
		a.PAI == b.PAI && a.Privacy == b.Privacy && a.Diversion == b.Diversion
}

// current returns the trunks and DIDs in force.
func (k *trunkState) current() *trunkTable {
	if tt := k.table.Load(); tt != nil {
		return tt
	}
	return &trunkTable{}
}

// trunkFrom returns the trunk whose host has address ip, or nil.
func (s *Server) trunkFrom(ip netip.Addr) *Trunk { return s.tk.current().byIP[ip.Unmap()] }

// outboundTrunk returns the trunk outbound calls take, or nil.
func (k *trunkState) outboundTrunk() *Trunk {
	if ts := k.current().trunks; len(ts) > 0 {
		return ts[0]
	}
	return nil
}

// outboundTrunks returns the trunks that serve the E.164 number num, in
// the order a call tries them: those with a matching prefix, the longest
// match first, then those without prefixes; trunks that rank equal keep
// the order of the table.
func (s *Server) outboundTrunks(num string) []*Trunk { return s.tk.current().outbound(num) }

func (tt *trunkTable) outbound(num string) []*Trunk {
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

// didTarget returns the extension a number dialed from a trunk is mapped
// to, as dialed.
func (s *Server) didTarget(number string) (string, bool) {
	ext, ok := s.tk.current().dids[number]
	return ext, ok
}

// trunks returns the trunks in force, configured and from settings, with
// their passwords.
func (k *trunkState) trunks() []Trunk {
	var out []Trunk
	for _, t := range k.current().trunks {
		out = append(out, *t)
	}
	return out
}

// setStatic puts the configured trunks in force until the settings
// are loaded.
func (k *trunkState) setStatic() {
	k.setTable(newTrunkTable(k.cfg.Calls.Trunks, k.cfg.Calls.DIDs, nil, nil))
}

// load reads the trunks and dids settings and puts them in force,
// merged with the configured ones. A stored value that no longer parses
// (it was validated when written) is logged and ignored.
func (k *trunkState) load(ctx context.Context) error {
	tv, err := k.store.Setting(ctx, directory.SettingTrunks)
	if err != nil {
		return fmt.Errorf("setting %s: %w", directory.SettingTrunks, err)
	}
	dv, err := k.store.Setting(ctx, directory.SettingDIDs)
	if err != nil {
		return fmt.Errorf("setting %s: %w", directory.SettingDIDs, err)
	}
	set, err := directory.ParseTrunks(tv)
	if err != nil {
		k.log.Error("trunks setting ignored", "err", err)
		set = nil
	}
	dids, err := directory.ParseDIDs(dv)
	if err != nil {
		k.log.Error("dids setting ignored", "err", err)
		dids = nil
	}
	k.setTable(newTrunkTable(k.cfg.Calls.Trunks, k.cfg.Calls.DIDs, set, dids))
	return nil
}

func (k *trunkState) setTable(tt *trunkTable) {
	old := k.table.Swap(tt)
	if tt.sameTrunks(old) {
		return
	}
	for _, name := range tt.unresolved {
		k.log.Warn("trunk host does not resolve", "trunk", name)
	}
	k.log.Info("trunks", "trunks", len(tt.trunks), "dids", len(tt.dids))
	k.changed()
}
