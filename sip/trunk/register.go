package trunk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// States of a registration to a carrier (Registration.State).
const (
	Registering = "registering" // first attempt in flight
	Registered  = "registered"
	Failed      = "failed" // retrying after a back-off
)

// Registration is the state of the PBX's registration to the carrier of a
// trunk whose Register is set.
type Registration struct {
	Trunk   string    // its name, or host:port when it has none
	State   string    // Registering, Registered or Failed
	Since   time.Time // when it entered State
	Expires time.Time // registered: when the carrier forgets us unless refreshed
	Retry   time.Time // failed: the next attempt
	Error   string    // failed: the carrier's answer or the network error
}

// Defaults of the registrations to carriers.
const (
	defaultExpires    = 3600 // seconds asked for
	defaultRetryMin   = 5 * time.Second
	defaultRetryMax   = 5 * time.Minute
	unregisterTimeout = 4 * time.Second
)

// changed tells the registrations that the trunks changed.
func (k *Table) changed() {
	select {
	case k.wake <- struct{}{}:
	default:
	}
}

func (k *Table) set(r Registration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.status == nil {
		k.status = make(map[string]Registration)
	}
	if old, ok := k.status[r.Trunk]; ok && old.State == r.State {
		r.Since = old.Since
	}
	k.status[r.Trunk] = r
}

func (k *Table) forget(name string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	delete(k.status, name)
}

// sleep waits d or until ctx ends; false when ctx ended.
func (k *Table) sleep(ctx context.Context, d time.Duration) bool {
	var ch <-chan time.Time
	if k.After != nil {
		ch = k.After(d)
	} else {
		t := time.NewTimer(d)
		defer t.Stop()
		ch = t.C
	}
	select {
	case <-ctx.Done():
		return false
	case <-ch:
		return true
	}
}

func (k *Table) backoff() (lo, hi time.Duration) {
	lo, hi = k.RetryMin, k.RetryMax
	if lo <= 0 {
		lo = defaultRetryMin
	}
	if hi < lo {
		hi = max(lo, defaultRetryMax)
	}
	return lo, hi
}

// Registrations returns the state of every registration to a carrier, by
// trunk name.
func (k *Table) Registrations() []Registration {
	k.mu.Lock()
	out := make([]Registration, 0, len(k.status))
	for _, r := range k.status {
		out = append(out, r)
	}
	k.mu.Unlock()
	slices.SortFunc(out, func(a, b Registration) int { return strings.Compare(a.Trunk, b.Trunk) })
	return out
}

// Start registers to the carriers of the trunks that ask for it, and
// follows the trunks as they change, until Stop. Our listeners must be
// known (Contact).
func (k *Table) Start() {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	k.mu.Lock()
	k.cancel, k.done = cancel, done
	k.mu.Unlock()
	go func() {
		defer close(done)
		k.manage(ctx)
	}()
}

// Stop unregisters from every carrier and waits for it; called while the
// listeners can still carry the REGISTERs.
func (k *Table) Stop() {
	k.mu.Lock()
	cancel, done := k.cancel, k.done
	k.cancel = nil
	k.mu.Unlock()
	if cancel == nil {
		return
	}
	cancel()
	<-done
}

// manage keeps one registration goroutine per trunk with
// Register set: a trunk removed or changed is unregistered (and
// registered again with its new values).
func (k *Table) manage(ctx context.Context) {
	type running struct {
		t      Trunk
		cancel context.CancelFunc
		done   chan struct{}
	}
	regs := make(map[string]*running)
	defer func() {
		for _, r := range regs {
			r.cancel() // all at once: they unregister in parallel
		}
		for _, r := range regs {
			<-r.done
		}
	}()
	wake := k.wake
	for {
		want := make(map[string]Trunk)
		for _, t := range k.current().trunks {
			if t.Register {
				want[t.Label()] = *t
			}
		}
		for name, r := range regs {
			if t, ok := want[name]; !ok || !same(&t, &r.t) {
				r.cancel()
				<-r.done
				delete(regs, name)
			}
		}
		for name, t := range want {
			if regs[name] != nil {
				continue
			}
			rctx, cancel := context.WithCancel(ctx)
			r := &running{t: t, cancel: cancel, done: make(chan struct{})}
			regs[name] = r
			go func() {
				defer close(r.done)
				k.register(rctx, t)
			}()
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		}
	}
}

// register registers to the carrier of t and refreshes it before it
// expires, backing off after failures, until ctx ends; then it
// unregisters.
func (k *Table) register(ctx context.Context, t Trunk) {
	name := t.Label()
	r := &trunkReg{k: k, t: t, callID: sip.GenerateTagN(32), tag: sip.GenerateTagN(16)}
	lo, hi := k.backoff()
	backoff := lo
	registered := false
	k.set(Registration{Trunk: name, State: Registering, Since: time.Now()})
	defer k.forget(name)
	want := k.Expires
	if want <= 0 {
		want = defaultExpires
	}
	for {
		exp, err := r.register(ctx, want)
		if ctx.Err() != nil {
			break
		}
		now := time.Now()
		var wait time.Duration
		if err != nil {
			wait = backoff
			backoff = min(2*backoff, hi)
			if registered || backoff == 2*lo || backoff == hi {
				// First failure, and then now and then, not every retry.
				k.cfg.Log.Warn("trunk registration failed", "trunk", name, "err", err, "retry", wait)
			}
			registered = false
			k.set(Registration{Trunk: name, State: Failed, Since: now, Retry: now.Add(wait), Error: err.Error()})
		} else {
			if !registered {
				k.cfg.Log.Info("trunk registered", "trunk", name, "expires", exp)
			}
			registered, backoff = true, lo
			wait = refreshIn(exp)
			k.set(Registration{Trunk: name, State: Registered, Since: now, Expires: now.Add(exp)})
		}
		if !k.sleep(ctx, wait) {
			break
		}
	}
	if !registered {
		return
	}
	uctx, cancel := context.WithTimeout(context.Background(), unregisterTimeout)
	defer cancel()
	if _, err := r.register(uctx, 0); err != nil {
		k.cfg.Log.Warn("trunk not unregistered", "trunk", name, "err", err)
		return
	}
	k.cfg.Log.Info("trunk unregistered", "trunk", name)
}

// refreshIn is when to refresh a registration granted for exp: halfway
// for short ones, a minute early for long ones.
func refreshIn(exp time.Duration) time.Duration {
	if exp <= 2*time.Minute {
		return max(exp/2, time.Second/2)
	}
	return exp - time.Minute
}

// trunkReg is one registration to a carrier: its Call-ID, From tag and
// CSeq stay the same across refreshes (RFC 3261 §10.2.4).
type trunkReg struct {
	k      *Table
	t      Trunk
	callID string
	tag    string
	cseq   uint32
}

// register sends a REGISTER asking for expires seconds (0 unregisters),
// answers a digest challenge, and returns what the carrier granted.
func (r *trunkReg) register(ctx context.Context, expires int) (time.Duration, error) {
	for range 2 { // a second time only after 423 Interval Too Brief
		req := r.request(expires)
		res, err := r.k.cfg.Client.Do(ctx, req)
		if err != nil {
			return 0, err
		}
		if res.StatusCode == 401 || res.StatusCode == 407 {
			if r.t.Username == "" {
				return 0, fmt.Errorf("%d %s: no username to answer with", res.StatusCode, res.Reason)
			}
			res, err = r.k.cfg.Client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{
				Username: r.t.Username, Password: string(r.t.Password)})
			if err != nil {
				return 0, fmt.Errorf("digest: %w", err)
			}
		}
		if cs := req.CSeq(); cs != nil {
			r.cseq = cs.SeqNo
		}
		if res.StatusCode == 423 && expires > 0 {
			if h := res.GetHeader("Min-Expires"); h != nil {
				if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && n > expires {
					expires = n
					continue
				}
			}
		}
		if !res.IsSuccess() {
			return 0, fmt.Errorf("%d %s", res.StatusCode, res.Reason)
		}
		return granted(res, expires), nil
	}
	return 0, errors.New("423 Interval Too Brief twice")
}

func (r *trunkReg) request(expires int) *sip.Request {
	t := &r.t
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: t.Host, Port: t.Port})
	aor := sip.Uri{Scheme: "sip", User: t.Username, Host: t.Host}
	req.AppendHeader(&sip.FromHeader{Address: aor, Params: sip.HeaderParams{{K: "tag", V: r.tag}}})
	req.AppendHeader(&sip.ToHeader{Address: aor})
	cid := sip.CallIDHeader(r.callID)
	req.AppendHeader(&cid)
	r.cseq++
	req.AppendHeader(&sip.CSeqHeader{SeqNo: r.cseq, MethodName: sip.REGISTER})
	// No user part: the carrier then sends calls to sip:host, and the
	// router takes the number dialed (the DID) from the To header.
	contact := r.k.cfg.Contact(t.Addr(), t.Proto())
	contact.Address.User = ""
	req.AppendHeader(&contact)
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(expires)))
	req.AppendHeader(sip.NewHeader("User-Agent", r.k.cfg.UserAgent))
	req.SetTransport(t.Proto())
	req.SetDestination(t.Addr())
	return req
}

// granted returns the registration time the carrier granted: the expires
// of a Contact, else the Expires header, else what was asked.
func granted(res *sip.Response, asked int) time.Duration {
	secs := asked
	if h := res.GetHeader("Expires"); h != nil {
		if n, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && n >= 0 {
			secs = n
		}
	}
	if c := res.Contact(); c != nil {
		if v, ok := c.Params.Get("expires"); ok {
			if n, err := strconv.Atoi(v); err == nil && n >= 0 {
				secs = n
			}
		}
	}
	return time.Duration(secs) * time.Second
}
