package creds

import (
	"net/netip"
	"strings"
	"sync/atomic"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/digest"
)

// Credential is what the registrar knows about one extension: its digest
// hashes and SIP rules. Values are never changed once built; an update
// replaces the pointer.
type Credential struct {
	UserID     int64
	Ext        string
	State      directory.UserState
	Realm      string // the realm the HA1 values were made for
	HA1MD5     string // hex
	HA1SHA256  string // hex
	MaxDevices int
	// Nets, when Restricted, are the only networks the extension may
	// register from (an unparsable stored entry allows nothing).
	Nets       []netip.Prefix
	Restricted bool
	// Forward is the user's call forwarding and DND.
	Forward directory.Forwarding

	warnedRealm atomic.Bool // a realm mismatch is logged once per entry
	// checked is the version of the directory's users at which the
	// directory last confirmed this entry (MarkChecked); 0: never.
	checked atomic.Uint64
}

func newCredential(u *directory.User) *Credential {
	c := &Credential{UserID: u.ID, Ext: u.Extension, State: u.State, Realm: u.SIP.Realm,
		HA1MD5: u.SIP.HA1MD5, HA1SHA256: u.SIP.HA1SHA256, MaxDevices: u.SIPMaxDevices, Forward: u.Forward}
	for _, s := range u.SIPAllowedNets {
		if s == "" {
			continue
		}
		c.Restricted = true
		if p, ok := parseNet(s); ok {
			c.Nets = append(c.Nets, p)
		}
	}
	return c
}

// HA1 returns the stored hash for alg.
func (c *Credential) HA1(alg digest.Algorithm) string {
	if alg == digest.SHA256 {
		return c.HA1SHA256
	}
	return c.HA1MD5
}

// Allows reports whether a phone at ip may use the extension.
func (c *Credential) Allows(ip netip.Addr) bool {
	if !c.Restricted {
		return true
	}
	ip = ip.Unmap()
	for _, p := range c.Nets {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// WarnRealm reports true the first time it is called for this entry and
// false after: a realm mismatch is logged once per entry.
func (c *Credential) WarnRealm() bool { return c.warnedRealm.CompareAndSwap(false, true) }

// CheckedAt reports whether the directory confirmed the entry at version v
// of its users (MarkChecked). v counts from 1: 0 stands for a directory
// that counts no versions, and is never confirmed.
func (c *Credential) CheckedAt(v uint64) bool { return v != 0 && c.checked.Load() == v }

// MarkChecked records that the directory confirmed the entry at version v
// of its users.
func (c *Credential) MarkChecked(v uint64) { c.checked.Store(v) }

// parseNet parses an allowed network: CIDR, or a bare address for a
// network of one; ok is false for anything else. Blank text is no network.
func parseNet(s string) (p netip.Prefix, ok bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return netip.Prefix{}, false
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		p = netip.PrefixFrom(a, a.BitLen())
	}
	return p.Masked(), true
}
