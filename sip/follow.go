package sip

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// notifier is offered by stores that can wake followers as soon as the
// change log grows (PostgreSQL LISTEN/NOTIFY). The channel closes when the
// store loses its connection; we then poll and ask again.
type notifier interface {
	Notifications(ctx context.Context) (<-chan struct{}, error)
}

// follower is the state of following the store's change log.
type follower struct {
	mu          sync.Mutex
	loaded      bool  // a full load succeeded
	down        bool  // the last attempt failed: reload in full when back
	seq         int64 // the last change applied
	lastExpired time.Time
}

// changeBatch is how many change log entries are read at once.
const changeBatch = 500

// refresh brings the credential cache and the bindings up to date with the
// store: held binding writes first, then a full load (at start, or after
// the store was unreachable) or the changes since the last one.
func (s *Server) refresh(ctx context.Context) error {
	f := &s.follow
	f.mu.Lock()
	defer f.mu.Unlock()
	err := s.refreshLocked(ctx)
	if err != nil {
		if !f.down {
			s.log.Warn("directory unavailable; serving from cache", "err", err)
		}
		f.down = true
		return err
	}
	if f.down {
		s.log.Info("directory available again")
		f.down = false
	}
	if s.hooks.synced != nil {
		s.hooks.synced()
	}
	return nil
}

// Sync is refresh for callers that want the caches current now (Serve at
// start, tests).
func (s *Server) Sync(ctx context.Context) error { return s.refresh(ctx) }

func (s *Server) refreshLocked(ctx context.Context) error {
	f := &s.follow
	if !s.loc.Flush(ctx) {
		return fmt.Errorf("flush held bindings: %w", directory.ErrUnavailable)
	}
	if !f.loaded || f.down {
		return s.loadAll(ctx)
	}
	return s.followChanges(ctx)
}

// loadAll loads every SIP user and binding. The change log position is
// taken first, so a change made during the load is applied again later
// (applying a change twice is harmless; missing one is not).
func (s *Server) loadAll(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*s.cfg.StoreTimeout)
	defer cancel()
	seq, err := s.store.LastChange(ctx)
	if err != nil {
		return fmt.Errorf("change log: %w", err)
	}
	users, err := s.store.SIPUsers(ctx)
	if err != nil {
		return fmt.Errorf("sip users: %w", err)
	}
	if err := s.loadDomain(ctx); err != nil {
		return err
	}
	if err := s.loadTrunks(ctx); err != nil {
		return err
	}
	if err := s.loadFeatures(ctx); err != nil {
		return err
	}
	if err := s.loadPark(ctx); err != nil {
		return err
	}
	for _, ext := range s.creds.Replace(users) {
		s.loc.Drop(ctx, ext)
		s.pres.EndExt(ext, "noresource") // its busy lamps and subscriptions end
	}
	for i := range users {
		s.subs.presenceUser(&users[i], "") // do not disturb, for busy lamps
	}
	if err := s.loc.Reload(ctx, nil); err != nil {
		return fmt.Errorf("bindings: %w", err)
	}
	if err := s.loadBans(ctx); err != nil {
		return err
	}
	s.follow.seq, s.follow.loaded = seq, true
	s.log.Debug("directory loaded", "extensions", s.creds.Len(), "seq", seq)
	return nil
}

// loadDomain reads the sip.domain setting unless the domain is configured.
func (s *Server) loadDomain(ctx context.Context) error {
	if s.cfg.Domain != "" {
		return nil
	}
	d, err := s.store.Setting(ctx, directory.SettingDomain)
	if err != nil {
		return fmt.Errorf("setting %s: %w", directory.SettingDomain, err)
	}
	if d == "" {
		return nil
	}
	if old := s.reg.setRealm(d); old != d {
		s.log.Info("sip domain", "domain", d, "old", old)
	}
	return nil
}

// followChanges applies the change log since the last entry applied. A
// store that can leaves out our own binding changes (we have those in
// memory): at full load they are thousands a second.
func (s *Server) followChanges(ctx context.Context) error {
	f := &s.follow
	ce, except := s.store.(directory.ChangesExcepter)
	for {
		cctx, cancel := context.WithTimeout(ctx, s.cfg.StoreTimeout)
		var cs []directory.Change
		var err error
		last := f.seq
		if except {
			cs, last, err = ce.ChangesExcept(cctx, f.seq, changeBatch, s.cfg.Node)
		} else if cs, err = s.store.Changes(cctx, f.seq, changeBatch); len(cs) > 0 {
			last = cs[len(cs)-1].Seq
		}
		cancel()
		if err != nil {
			return fmt.Errorf("change log: %w", err)
		}
		if len(cs) > 0 {
			if err := s.applyChanges(ctx, cs); err != nil {
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

func (s *Server) applyChanges(ctx context.Context, cs []directory.Change) error {
	users := make(map[int64]bool)
	var exts map[string]bool
	domain, trunks := false, false
	learn, reset := make(map[netip.Addr]bool), make(map[netip.Addr]bool)
	for _, c := range cs {
		if s.banChange(c, learn, reset) {
			continue
		}
		switch c.Kind {
		case directory.ChangeUser:
			users[c.ID] = true
		case directory.ChangeBinding:
			if c.Node != s.cfg.Node { // our own are in memory already
				if exts == nil {
					exts = make(map[string]bool)
				}
				exts[c.Key] = true
			}
		case directory.ChangeSetting:
			domain = domain || c.Key == directory.SettingDomain
			trunks = trunks || c.Key == directory.SettingTrunks || c.Key == directory.SettingDIDs
			if c.Key == directory.SettingFeatureCodes {
				if err := s.loadFeatures(ctx); err != nil {
					return err
				}
			}
			if slices.Contains(directory.ParkSettings, c.Key) {
				if err := s.loadPark(ctx); err != nil {
					return err
				}
			}
		}
	}
	for id := range users {
		cctx, cancel := context.WithTimeout(ctx, s.cfg.StoreTimeout)
		u, err := s.store.User(cctx, id)
		cancel()
		if errors.Is(err, directory.ErrNotFound) {
			u, err = &directory.User{ID: id, State: directory.UserDeleted}, nil
		}
		if err != nil {
			return fmt.Errorf("user %d: %w", id, err)
		}
		ext := s.creds.Update(u)
		if ext != "" {
			// Deleted (or no longer on SIP): its phones go at once.
			s.loc.Drop(ctx, ext)
		}
		s.subs.presenceUser(u, ext) // do not disturb, and subscriptions of a gone extension
	}
	if exts != nil {
		if err := s.loc.Reload(ctx, exts); err != nil {
			return fmt.Errorf("bindings: %w", err)
		}
	}
	if err := s.applyBans(ctx, learn, reset); err != nil {
		return err
	}
	if domain {
		cctx, cancel := context.WithTimeout(ctx, s.cfg.StoreTimeout)
		defer cancel()
		if err := s.loadDomain(cctx); err != nil {
			return err
		}
	}
	if trunks {
		cctx, cancel := context.WithTimeout(ctx, s.cfg.StoreTimeout)
		defer cancel()
		return s.loadTrunks(cctx)
	}
	return nil
}

// run follows the store and does the housekeeping until ctx ends.
func (s *Server) run(ctx context.Context) {
	var writer sync.WaitGroup
	writer.Go(func() { s.writeBans(ctx) })
	defer writer.Wait()
	tick := time.NewTicker(s.cfg.FollowInterval)
	defer tick.Stop()
	n, canNotify := s.store.(notifier)
	var wake <-chan struct{}
	subscribe := func() {
		if !canNotify || wake != nil {
			return
		}
		ch, err := n.Notifications(ctx)
		if err != nil {
			s.log.Debug("change notifications unavailable; polling", "err", err)
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
		s.refresh(ctx)
		s.housekeep(ctx)
	}
}

// housekeep forgets what expired: bindings, bans, counters, nonces; and
// now and then deletes expired bindings from the store too.
func (s *Server) housekeep(ctx context.Context) {
	s.loc.Sweep()
	s.guard.Sweep()
	s.nonces.Prune()
	f := &s.follow
	f.mu.Lock()
	defer f.mu.Unlock()
	now := s.clock.Now()
	if f.down || now.Sub(f.lastExpired) < time.Minute {
		return
	}
	f.lastExpired = now
	if err := s.loc.DeleteExpired(ctx); err != nil {
		s.log.Debug("expired bindings not deleted", "err", err)
	}
	s.pruneBans(ctx)
}
