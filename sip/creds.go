package sip

import (
	"net/netip"
	"sync"
	"sync/atomic"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/digest"
	"github.com/switchboard-pbx/switchboard/sip/guard"
)

// credential is what the registrar knows about one extension: its digest
// hashes and SIP rules. Values are never changed once built; an update
// replaces the pointer.
type credential struct {
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
	// Forward is the user's call forwarding and DND (forward.go).
	Forward directory.Forwarding

	warnedRealm atomic.Bool // a realm mismatch is logged once per entry
	// checked is the store's user version (plus one) at which the
	// directory last confirmed this entry (accountcheck.go); 0: never.
	checked atomic.Uint64
}

func newCredential(u *directory.User) *credential {
	c := &credential{UserID: u.ID, Ext: u.Extension, State: u.State, Realm: u.SIP.Realm,
		HA1MD5: u.SIP.HA1MD5, HA1SHA256: u.SIP.HA1SHA256, MaxDevices: u.SIPMaxDevices, Forward: u.Forward}
	for _, s := range u.SIPAllowedNets {
		if s == "" {
			continue
		}
		c.Restricted = true
		if nets, err := guard.ParseNets([]string{s}); err == nil {
			c.Nets = append(c.Nets, nets...)
		}
	}
	return c
}

// ha1 returns the stored hash for alg.
func (c *credential) ha1(alg digest.Algorithm) string {
	if alg == digest.SHA256 {
		return c.HA1SHA256
	}
	return c.HA1MD5
}

// allows reports whether a phone at ip may use the extension.
func (c *credential) allows(ip netip.Addr) bool {
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

// maxTombstones bounds what is remembered of deleted extensions.
const maxTombstones = 10000

// credentials is the in-memory credential cache: every extension that may
// use SIP, loaded at start and kept fresh from the change log. Reads take
// a read lock and allocate nothing.
type credentials struct {
	mu    sync.RWMutex
	byExt map[string]*credential
	byID  map[int64]*credential
	// Deleted users seen while running: their old credentials, so that a
	// phone still using them is told 403 (it proves it knew the password,
	// so nothing is enumerated), and their IDs, so that a lookup racing
	// with the deletion cannot bring them back.
	gone    map[string]*credential
	goneIDs map[int64]struct{}
}

func newCredentials() *credentials {
	return &credentials{byExt: make(map[string]*credential), byID: make(map[int64]*credential),
		gone: make(map[string]*credential), goneIDs: make(map[int64]struct{})}
}

// Lookup returns the credential of ext.
func (cs *credentials) Lookup(ext string) (*credential, bool) {
	cs.mu.RLock()
	c, ok := cs.byExt[ext]
	cs.mu.RUnlock()
	return c, ok
}

// Deleted returns the last credential of a deleted extension not reused.
func (cs *credentials) Deleted(ext string) (*credential, bool) {
	cs.mu.RLock()
	c, ok := cs.gone[ext]
	cs.mu.RUnlock()
	return c, ok
}

// Len returns the number of cached extensions.
func (cs *credentials) Len() int {
	cs.mu.RLock()
	defer cs.mu.RUnlock()
	return len(cs.byExt)
}

// Replace loads a full list (SIPUsers). Extensions cached before and absent
// now were deleted meanwhile; their extensions are returned.
func (cs *credentials) Replace(users []directory.User) (removed []string) {
	byExt := make(map[string]*credential, len(users))
	byID := make(map[int64]*credential, len(users))
	for i := range users {
		u := &users[i]
		if !u.State.CanUseSIP() || u.Extension == "" {
			continue
		}
		c := newCredential(u)
		byExt[c.Ext] = c
		byID[c.UserID] = c
	}
	cs.mu.Lock()
	defer cs.mu.Unlock()
	for id, old := range cs.byID {
		if _, ok := byID[id]; !ok {
			cs.buryLocked(old)
			removed = append(removed, old.Ext)
		}
	}
	cs.byExt, cs.byID = byExt, byID
	for ext := range byExt {
		delete(cs.gone, ext)
	}
	return removed
}

// Update applies the current state of one user (from the change log).
// When the user no longer may use SIP its previous extension is returned,
// so that its bindings can be dropped.
func (cs *credentials) Update(u *directory.User) (removed string) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	old := cs.byID[u.ID]
	if old != nil {
		delete(cs.byID, u.ID)
		if cs.byExt[old.Ext] == old {
			delete(cs.byExt, old.Ext)
		}
	}
	if u.State.CanUseSIP() && u.Extension != "" {
		c := newCredential(u)
		cs.byExt[c.Ext] = c
		cs.byID[c.UserID] = c
		delete(cs.gone, c.Ext)
		delete(cs.goneIDs, c.UserID)
		if old != nil && old.Ext != c.Ext {
			return old.Ext
		}
		return ""
	}
	if u.State == directory.UserDeleted {
		if old != nil {
			cs.buryLocked(old)
		} else {
			cs.goneIDs[u.ID] = struct{}{}
		}
	}
	if old != nil {
		return old.Ext
	}
	return ""
}

// Add caches a user found by a lookup after a miss, unless the change log
// has meanwhile reported it deleted.
func (cs *credentials) Add(u *directory.User) *credential {
	c := newCredential(u)
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if _, dead := cs.goneIDs[u.ID]; dead {
		return nil
	}
	if cur, ok := cs.byID[u.ID]; ok {
		return cur // the change log was faster; its entry is as new
	}
	if old, ok := cs.byExt[c.Ext]; ok {
		delete(cs.byID, old.UserID)
	}
	cs.byExt[c.Ext] = c
	cs.byID[c.UserID] = c
	delete(cs.gone, c.Ext)
	return c
}

func (cs *credentials) buryLocked(c *credential) {
	if len(cs.gone) >= maxTombstones {
		for k := range cs.gone { // forget an arbitrary one
			delete(cs.gone, k)
			break
		}
	}
	if len(cs.goneIDs) >= maxTombstones {
		for k := range cs.goneIDs {
			delete(cs.goneIDs, k)
			break
		}
	}
	cs.gone[c.Ext] = c
	cs.goneIDs[c.UserID] = struct{}{}
}
