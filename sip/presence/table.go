package presence

import (
	"context"
	"errors"
	"sync"
	"time"
)

// Member is an extension a subscription watches: the extension subscribed
// to, or each member of a group the watcher may observe.
type Member struct {
	Ext  string
	Info bool // the watcher may see who the member talks to (calls.share)
}

// Subscription is one watcher's subscription (one SUBSCRIBE dialog). The
// exported fields are set before Add and not changed afterwards.
type Subscription struct {
	Key     string // identifies the dialog: Call-ID and both tags
	Package Package
	Entity  string   // the number subscribed to: an extension or a group
	Watcher string   // the subscriber's extension
	Members []Member // what it may see of Entity
	Dialog  any      // the SIP side's dialog state, opaque here

	mu      sync.Mutex
	expires time.Time
	timer   *time.Timer
	version uint32
	dirty   bool // a NOTIFY is owed
	running bool // a pump is sending
	final   bool // the next NOTIFY is the last
	done    bool
	reason  string
}

// Expires returns when the subscription ends unless refreshed.
func (s *Subscription) Expires() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.expires
}

// Notify is one NOTIFY to send.
type Notify struct {
	Sub         *Subscription
	Final       bool   // Subscription-State: terminated
	Reason      string // why, when Final: timeout, deactivated, noresource, rejected
	Expires     int    // seconds left, when not Final
	ContentType string
	Body        []byte
}

// Sender sends one NOTIFY and returns once it is answered. ErrGone (the
// subscriber answered 481, or never answered) ends the subscription
// without another NOTIFY.
type Sender func(ctx context.Context, n Notify) error

// ErrGone is returned by a Sender when the subscriber no longer holds the
// subscription.
var ErrGone = errors.New("subscription gone")

// ErrFull refuses a subscription beyond Config.MaxSubscriptions.
var ErrFull = errors.New("too many subscriptions")

// Config bounds subscriptions.
type Config struct {
	MinExpires, MaxExpires, DefaultExpires time.Duration
	MaxSubscriptions                       int
	// Domain returns the host of entity URIs in bodies.
	Domain func() string
}

func (c Config) withDefaults() Config {
	if c.MinExpires <= 0 {
		c.MinExpires = 60 * time.Second
	}
	if c.MaxExpires < c.MinExpires {
		c.MaxExpires = max(time.Hour, c.MinExpires)
	}
	if c.DefaultExpires <= 0 {
		c.DefaultExpires = min(time.Hour, c.MaxExpires)
	}
	if c.MaxSubscriptions <= 0 {
		c.MaxSubscriptions = 50000
	}
	if c.Domain == nil {
		c.Domain = func() string { return "localhost" }
	}
	return c
}

// Table holds extension states and subscriptions, and sends each change
// to the subscriptions that watch it. Safe for concurrent use; every
// method returns without waiting for the network.
type Table struct {
	cfg  Config
	send Sender

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // pumps

	mu      sync.Mutex
	exts    map[string]*ext
	subs    map[string]*Subscription
	closing bool
}

// New returns a table that sends NOTIFYs with send.
func New(send Sender, cfg Config) *Table {
	ctx, cancel := context.WithCancel(context.Background())
	return &Table{cfg: cfg.withDefaults(), send: send, ctx: ctx, cancel: cancel,
		exts: make(map[string]*ext), subs: make(map[string]*Subscription)}
}

// Config returns the bounds in force.
func (t *Table) Config() Config { return t.cfg }

// Negotiate turns a requested expiry in seconds (-1: none given) into the
// one granted; tooBrief means a 423 (Interval Too Brief) with MinExpires.
// Zero stays zero: an un-subscribe.
func (t *Table) Negotiate(secs int64) (d time.Duration, tooBrief bool) {
	switch {
	case secs < 0:
		return t.cfg.DefaultExpires, false
	case secs == 0:
		return 0, false
	case secs > int64(t.cfg.MaxExpires/time.Second):
		return t.cfg.MaxExpires, false
	case time.Duration(secs)*time.Second < t.cfg.MinExpires:
		return 0, true
	}
	return time.Duration(secs) * time.Second, false
}

// extLocked returns the state of number, made when missing.
func (t *Table) extLocked(number string) *ext {
	e := t.exts[number]
	if e == nil {
		e = &ext{}
		t.exts[number] = e
	}
	return e
}

func (t *Table) forgetLocked(number string, e *ext) {
	if e.empty() {
		delete(t.exts, number)
	}
}

// Lookup returns the subscription with key, or nil.
func (t *Table) Lookup(key string) *Subscription {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.subs[key]
}

// Len returns the number of subscriptions.
func (t *Table) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.subs)
}

// Add files a new subscription for d and sends its first NOTIFY.
func (t *Table) Add(s *Subscription, d time.Duration) error {
	t.mu.Lock()
	if t.closing {
		t.mu.Unlock()
		return errors.New("shutting down")
	}
	if len(t.subs) >= t.cfg.MaxSubscriptions {
		t.mu.Unlock()
		return ErrFull
	}
	if _, ok := t.subs[s.Key]; ok {
		t.mu.Unlock()
		return errors.New("subscription exists")
	}
	t.subs[s.Key] = s
	for _, m := range s.Members {
		e := t.extLocked(m.Ext)
		if e.watchers == nil {
			e.watchers = make(map[*Subscription]struct{})
		}
		e.watchers[s] = struct{}{}
	}
	t.mu.Unlock()
	s.mu.Lock()
	s.expires = time.Now().Add(d)
	s.timer = time.AfterFunc(d, func() { t.End(s, "timeout") })
	s.mu.Unlock()
	t.kick(s)
	return nil
}

// Refresh extends s by d (RFC 6665 §4.2.1.2) and sends a NOTIFY of the
// current state.
func (t *Table) Refresh(s *Subscription, d time.Duration) bool {
	s.mu.Lock()
	if s.final || s.done {
		s.mu.Unlock()
		return false
	}
	s.expires = time.Now().Add(d)
	if s.timer != nil {
		s.timer.Reset(d)
	}
	s.mu.Unlock()
	t.kick(s)
	return true
}

// End ends s with a final NOTIFY naming reason (RFC 6665 §4.2.2); it is
// forgotten at once, so a later refresh finds nothing.
func (t *Table) End(s *Subscription, reason string) {
	if !t.unfile(s) {
		return
	}
	s.mu.Lock()
	if s.final || s.done {
		s.mu.Unlock()
		return
	}
	s.final, s.reason = true, reason
	if s.timer != nil {
		s.timer.Stop()
	}
	s.mu.Unlock()
	t.kick(s)
}

// EndExt ends, with reason, every subscription of the extension number
// (as subscriber) and every subscription to it: its account is gone.
func (t *Table) EndExt(number, reason string) {
	t.mu.Lock()
	var subs []*Subscription
	for _, s := range t.subs {
		if s.Watcher == number || s.Entity == number {
			subs = append(subs, s)
		}
	}
	t.mu.Unlock()
	for _, s := range subs {
		t.End(s, reason)
	}
}

// unfile removes s from the table and reports whether it was there.
func (t *Table) unfile(s *Subscription) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.subs[s.Key] != s {
		return false
	}
	delete(t.subs, s.Key)
	for _, m := range s.Members {
		if e := t.exts[m.Ext]; e != nil {
			delete(e.watchers, s)
			t.forgetLocked(m.Ext, e)
		}
	}
	return true
}

// Leg records a change of one of ext's legs (ended: it is over) and
// notifies its watchers.
func (t *Table) Leg(number string, l Leg, ended bool) {
	t.mu.Lock()
	e := t.extLocked(number)
	if !e.setLeg(l, ended) {
		t.forgetLocked(number, e)
		t.mu.Unlock()
		return
	}
	if ended {
		e.lastEnded = l
	}
	subs := e.watchersLocked(0)
	t.forgetLocked(number, e)
	t.mu.Unlock()
	for _, s := range subs {
		t.kick(s)
	}
}

// SetRegistered records whether ext has a phone registered.
func (t *Table) SetRegistered(number string, on bool) {
	t.set(number, func(e *ext) *bool { return &e.registered }, on)
}

// SetDND records whether ext is in do not disturb.
func (t *Table) SetDND(number string, on bool) {
	t.set(number, func(e *ext) *bool { return &e.dnd }, on)
}

func (t *Table) set(number string, field func(*ext) *bool, on bool) {
	t.mu.Lock()
	e := t.exts[number]
	if e == nil && !on {
		t.mu.Unlock()
		return
	}
	e = t.extLocked(number)
	f := field(e)
	if *f == on {
		t.mu.Unlock()
		return
	}
	*f = on
	// The dialog package does not show registration or DND.
	subs := e.watchersLocked(PresencePackage)
	t.forgetLocked(number, e)
	t.mu.Unlock()
	for _, s := range subs {
		t.kick(s)
	}
}

// watchersLocked lists e's watchers of package p (any when 0).
func (e *ext) watchersLocked(p Package) []*Subscription {
	if len(e.watchers) == 0 {
		return nil
	}
	out := make([]*Subscription, 0, len(e.watchers))
	for s := range e.watchers {
		if p == 0 || s.Package == p {
			out = append(out, s)
		}
	}
	return out
}

// View returns ext's state, with its calls' peers when info is set.
func (t *Table) View(number string, info bool) View {
	t.mu.Lock()
	defer t.mu.Unlock()
	e := t.exts[number]
	if e == nil {
		return View{Ext: number, Status: Offline}
	}
	return e.view(number, info)
}

// kick marks s as owing a NOTIFY and starts its pump unless one runs.
// NOTIFYs of one subscription leave one at a time, in order; changes
// that come while one is on its way are sent together in the next (RFC
// 6665 §4.2.2: the state, not every step, is what is owed).
func (t *Table) kick(s *Subscription) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.done {
		return
	}
	s.dirty = true
	if s.running {
		return
	}
	s.running = true
	t.wg.Add(1)
	go t.pump(s)
}

func (t *Table) pump(s *Subscription) {
	defer t.wg.Done()
	for {
		s.mu.Lock()
		if !s.dirty {
			s.running = false
			s.mu.Unlock()
			return
		}
		s.dirty = false
		s.version++
		n := Notify{Sub: s, Final: s.final, Reason: s.reason, ContentType: s.Package.ContentType()}
		version := s.version
		if !n.Final {
			n.Expires = max(int(time.Until(s.expires).Round(time.Second)/time.Second), 0)
		}
		s.mu.Unlock()
		n.Body = t.body(s, version)
		err := t.send(t.ctx, n)
		if n.Final || errors.Is(err, ErrGone) {
			t.unfile(s)
			s.mu.Lock()
			s.done, s.running = true, false
			if s.timer != nil {
				s.timer.Stop()
			}
			s.mu.Unlock()
			return
		}
	}
}

// body renders the current state of what s watches.
func (t *Table) body(s *Subscription, version uint32) []byte {
	views := make([]View, 0, len(s.Members))
	var ended []Leg
	t.mu.Lock()
	for _, m := range s.Members {
		e := t.exts[m.Ext]
		if e == nil {
			views = append(views, View{Ext: m.Ext})
			continue
		}
		v := e.view(m.Ext, m.Info)
		views = append(views, v)
		if s.Package == DialogPackage && e.lastEnded.ID != "" && len(e.legs) == 0 {
			l := e.lastEnded
			if !m.Info {
				l.Peer, l.PeerName = "", ""
			}
			ended = append(ended, l)
		}
	}
	t.mu.Unlock()
	domain := t.cfg.Domain()
	if s.Package == DialogPackage {
		return DialogInfo(s.Entity, domain, version, views, ended)
	}
	return PIDF(s.Entity, domain, Aggregate(views))
}

// Close ends every subscription with a final NOTIFY (reason deactivated:
// the subscriber may subscribe again, to another node) and waits for them
// to leave until ctx ends.
func (t *Table) Close(ctx context.Context) {
	t.mu.Lock()
	t.closing = true
	subs := make([]*Subscription, 0, len(t.subs))
	for _, s := range t.subs {
		subs = append(subs, s)
	}
	t.mu.Unlock()
	for _, s := range subs {
		t.End(s, "deactivated")
	}
	done := make(chan struct{})
	go func() { t.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
	t.cancel()
	<-done
}
