package sip

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// Bans are shared through the store: the guard queues each new ban, the
// writer here stores it in the background, and every node applies the
// bans and unbans of the others from the change log (follow.go). A ban the
// store did not take still applies on this node.

// writeBans stores the guard's new bans as they come, until ctx ends; then
// it writes what is still waiting, within the store timeout.
func (s *Server) writeBans(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.cfg.StoreTimeout)
			s.storeBans(fctx)
			cancel()
			return
		case <-s.guard.wake:
			s.storeBans(ctx)
		}
	}
}

// storeBans writes the bans waiting in the guard, in order. Once the
// store is found unavailable the rest are not tried (each would wait for
// the timeout): they apply on this node only.
func (s *Server) storeBans(ctx context.Context) {
	g := s.guard
	g.writeMu.Lock()
	defer g.writeMu.Unlock()
	var down error
	for _, b := range g.takePending() {
		err := down
		if err == nil {
			cctx, cancel := context.WithTimeout(ctx, s.cfg.StoreTimeout)
			err = s.store.PutBan(cctx, directory.Ban{Source: b.Source, Extension: b.Extension, Reason: b.Reason,
				Created: b.Since, Expires: b.Until, Node: s.cfg.Node})
			if err == nil { // the audit log keeps every ban (lifts are audited where they are made)
				if aerr := s.store.Audit(cctx, &directory.AuditEntry{Actor: "system", IP: b.Source, Action: "ban.create",
					Object: "ban:" + b.Source, Detail: banDetail(b.Extension, b.Reason, b.Until)}); aerr != nil {
					s.log.Warn("ban not audited", "src", b.Source, "ext", b.Extension, "err", aerr)
				}
			}
			cancel()
			if errors.Is(err, directory.ErrUnavailable) {
				down = err
			}
		}
		if err != nil {
			s.log.Warn("ban not stored; it applies on this node only", "src", b.Source, "ext", b.Extension, "err", err)
		}
		if g.stored != nil {
			g.stored(b, err)
		}
	}
}

// loadBans applies the bans in the store (at start, and after the store
// was unreachable). Bans this node holds stay.
func (s *Server) loadBans(ctx context.Context) error {
	bs, err := s.store.Bans(ctx, s.clock.Now())
	if err != nil {
		return fmt.Errorf("bans: %w", err)
	}
	s.guard.learn(bs, s.cfg.Node)
	return nil
}

// applyBans applies ban changes of the change log: learn holds the
// sources other nodes banned, reset those whose bans were lifted.
func (s *Server) applyBans(ctx context.Context, learn, reset map[netip.Addr]bool) error {
	if len(learn) == 0 && len(reset) == 0 {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, s.cfg.StoreTimeout)
	defer cancel()
	bs, err := s.store.Bans(cctx, s.clock.Now())
	if err != nil {
		return fmt.Errorf("bans: %w", err)
	}
	of := make(map[netip.Addr][]directory.Ban)
	for _, b := range bs {
		if ip, err := netip.ParseAddr(b.Source); err == nil && (learn[ip.Unmap()] || reset[ip.Unmap()]) {
			of[ip.Unmap()] = append(of[ip.Unmap()], b)
		}
	}
	for ip := range reset {
		s.guard.reset(ip, of[ip], s.cfg.Node)
	}
	for ip := range learn {
		if !reset[ip] {
			s.guard.learn(of[ip], s.cfg.Node)
		}
	}
	return nil
}

// banChange sorts a ban change of the change log into learn or reset; it
// reports false for other kinds. A node's own bans are in memory already.
func (s *Server) banChange(c directory.Change, learn, reset map[netip.Addr]bool) bool {
	switch c.Kind {
	case directory.ChangeBan:
		if c.Node != s.cfg.Node {
			if ip, err := netip.ParseAddr(c.Key); err == nil {
				learn[ip.Unmap()] = true
			}
		}
	case directory.ChangeUnban:
		if ip, err := netip.ParseAddr(c.Key); err == nil {
			reset[ip.Unmap()] = true
		}
	default:
		return false
	}
	return true
}

// pruneBans deletes expired bans from the store (housekeeping).
func (s *Server) pruneBans(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, s.cfg.StoreTimeout)
	defer cancel()
	if _, err := s.store.DeleteExpiredBans(cctx, s.clock.Now()); err != nil {
		s.log.Debug("expired bans not deleted", "err", err)
	}
}

// unbanStored lifts the bans of ip in the store too, after any write of
// them still in progress.
func (s *Server) unbanStored(ctx context.Context, ip netip.Addr) (int, error) {
	s.guard.writeMu.Lock()
	defer s.guard.writeMu.Unlock()
	cctx, cancel := context.WithTimeout(ctx, s.cfg.StoreTimeout)
	defer cancel()
	return s.store.DeleteBans(cctx, ip.String())
}

// banDetail is a ban's audit detail: "extension 10001: reason, until …".
func banDetail(ext, reason string, until time.Time) string {
	d := reason + ", until " + until.UTC().Format(time.RFC3339)
	if ext != "" {
		d = "extension " + ext + ": " + d
	}
	return d
}
