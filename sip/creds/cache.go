package creds

import (
	"sync"

	"github.com/switchboard-pbx/switchboard/directory"
)

// maxTombstones bounds what is remembered of deleted extensions.
const maxTombstones = 10000

// Cache is the in-memory credential cache: every extension that may use
// SIP, loaded at start and kept fresh from the change log. Reads take a
// read lock and allocate nothing.
type Cache struct {
	mu    sync.RWMutex
	byExt map[string]*Credential
	byID  map[int64]*Credential
	// Deleted users seen while running: their old credentials, so that a
	// phone still using them is told 403 (it proves it knew the password,
	// so nothing is enumerated), and their IDs, so that a lookup racing
	// with the deletion cannot bring them back.
	gone    map[string]*Credential
	goneIDs map[int64]struct{}
}

// New returns an empty cache.
func New() *Cache {
	return &Cache{byExt: make(map[string]*Credential), byID: make(map[int64]*Credential),
		gone: make(map[string]*Credential), goneIDs: make(map[int64]struct{})}
}

// Lookup returns the credential of ext.
func (cs *Cache) Lookup(ext string) (*Credential, bool) {
	cs.mu.RLock()
	c, ok := cs.byExt[ext]
	cs.mu.RUnlock()
	return c, ok
}

// ByID returns the credential of a user by ID.
func (cs *Cache) ByID(id int64) (*Credential, bool) {
	cs.mu.RLock()
	c, ok := cs.byID[id]
	cs.mu.RUnlock()
	return c, ok
}

// Deleted returns the last credential of a deleted extension not reused.
func (cs *Cache) Deleted(ext string) (*Credential, bool) {
	cs.mu.RLock()
	c, ok := cs.gone[ext]
	cs.mu.RUnlock()
	return c, ok
}

// Len returns the number of cached extensions.
func (cs *Cache) Len() int {
	cs.mu.RLock()
	defer cs.mu.RUnlock()
	return len(cs.byExt)
}

// Replace loads a full list (SIPUsers), which the directory confirms at
// version checked (Credential.MarkChecked; 0: none). Extensions cached
// before and absent now were deleted meanwhile; their extensions are
// returned.
func (cs *Cache) Replace(users []directory.User, checked uint64) (removed []string) {
	byExt := make(map[string]*Credential, len(users))
	byID := make(map[int64]*Credential, len(users))
	for i := range users {
		u := &users[i]
		if !u.State.CanUseSIP() || u.Extension == "" {
			continue
		}
		c := newCredential(u)
		c.MarkChecked(checked)
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
func (cs *Cache) Update(u *directory.User) (removed string) {
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
func (cs *Cache) Add(u *directory.User) *Credential {
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

func (cs *Cache) buryLocked(c *Credential) {
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
