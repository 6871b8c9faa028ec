package guard

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/internal/clock"
)

// Bans are shared through the store: the guard queues each new ban, the
// writer here stores it in the background, and every node applies the
// bans and unbans of the others from the change log its caller follows. A
// ban the store did not take still applies on this node.

// Sync shares a guard's bans through the store: it writes this node's,
// and learns and lifts those of the others.
type Sync struct {
	store   directory.Store
	node    string        // this node's name, as the store's bans give it
	timeout time.Duration // bounds one store call
	log     *slog.Logger
	clock   clock.Clock
	guard   *Guard
	// Stored, when set (tests), is told of each ban write.
	Stored func(Ban, error)
}

// NewSync returns the sharing of g's bans through store for the node
// named node, each store call bounded by timeout.
func NewSync(g *Guard, store directory.Store, node string, timeout time.Duration, c clock.Clock,
	log *slog.Logger) *Sync {
	return &Sync{store: store, node: node, timeout: timeout, log: log, clock: c, guard: g}
}

// Run stores the guard's new bans as they come, until ctx ends; then
// it writes what is still waiting, within the store timeout.
func (bs *Sync) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), bs.timeout)
			bs.write(fctx)
			cancel()
			return
		case <-bs.guard.wake:
			bs.write(ctx)
		}
	}
}

// write writes the bans waiting in the guard, in order. Once the
// store is found unavailable the rest are not tried (each would wait for
// the timeout): they apply on this node only.
func (bs *Sync) write(ctx context.Context) {
	g := bs.guard
	g.writeMu.Lock()
	defer g.writeMu.Unlock()
	var down error
	for _, b := range g.takePending() {
		err := down
		if err == nil {
			cctx, cancel := context.WithTimeout(ctx, bs.timeout)
			err = bs.store.PutBan(cctx, directory.Ban{Source: b.Source, Extension: b.Extension, Reason: b.Reason,
				Created: b.Since, Expires: b.Until, Node: bs.node})
			if err == nil { // the audit log keeps every ban (lifts are audited where they are made)
				if aerr := bs.store.Audit(cctx, &directory.AuditEntry{Actor: "system", IP: b.Source, Action: "ban.create",
					Object: "ban:" + b.Source, Detail: banDetail(b.Extension, b.Reason, b.Until)}); aerr != nil {
					bs.log.Warn("ban not audited", "src", b.Source, "ext", b.Extension, "err", aerr)
				}
			}
			cancel()
			if errors.Is(err, directory.ErrUnavailable) {
				down = err
			}
		}
		if err != nil {
			bs.log.Warn("ban not stored; it applies on this node only", "src", b.Source, "ext", b.Extension, "err", err)
		}
		if bs.Stored != nil {
			bs.Stored(b, err)
		}
	}
}

// Load applies the bans in the store (at start, and after the store
// was unreachable). Bans this node holds stay.
func (bs *Sync) Load(ctx context.Context) error {
	list, err := bs.store.Bans(ctx, bs.clock.Now())
	if err != nil {
		return fmt.Errorf("bans: %w", err)
	}
	bs.guard.learn(list, bs.node)
	return nil
}

// Apply applies ban changes of the change log: learn holds the
// sources other nodes banned, reset those whose bans were lifted.
func (bs *Sync) Apply(ctx context.Context, learn, reset map[netip.Addr]bool) error {
	if len(learn) == 0 && len(reset) == 0 {
		return nil
	}
	cctx, cancel := context.WithTimeout(ctx, bs.timeout)
	defer cancel()
	list, err := bs.store.Bans(cctx, bs.clock.Now())
	if err != nil {
		return fmt.Errorf("bans: %w", err)
	}
	of := make(map[netip.Addr][]directory.Ban)
	for _, b := range list {
		if ip, err := netip.ParseAddr(b.Source); err == nil && (learn[ip.Unmap()] || reset[ip.Unmap()]) {
			of[ip.Unmap()] = append(of[ip.Unmap()], b)
		}
	}
	for ip := range reset {
		bs.guard.reset(ip, of[ip], bs.node)
	}
	for ip := range learn {
		if !reset[ip] {
			bs.guard.learn(of[ip], bs.node)
		}
	}
	return nil
}

// Sort sorts a ban change of the change log into learn or reset; it
// reports false for other kinds. A node's own bans are in memory already.
func (bs *Sync) Sort(c directory.Change, learn, reset map[netip.Addr]bool) bool {
	switch c.Kind {
	case directory.ChangeBan:
		if c.Node != bs.node {
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

// Prune deletes expired bans from the store (housekeeping).
func (bs *Sync) Prune(ctx context.Context) {
	cctx, cancel := context.WithTimeout(ctx, bs.timeout)
	defer cancel()
	if _, err := bs.store.DeleteExpiredBans(cctx, bs.clock.Now()); err != nil {
		bs.log.Debug("expired bans not deleted", "err", err)
	}
}

// Unban lifts the bans of ip in the store too, after any write of
// them still in progress.
func (bs *Sync) Unban(ctx context.Context, ip netip.Addr) (int, error) {
	bs.guard.writeMu.Lock()
	defer bs.guard.writeMu.Unlock()
	cctx, cancel := context.WithTimeout(ctx, bs.timeout)
	defer cancel()
	return bs.store.DeleteBans(cctx, ip.String())
}

// banDetail is a ban's audit detail: "extension 10001: reason, until …".
func banDetail(ext, reason string, until time.Time) string {
	d := reason + ", until " + until.UTC().Format(time.RFC3339)
	if ext != "" {
		d = "extension " + ext + ": " + d
	}
	return d
}
