package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// callLoadConfig holds the flags of `sipload call`. The extensions come in
// pairs: the even ones (from --ext-start) call, the odd ones answer.
type callLoadConfig struct {
	registerConfig
	Hold    time.Duration // media time per answered call
	Sockets int           // RTP sockets per side
	Grace   time.Duration // how long in-flight RTP may take before BYE
}

// packetTime is the G.711 packetization: 20 ms, 160 samples.
const (
	packetTime  = 20 * time.Millisecond
	payloadSize = 160
)

func runCall(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c callLoadConfig
	fs := flag.NewFlagSet("sipload call", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Target, "target", "127.0.0.1:5060", "PBX address HOST:PORT (UDP)")
	fs.StringVar(&c.Domain, "domain", "", "SIP domain in the URIs (default: the stored sip.domain with --create, else the target host)")
	fs.IntVar(&c.N, "n", 1000, "number of extensions, in caller/callee pairs (even)")
	fs.IntVar(&c.ExtStart, "ext-start", 200000, "first extension number")
	fs.StringVar(&c.Password, "password", "Load-Test-pw!", "extension password of the generated extensions")
	fs.BoolVar(&c.Create, "create", false, "create the extensions in the directory (--data/--db) first")
	fs.StringVar(&c.Data, "data", "./data", "switchboard data directory (with --create)")
	fs.StringVar(&c.DB, "db", "", "switchboard database URL (with --create)")
	fs.Float64Var(&c.Rate, "rate", 10, "calls started per second")
	fs.DurationVar(&c.Duration, "duration", 10*time.Second, "how long to start calls (bounded)")
	fs.IntVar(&c.Max, "calls", 1_000_000, "upper bound on calls placed")
	fs.IntVar(&c.Workers, "concurrency", 100, "calls in progress at most")
	fs.DurationVar(&c.Hold, "hold", 5*time.Second, "media time per answered call (RTP both ways, then BYE)")
	fs.IntVar(&c.Sockets, "rtp-sockets", 4, "RTP sockets per side (calls share them, told apart by SSRC)")
	fs.DurationVar(&c.Grace, "grace", 500*time.Millisecond, "wait at most this long for RTP in flight before BYE")
	fs.StringVar(&c.Algorithm, "algorithm", "", "digest algorithm for REGISTER: MD5 or SHA-256 (default: the first offered)")
	fs.DurationVar(&c.Timeout, "timeout", 5*time.Second, "per-transaction timeout (REGISTER, call setup, BYE)")
	fs.BoolVar(&c.AllowRemote, "allow-remote", false, "allow a target that is not a loopback address")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{err.Error()}
	}
	c.Transport, c.Expires = "udp", 3600
	if err := c.validate(); err != nil {
		return &usageError{err.Error()}
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	exts, err := c.extensions(ctx, log)
	if err != nil {
		return err
	}
	if len(exts) < 2 {
		return errors.New("need at least two extensions, a caller and a callee")
	}
	if c.Domain == "" {
		c.Domain, _, _ = net.SplitHostPort(c.Target)
	}
	pairs := len(exts) / 2
	fmt.Fprintf(stderr, "calling through %s: %d caller/callee pairs, %.0f calls/s for %s, %d at most at once, %s of RTP each\n",
		c.Target, pairs, c.Rate, c.Duration, c.Workers, c.Hold)
	if per := (c.Workers + pairs - 1) / pairs; per > 4 {
		fmt.Fprintf(stderr, "warning: up to %d calls per extension at once; the PBX limits them (default 4)\n", per)
	}
	r, err := c.load(ctx, exts, log)
	if err != nil {
		return err
	}
	r.print(stdout)
	return nil
}

func (c *callLoadConfig) validate() error {
	var errs []error
	// The shared checks, with this command's names for calls and workers.
	max, workers := c.Max, c.Workers
	c.Max, c.Workers = 1, 1
	if err := c.registerConfig.validate(); err != nil {
		errs = append(errs, err)
	}
	c.Max, c.Workers = max, workers
	if c.Max <= 0 {
		errs = append(errs, fmt.Errorf("--calls %d: must be positive", c.Max))
	}
	if c.Workers <= 0 || c.Workers > 10_000 {
		errs = append(errs, fmt.Errorf("--concurrency %d: must be 1 to 10000", c.Workers))
	}
	if c.Hold < 0 || c.Hold > time.Hour {
		errs = append(errs, fmt.Errorf("--hold %s: must be 0 to 1h", c.Hold))
	}
	if c.Sockets < 1 || c.Sockets > 256 {
		errs = append(errs, fmt.Errorf("--rtp-sockets %d: must be 1 to 256", c.Sockets))
	}
	if c.Grace < 0 || c.Grace > time.Minute {
		errs = append(errs, fmt.Errorf("--grace %s: must be 0 to 1m", c.Grace))
	}
	return errors.Join(errs...)
}

// callResult is what a call load run prints.
type callResult struct {
	setup            *stats
	window, elapsed  time.Duration
	sent, recv, lost int64
	calls            int64
}

func (r *callResult) print(w io.Writer) {
	r.setup.report(w, "calls", r.window)
	fmt.Fprintf(w, "run %.2fs (dial window %.2fs, then the last calls' media)\n", r.elapsed.Seconds(), r.window.Seconds())
	loss := 0.0
	if r.sent > 0 {
		loss = 100 * float64(r.lost) / float64(r.sent)
	}
	fmt.Fprintf(w, "rtp: %d sent, %d received, %d lost (%.4f%%) over %d answered calls\n", r.sent, r.recv, r.lost, loss, r.calls)
}

// pending is an answered call the callee side waits on, found by the
// session name the caller puts in its SDP (the PBX passes s= through).
type pending struct {
	callee chan *stream // the callee's stream, once it answered
}

// callLoad is one run of `sipload call`.
type callLoad struct {
	c     *callLoadConfig
	m     *mediaEngine
	want  int
	calls sync.Map // session name -> *pending
	next  atomic.Uint64

	callerUA, calleeUA         *sipgo.UserAgent
	callerClient, calleeClient *sipgo.Client
	dcc                        *sipgo.DialogClientCache
	dsc                        *sipgo.DialogServerCache
	callerAddr, calleeAddr     string
	sockets                    []net.PacketConn // the SIP sockets, closed after the user agents
	answered                   atomic.Int64
}

func (c *callLoadConfig) load(ctx context.Context, exts []*ext, log *slog.Logger) (*callResult, error) {
	m, err := newMediaEngine(c.Sockets)
	if err != nil {
		return nil, err
	}
	defer m.close()
	l := &callLoad{c: c, m: m, want: int(c.Hold / packetTime)}
	runCtx, cancelRun := context.WithTimeout(ctx, c.Duration+c.Hold+c.Grace+3*c.Timeout+time.Second)
	defer cancelRun()
	mctx, stopMedia := context.WithCancel(runCtx)
	defer stopMedia()
	m.run(mctx)
	defer l.close()
	if err := l.startUAs(runCtx, log); err != nil {
		return nil, err
	}

	pairs := len(exts) / 2
	callers, callees := make([]*ext, pairs), make([]*ext, pairs)
	for i := range pairs {
		callers[i], callees[i] = exts[2*i], exts[2*i+1]
	}
	if err := l.registerCallees(runCtx, callees); err != nil {
		return nil, err
	}
	defer l.unregisterCallees(callees)

	expected := int(c.Rate*c.Duration.Seconds()) + 1
	st := newStats(min(expected, c.Max))
	st.latencyName = "setup latency"
	type job struct{ from, to *ext }
	jobs := make(chan job, c.Workers)
	var wg sync.WaitGroup
	for range c.Workers {
		wg.Go(func() {
			for j := range jobs {
				l.call(runCtx, st, j.from, j.to)
			}
		})
	}
	start, window := pace(runCtx, c.Rate, c.Duration, c.Max, func(i int) bool {
		select {
		case jobs <- job{callers[i%pairs], callees[i%pairs]}:
			return true
		case <-runCtx.Done():
			return false
		}
	})
	close(jobs)
	window = max(window, c.Duration)
	wg.Wait()
	elapsed := time.Since(start)
	stopMedia()
	r := &callResult{setup: st, window: window, elapsed: elapsed, calls: l.answered.Load()}
	r.sent, r.recv, r.lost = m.totals()
	return r, nil
}

// startUAs makes the caller and the callee user agents, each on its own
// UDP socket: the callee registers from its socket, so the PBX sends the
// INVITEs there.
func (l *callLoad) startUAs(ctx context.Context, log *slog.Logger) error {
	var err error
	for _, side := range []struct {
		ua     **sipgo.UserAgent
		client **sipgo.Client
		addr   *string
		callee bool
	}{{&l.callerUA, &l.callerClient, &l.callerAddr, false}, {&l.calleeUA, &l.calleeClient, &l.calleeAddr, true}} {
		conn, lerr := net.ListenPacket("udp", "127.0.0.1:0")
		if lerr != nil {
			return fmt.Errorf("sip socket: %w", lerr)
		}
		*side.addr = conn.LocalAddr().String()
		l.sockets = append(l.sockets, conn)
		ua, uerr := sipgo.NewUA(sipgo.WithUserAgent("sipload"))
		if uerr != nil {
			return uerr
		}
		*side.ua = ua
		srv, serr := sipgo.NewServer(ua, sipgo.WithServerLogger(log))
		if serr != nil {
			return serr
		}
		if *side.client, err = sipgo.NewClient(ua, sipgo.WithClientLogger(log),
			sipgo.WithClientConnectionAddr(*side.addr)); err != nil {
			return err
		}
		host, port, _ := net.SplitHostPort(*side.addr)
		p, _ := strconv.Atoi(port)
		contact := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "sipload", Host: host, Port: p}}
		if side.callee {
			l.dsc = sipgo.NewDialogServerCache(*side.client, contact)
			srv.OnInvite(l.onInvite)
			srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { _ = l.dsc.ReadAck(req, tx) })
			srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
				if err := l.dsc.ReadBye(req, tx); err != nil {
					_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
				}
			})
		} else {
			l.dcc = sipgo.NewDialogClientCache(*side.client, contact)
			srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
				if err := l.dcc.ReadBye(req, tx); err != nil {
					_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
				}
			})
		}
		srv.OnOptions(func(req *sip.Request, tx sip.ServerTransaction) {
			_ = tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
		})
		go func() { _ = srv.ServeUDP(conn) }()
		if err := waitListening(ctx, ua, *side.addr); err != nil {
			return err
		}
	}
	return nil
}

// waitListening returns once the user agent's transport holds the
// listening socket at addr (ServeUDP adds it from its own goroutine, and a
// request sent before that would open a socket of its own).
func waitListening(ctx context.Context, ua *sipgo.UserAgent, addr string) error {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	for range 5000 {
		if _, err := ua.TransportLayer().GetConnection("udp", addr); err == nil {
			return nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return fmt.Errorf("sip socket %s: not served", addr)
}

func (l *callLoad) close() {
	for _, ua := range []*sipgo.UserAgent{l.callerUA, l.calleeUA} {
		if ua != nil {
			ua.Close()
		}
	}
	// sipgo leaves the sockets it serves to their owner.
	for _, conn := range l.sockets {
		conn.Close()
	}
}

// registerCallees registers every callee extension from the callee socket,
// with the digest code of `sipload register`.
func (l *callLoad) registerCallees(ctx context.Context, callees []*ext) error {
	// The PBX reaches a phone that registers without crossing a NAT at its
	// Contact (RFC 3261 §10): name the callee socket there.
	l.c.Contact = l.calleeAddr
	sem := make(chan struct{}, 32)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for _, e := range callees {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := l.c.register(ctx, l.calleeClient, e); err != nil {
				mu.Lock()
				errs = append(errs, fmt.Errorf("register callee %s: %w", e.number, err))
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(errs) > 3 {
		errs = append(errs[:3], fmt.Errorf("and %d more", len(errs)-3))
	}
	return errors.Join(errs...)
}

// unregisterCallees removes the bindings again, so that a later run does
// not ring a socket that is gone.
func (l *callLoad) unregisterCallees(callees []*ext) {
	u := l.c.registerConfig
	u.Expires = 0
	ctx, cancel := context.WithTimeout(context.Background(), l.c.Timeout)
	defer cancel()
	var wg sync.WaitGroup
	sem := make(chan struct{}, 32)
	for _, e := range callees {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			_ = u.register(ctx, l.calleeClient, e)
		})
	}
	wg.Wait()
}

// call places one call from a to b: INVITE (answering the 407), ACK, RTP
// both ways for the hold time, BYE. The setup latency counts from the
// first INVITE to the 200.
func (l *callLoad) call(ctx context.Context, st *stats, a, b *ext) {
	c := l.c
	id := l.next.Add(1)
	name := "sipload-" + strconv.FormatUint(id, 10)
	conn := l.m.callers[id%uint64(len(l.m.callers))]
	p := &pending{callee: make(chan *stream, 1)}
	l.calls.Store(name, p)
	defer l.calls.Delete(name)

	host, port, _ := net.SplitHostPort(c.Target)
	n, _ := strconv.Atoi(port)
	from := &sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: a.number, Host: c.Domain},
		Params: sip.HeaderParams{{K: "tag", V: sip.GenerateTagN(10)}}}
	to := &sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: b.number, Host: c.Domain}}
	sctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	t0 := time.Now()
	sess, err := l.dcc.Invite(sctx, sip.Uri{Scheme: "sip", User: b.number, Host: host, Port: n}, offer(conn, name),
		from, to, sip.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		st.failure("invite: " + outcome(err).Error())
		return
	}
	defer sess.Close()
	if err := sess.WaitAnswer(sctx, sipgo.AnswerOptions{Username: a.number, Password: a.pw}); err != nil {
		st.failure(setupOutcome(err))
		return
	}
	setup := time.Since(t0)
	if err := sess.Ack(sctx); err != nil {
		st.failure("ack: " + outcome(err).Error())
		return
	}
	l.answered.Add(1)
	var out *stream
	if dst, _, err := parseMedia(sess.InviteResponse.Body()); err != nil {
		st.failure("bad answer sdp")
	} else {
		out = l.m.start(conn, dst, l.want)
		defer l.m.finish(out)
	}
	var in *stream
	hold := time.NewTimer(c.Hold + c.Timeout)
	defer hold.Stop()
	select {
	case in = <-p.callee:
	case <-hold.C:
	case <-ctx.Done():
	}
	// Both streams have sent their packets in about the hold time; wait
	// for the last ones to arrive, at most the grace time after that.
	hold.Reset(c.Hold + c.Grace)
	for _, s := range []*stream{out, in} {
		if s == nil {
			continue
		}
		select {
		case <-s.done:
		case <-hold.C:
		case <-ctx.Done():
		}
	}
	for _, s := range []*stream{out, in} {
		if s != nil {
			s.stop.Store(true)
		}
	}
	bctx, bcancel := context.WithTimeout(context.WithoutCancel(ctx), c.Timeout)
	defer bcancel()
	if err := sess.Bye(bctx); err != nil {
		st.failure("bye: " + byeOutcome(err))
		return
	}
	st.success(setup)
}

// onInvite answers an INVITE from the PBX with PCMU and starts the
// callee's stream once the ACK came.
func (l *callLoad) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	dst, name, err := parseMedia(req.Body())
	if err != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 488, "Not Acceptable Here", nil))
		return
	}
	var p *pending
	if v, ok := l.calls.Load(name); ok {
		p = v.(*pending)
	}
	dlg, err := l.dsc.ReadInvite(req, tx)
	if err != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 500, "Server Internal Error", nil))
		return
	}
	defer dlg.Close()
	id := l.next.Add(1)
	conn := l.m.callees[id%uint64(len(l.m.callees))]
	if err := dlg.RespondSDP(offer(conn, "sipload-answer")); err != nil {
		return
	}
	s := l.m.start(conn, dst, l.want)
	if p != nil {
		p.callee <- s
	}
	<-dlg.Context().Done()
	l.m.finish(s)
}

// setupOutcome names a failed call setup: the final status, or timeout.
func setupOutcome(err error) string {
	var de *sipgo.ErrDialogResponse
	if errors.As(err, &de) {
		return fmt.Sprintf("%d %s", de.Res.StatusCode, de.Res.Reason)
	}
	return outcome(err).Error()
}

func byeOutcome(err error) string {
	var de *sipgo.ErrDialogResponse
	if errors.As(err, &de) {
		return fmt.Sprintf("%d %s", de.Res.StatusCode, de.Res.Reason)
	}
	if s := err.Error(); strings.Contains(s, "non 200") {
		return s
	}
	return outcome(err).Error()
}
