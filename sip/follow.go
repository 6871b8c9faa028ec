package sip

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/internal/clock"
	"github.com/switchboard-pbx/switchboard/sip/auth"
	"github.com/switchboard-pbx/switchboard/sip/creds"
	"github.com/switchboard-pbx/switchboard/sip/digest"
	"github.com/switchboard-pbx/switchboard/sip/guard"
	"github.com/switchboard-pbx/switchboard/sip/location"
	"github.com/switchboard-pbx/switchboard/sip/record"
	"github.com/switchboard-pbx/switchboard/sip/subscribe"
	"github.com/switchboard-pbx/switchboard/sip/trunk"
)

// notifier is offered by stores that can wake followers as soon as the
// change log grows (PostgreSQL LISTEN/NOTIFY). The channel closes when the
// store loses its connection; we then poll and ask again.
type notifier interface {
	Notifications(ctx context.Context) (<-chan struct{}, error)
}

// follower keeps this node's caches current with the store: it loads
// them in full at start (and after the store was unreachable), then
// follows the change log, woken by the store's notifications or polling.
// It holds the caches it fills (credentials, bindings, the realm, the
// trunks, presence's do not disturb, the bans) and does the housekeeping
// that forgets what expired. What the call side loads from settings comes
// as functions.
type follower struct {
	cfg    *Config // the server's, read only
	store  directory.Store
	log    *slog.Logger
	clock  clock.Clock
	hooks  *hooks
	creds  *creds.Cache
	loc    *location.Table
	guard  *guard.Guard
	nonces *digest.Nonces
	auth   *auth.Checker            // the realm
	subs   *subscribe.Subscriptions // do not disturb, and the subscriptions of a gone extension
	tk     *trunk.Table
	bans   *guard.Sync
	// loadFeatures, loadPark and loadRecording read the call side's
	// settings.
	loadFeatures, loadPark, loadRecording func(context.Context) error

	mu          sync.Mutex // held while refreshing and housekeeping
	loaded      bool       // a full load succeeded
	down        bool       // the last attempt failed: reload in full when back
	seq         int64      // the last change applied
	lastExpired time.Time
}

// changeBatch is how many change log entries are read at once.
const changeBatch = 500

// refresh brings the credential cache and the bindings up to date with the
// store: held binding writes first, then a full load (at start, or after
// the store was unreachable) or the changes since the last one.
func (f *follower) refresh(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	err := f.refreshLocked(ctx)
	if err != nil {
		if !f.down {
			f.log.Warn("directory unavailable; serving from cache", "err", err)
		}
		f.down = true
		return err
	}
	if f.down {
		f.log.Info("directory available again")
		f.down = false
	}
	if f.hooks.synced != nil {
		f.hooks.synced()
	}
	return nil
}

// Sync brings the caches up to date with the store now (tests; Serve does
// it at start).
func (s *Server) Sync(ctx context.Context) error { return s.follow.refresh(ctx) }

func (f *follower) refreshLocked(ctx context.Context) error {
	if !f.loc.Flush(ctx) {
		return fmt.Errorf("flush held bindings: %w", directory.ErrUnavailable)
	}
	if !f.loaded || f.down {
		return f.loadAll(ctx)
	}
	return f.followChanges(ctx)
}

// loadAll loads every SIP user and binding. The change log position is
// taken first, so a change made during the load is applied again later
// (applying a change twice is harmless; missing one is not).
func (f *follower) loadAll(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*f.cfg.StoreTimeout)
	defer cancel()
	seq, err := f.store.LastChange(ctx)
	if err != nil {
		return fmt.Errorf("change log: %w", err)
	}
	version := auth.AccountVersion(f.store) // before the read it confirms
	users, err := f.store.SIPUsers(ctx)
	if err != nil {
		return fmt.Errorf("sip users: %w", err)
	}
	if err := f.loadDomain(ctx); err != nil {
		return err
	}
	if err := f.tk.Load(ctx); err != nil {
		return err
	}
	if err := f.loadFeatures(ctx); err != nil {
		return err
	}
	if err := f.loadPark(ctx); err != nil {
		return err
	}
	if err := f.loadRecording(ctx); err != nil {
		return err
	}
	// Just read from the directory: a phone's first request needs no
	// account lookup of its own (auth.Checker.Current).
	for _, ext := range f.creds.Replace(users, version) {
		f.loc.Drop(ctx, ext)
		f.subs.Presence().EndExt(ext, "noresource") // its busy lamps and subscriptions end
	}
	for i := range users {
		f.subs.UserChanged(&users[i], "") // do not disturb, for busy lamps
	}
	if err := f.loc.Reload(ctx, nil); err != nil {
		return fmt.Errorf("bindings: %w", err)
	}
	if err := f.bans.Load(ctx); err != nil {
		return err
	}
	f.seq, f.loaded = seq, true
	f.log.Debug("directory loaded", "extensions", f.creds.Len(), "seq", seq)
	return nil
}

// loadDomain reads the sip.domain setting unless the domain is configured.
func (f *follower) loadDomain(ctx context.Context) error {
	if f.cfg.Domain != "" {
		return nil
	}
	d, err := f.store.Setting(ctx, directory.SettingDomain)
	if err != nil {
		return fmt.Errorf("setting %s: %w", directory.SettingDomain, err)
	}
	if d == "" {
		return nil
	}
	if old := f.auth.SetRealm(d); old != d {
		f.log.Info("sip domain", "domain", d, "old", old)
	}
	return nil
}

// followChanges applies the change log since the last entry applied. A
// store that can leaves out our own binding changes (we have those in
// memory): at full load they are thousands a second.
func (f *follower) followChanges(ctx context.Context) error {
	ce, except := f.store.(directory.ChangesExcepter)
	for {
		cctx, cancel := context.WithTimeout(ctx, f.cfg.StoreTimeout)
		var cs []directory.Change
		var err error
		last := f.seq
		if except {
			cs, last, err = ce.ChangesExcept(cctx, f.seq, changeBatch, f.cfg.Node)
		} else if cs, err = f.store.Changes(cctx, f.seq, changeBatch); len(cs) > 0 {
			last = cs[len(cs)-1].Seq
		}
		cancel()
		if err != nil {
			return fmt.Errorf("change log: %w", err)
		}
		if len(cs) > 0 {
			if err := f.applyChanges(ctx, cs); err != nil {
				return err
			}
		}
		read := last - f.seq
		f.seq = last
		if read < changeBatch || (!except && len(cs) < changeBatch) {
			return nil
		}
	}
}

func (f *follower) applyChanges(ctx context.Context, cs []directory.Change) error {
	users := make(map[int64]bool)
	var exts map[string]bool
	domain, trunks := false, false
	learn, reset := make(map[netip.Addr]bool), make(map[netip.Addr]bool)
	for _, c := range cs {
		if f.bans.Sort(c, learn, reset) {
			continue
		}
		switch c.Kind {
		case directory.ChangeUser:
			users[c.ID] = true
		case directory.ChangeBinding:
			if c.Node != f.cfg.Node { // our own are in memory already
				if exts == nil {
					exts = make(map[string]bool)
				}
				exts[c.Key] = true
			}
		case directory.ChangeSetting:
			domain = domain || c.Key == directory.SettingDomain
			trunks = trunks || c.Key == directory.SettingTrunks || c.Key == directory.SettingDIDs
			if c.Key == directory.SettingFeatureCodes {
				if err := f.loadFeatures(ctx); err != nil {
					return err
				}
			}
			if slices.Contains(directory.ParkSettings, c.Key) {
				if err := f.loadPark(ctx); err != nil {
					return err
				}
			}
			if slices.Contains(record.RecordSettings, c.Key) {
				if err := f.loadRecording(ctx); err != nil {
					return err
				}
			}
		}
	}
	for id := range users {
		cctx, cancel := context.WithTimeout(ctx, f.cfg.StoreTimeout)
		u, err := f.store.User(cctx, id)
		cancel()
		if errors.Is(err, directory.ErrNotFound) {
			u, err = &directory.User{ID: id, State: directory.UserDeleted}, nil
		}
		if err != nil {
			return fmt.Errorf("user %d: %w", id, err)
		}
		ext := f.creds.Update(u)
		if ext != "" {
			// Deleted (or no longer on SIP): its phones go at once.
			f.loc.Drop(ctx, ext)
		}
		f.subs.UserChanged(u, ext) // do not disturb, and subscriptions of a gone extension
	}
	if exts != nil {
		if err := f.loc.Reload(ctx, exts); err != nil {
			return fmt.Errorf("bindings: %w", err)
		}
	}
	if err := f.bans.Apply(ctx, learn, reset); err != nil {
		return err
	}
	if domain {
		cctx, cancel := context.WithTimeout(ctx, f.cfg.StoreTimeout)
		defer cancel()
		if err := f.loadDomain(cctx); err != nil {
			return err
		}
	}
	if trunks {
		cctx, cancel := context.WithTimeout(ctx, f.cfg.StoreTimeout)
		defer cancel()
		return f.tk.Load(cctx)
	}
	return nil
}

// run follows the store and does the housekeeping until ctx ends.
func (f *follower) run(ctx context.Context) {
	var writer sync.WaitGroup
	writer.Go(func() { f.bans.Run(ctx) })
	defer writer.Wait()
	tick := time.NewTicker(f.cfg.FollowInterval)
	defer tick.Stop()
	n, canNotify := f.store.(notifier)
	var wake <-chan struct{}
	subscribe := func() {
		if !canNotify || wake != nil {
			return
		}
		ch, err := n.Notifications(ctx)
		if err != nil {
			f.log.Debug("change notifications unavailable; polling", "err", err)
			return
		}
		wake = ch
	}
	subscribe()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			subscribe()
		case _, ok := <-wake:
			if !ok {
				wake = nil
				continue
			}
		}
		f.refresh(ctx)
		f.housekeep(ctx)
	}
}

// housekeep forgets what expired: bindings, bans, counters, nonces; and
// now and then deletes expired bindings from the store too.
func (f *follower) housekeep(ctx context.Context) {
	f.loc.Sweep()
	f.guard.Sweep()
	f.nonces.Prune()
	f.mu.Lock()
	defer f.mu.Unlock()
	now := f.clock.Now()
	if f.down || now.Sub(f.lastExpired) < time.Minute {
		return
	}
	f.lastExpired = now
	if err := f.loc.DeleteExpired(ctx); err != nil {
		f.log.Debug("expired bindings not deleted", "err", err)
	}
	f.bans.Prune(ctx)
}

// shareNonceKey makes nonces under the key the nodes share in the store
// (made by the first node that needs it), so that a phone's nonce from
// another node or from before a restart is still ours: only a forged one
// fails its MAC. With the store away this run keeps its own key.
func (f *follower) shareNonceKey(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, f.cfg.StoreTimeout)
	defer cancel()
	v, err := f.store.Setting(ctx, directory.SettingNonceKey)
	if err == nil && v == "" {
		var k [32]byte
		rand.Read(k[:])
		if err = f.store.SetSetting(ctx, directory.SettingNonceKey, hex.EncodeToString(k[:])); err == nil {
			// Two nodes starting at once: both read back what the store kept.
			v, err = f.store.Setting(ctx, directory.SettingNonceKey)
		}
	}
	var k [32]byte
	if err == nil {
		var n int
		if n, err = hex.Decode(k[:], []byte(v)); err == nil && n != len(k) {
			err = errors.New("short key")
		}
	}
	if err != nil {
		f.log.Warn("nonce key not shared: this node's nonces are its own until restart", "err", err)
		return
	}
	f.nonces.SetKey(k)
}
