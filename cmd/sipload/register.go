package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/icholy/digest"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/internal/dirstore"
)

// registerConfig holds the flags of `sipload register`.
type registerConfig struct {
	Target      string
	Transport   string
	Domain      string
	N           int
	ExtStart    int
	Password    string
	CSV         string
	Create      bool
	Data, DB    string
	Rate        float64
	Duration    time.Duration
	Max         int
	Workers     int
	Expires     int
	Algorithm   string
	Timeout     time.Duration
	AllowRemote bool
	// Contact is host:port the registered phones are reached at (the call
	// load's callee socket); "" names 127.0.0.1 without a port, which a
	// REGISTER-only load never needs to reach.
	Contact string
}

func runRegister(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var c registerConfig
	fs := flag.NewFlagSet("sipload register", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.Target, "target", "127.0.0.1:5060", "PBX address HOST:PORT")
	fs.StringVar(&c.Transport, "transport", "udp", "udp or tcp")
	fs.StringVar(&c.Domain, "domain", "", "SIP domain in the URIs (default: the stored sip.domain with --create, else the target host)")
	fs.IntVar(&c.N, "n", 1000, "number of extensions")
	fs.IntVar(&c.ExtStart, "ext-start", 200000, "first extension number")
	fs.StringVar(&c.Password, "password", "Load-Test-pw!", "extension password of the generated extensions")
	fs.StringVar(&c.CSV, "csv", "", "file of extension,password lines to use instead of generated extensions")
	fs.BoolVar(&c.Create, "create", false, "create the generated extensions in the directory (--data/--db) first")
	fs.StringVar(&c.Data, "data", "./data", "switchboard data directory (with --create)")
	fs.StringVar(&c.DB, "db", "", "switchboard database URL (with --create)")
	fs.Float64Var(&c.Rate, "rate", 1000, "target REGISTER transactions started per second")
	fs.DurationVar(&c.Duration, "duration", 10*time.Second, "how long to send (bounded)")
	fs.IntVar(&c.Max, "max", 1_000_000, "upper bound on registrations sent")
	fs.IntVar(&c.Workers, "workers", 64, "concurrent registrations in flight")
	fs.IntVar(&c.Expires, "expires", 3600, "Expires asked for")
	fs.StringVar(&c.Algorithm, "algorithm", "", "digest algorithm to answer with: MD5 or SHA-256 (default: the first offered)")
	fs.DurationVar(&c.Timeout, "timeout", 5*time.Second, "per-registration timeout")
	fs.BoolVar(&c.AllowRemote, "allow-remote", false, "allow a target that is not a loopback address")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return &usageError{err.Error()}
	}
	if err := c.validate(); err != nil {
		return &usageError{err.Error()}
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	exts, err := c.extensions(ctx, log)
	if err != nil {
		return err
	}
	if c.Domain == "" {
		c.Domain, _, _ = net.SplitHostPort(c.Target)
	}
	fmt.Fprintf(stderr, "registering %d extensions at %s via %s, %.0f/s for %s\n", len(exts), c.Target, c.Transport, c.Rate, c.Duration)
	st, elapsed, err := c.load(ctx, exts, log)
	if err != nil {
		return err
	}
	st.report(stdout, "registrations", elapsed)
	return nil
}

func (c *registerConfig) validate() error {
	var errs []error
	host, port, err := net.SplitHostPort(c.Target)
	if err != nil {
		errs = append(errs, fmt.Errorf("--target %q: must be HOST:PORT", c.Target))
	} else if ip, err := netip.ParseAddr(host); (err != nil || !ip.IsLoopback()) && !c.AllowRemote {
		errs = append(errs, fmt.Errorf("--target %q: only loopback addresses unless --allow-remote", c.Target))
	} else if p, err := strconv.Atoi(port); err != nil || p <= 0 || p > 65535 {
		errs = append(errs, fmt.Errorf("--target %q: bad port", c.Target))
	}
	c.Transport = strings.ToUpper(c.Transport)
	if c.Transport != "UDP" && c.Transport != "TCP" {
		errs = append(errs, fmt.Errorf("--transport %q: must be udp or tcp", c.Transport))
	}
	if c.CSV == "" && (c.N <= 0 || c.N > 1_000_000 || c.ExtStart < 10000 || c.ExtStart+c.N-1 > 999999) {
		errs = append(errs, fmt.Errorf("--n %d --ext-start %d: extensions must stay within 10000-999999", c.N, c.ExtStart))
	}
	if c.Rate <= 0 || c.Rate > 100_000 {
		errs = append(errs, fmt.Errorf("--rate %g: must be above 0 and at most 100000", c.Rate))
	}
	if c.Duration <= 0 || c.Duration > time.Hour {
		errs = append(errs, fmt.Errorf("--duration %s: must be above 0 and at most 1h", c.Duration))
	}
	if c.Workers <= 0 || c.Workers > 10_000 {
		errs = append(errs, fmt.Errorf("--workers %d: must be 1 to 10000", c.Workers))
	}
	if c.Max <= 0 {
		errs = append(errs, fmt.Errorf("--max %d: must be positive", c.Max))
	}
	switch strings.ToUpper(c.Algorithm) {
	case "", "MD5", "SHA-256":
		c.Algorithm = strings.ToUpper(c.Algorithm)
	default:
		errs = append(errs, fmt.Errorf("--algorithm %q: must be MD5 or SHA-256", c.Algorithm))
	}
	return errors.Join(errs...)
}

// ext is one extension under load with its digest state: the last
// challenge is answered again with a higher nonce count, as phones do on
// refresh, until the PBX says it is stale.
type ext struct {
	mu     sync.Mutex
	number string
	pw     string
	callID string
	cseq   uint32
	tag    string
	chal   *digest.Challenge
	nc     int
}

func (c *registerConfig) extensions(ctx context.Context, log *slog.Logger) ([]*ext, error) {
	var exts []*ext
	if c.CSV != "" {
		f, err := os.Open(c.CSV)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for line := 1; sc.Scan(); line++ {
			number, pw, ok := strings.Cut(strings.TrimSpace(sc.Text()), ",")
			if !ok || directory.ValidateExtension("extension", number) != nil {
				if line == 1 {
					continue // a header
				}
				return nil, fmt.Errorf("%s line %d: want extension,password", c.CSV, line)
			}
			exts = append(exts, &ext{number: number, pw: pw})
		}
		if err := sc.Err(); err != nil {
			return nil, err
		}
	} else {
		for i := range c.N {
			exts = append(exts, &ext{number: strconv.Itoa(c.ExtStart + i), pw: c.Password})
		}
	}
	if len(exts) == 0 {
		return nil, errors.New("no extensions to register")
	}
	for _, e := range exts {
		e.callID = randHex(12)
		e.tag = randHex(6)
	}
	if c.Create {
		if err := c.create(ctx, exts, log); err != nil {
			return nil, err
		}
	}
	return exts, nil
}

// create adds the extensions that do not exist yet through the directory,
// as `switchboard user add` would, with no web password.
func (c *registerConfig) create(ctx context.Context, exts []*ext, log *slog.Logger) error {
	st, err := dirstore.Open(ctx, c.DB, c.Data, log)
	if err != nil {
		return err
	}
	defer st.Close()
	if c.Domain == "" {
		if c.Domain, err = st.Setting(ctx, directory.SettingDomain); err != nil {
			return err
		}
	}
	made := 0
	for _, e := range exts {
		if _, err := st.UserByExtension(ctx, e.number); err == nil {
			continue
		}
		n := directory.NewUser{Name: "sipload " + e.number, Email: "load" + e.number + "@sipload.invalid",
			Extension: e.number, ExtPassword: directory.Password(e.pw)}
		if _, err := directory.AddUser(ctx, st, n, directory.DefaultPasswordPolicy); err != nil {
			return fmt.Errorf("create extension %s: %w", e.number, err)
		}
		made++
	}
	fmt.Fprintf(os.Stderr, "created %d extensions (%d existed)\n", made, len(exts)-made)
	return nil
}

func (c *registerConfig) load(ctx context.Context, exts []*ext, log *slog.Logger) (*stats, time.Duration, error) {
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("sipload"))
	if err != nil {
		return nil, 0, err
	}
	defer ua.Close()
	client, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"), sipgo.WithClientLogger(log))
	if err != nil {
		return nil, 0, err
	}
	defer client.Close()

	ctx, cancel := context.WithTimeout(ctx, c.Duration+c.Timeout)
	defer cancel()
	expected := int(c.Rate*c.Duration.Seconds()) + 1
	st := newStats(min(expected, c.Max))
	jobs := make(chan *ext, c.Workers)
	var wg sync.WaitGroup
	for range c.Workers {
		wg.Go(func() {
			for e := range jobs {
				t0 := time.Now()
				if err := c.register(ctx, client, e); err != nil {
					st.failure(err.Error())
					continue
				}
				st.success(time.Since(t0))
			}
		})
	}
	start, _ := pace(ctx, c.Rate, c.Duration, c.Max, func(i int) bool {
		select {
		case jobs <- exts[i%len(exts)]:
			return true
		case <-ctx.Done():
			return false
		}
	})
	close(jobs)
	wg.Wait()
	return st, time.Since(start), nil
}

// register sends one REGISTER for e and answers a challenge once. The error
// text names the outcome ("401 Unauthorized", "timeout"), for the report.
func (c *registerConfig) register(ctx context.Context, client *sipgo.Client, e *ext) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	req := c.request(e)
	if e.chal != nil {
		if err := c.authorize(req, e); err != nil {
			return err
		}
	}
	res, err := client.Do(ctx, req)
	if err != nil {
		return outcome(err)
	}
	if res.StatusCode == sip.StatusUnauthorized {
		chal, err := c.pickChallenge(res)
		if err != nil {
			return err
		}
		e.chal, e.nc = chal, 0
		req = c.request(e)
		if err := c.authorize(req, e); err != nil {
			return err
		}
		if res, err = client.Do(ctx, req); err != nil {
			return outcome(err)
		}
	}
	if res.StatusCode != sip.StatusOK {
		e.chal = nil
		return fmt.Errorf("%d %s", res.StatusCode, res.Reason)
	}
	return nil
}

func outcome(err error) error {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, sip.ErrTransactionTimeout) {
		return errors.New("timeout")
	}
	return errors.New("transport error")
}

func (c *registerConfig) request(e *ext) *sip.Request {
	e.cseq++
	aor := sip.Uri{Scheme: "sip", User: e.number, Host: c.Domain}
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: c.Domain})
	from := &sip.FromHeader{Address: aor, Params: sip.NewParams()}
	from.Params.Add("tag", e.tag)
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: aor, Params: sip.NewParams()})
	callID := sip.CallIDHeader(e.callID)
	req.AppendHeader(&callID)
	req.AppendHeader(&sip.CSeqHeader{SeqNo: e.cseq, MethodName: sip.REGISTER})
	params := sip.NewParams()
	params.Add("transport", strings.ToLower(c.Transport))
	contact := sip.Uri{Scheme: "sip", User: e.number, Host: "127.0.0.1", UriParams: params}
	if host, port, err := net.SplitHostPort(c.Contact); err == nil {
		contact.Host = host
		contact.Port, _ = strconv.Atoi(port)
	}
	req.AppendHeader(&sip.ContactHeader{Address: contact})
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(c.Expires)))
	req.SetTransport(c.Transport)
	req.SetDestination(c.Target)
	return req
}

func (c *registerConfig) pickChallenge(res *sip.Response) (*digest.Challenge, error) {
	for _, h := range res.GetHeaders("WWW-Authenticate") {
		chal, err := digest.ParseChallenge(h.Value())
		if err != nil {
			continue
		}
		chal.Algorithm = strings.ToUpper(chal.Algorithm)
		if chal.Algorithm == "" {
			chal.Algorithm = "MD5"
		}
		if c.Algorithm == "" || chal.Algorithm == c.Algorithm {
			return chal, nil
		}
	}
	return nil, fmt.Errorf("401 without a usable %s challenge", c.Algorithm)
}

func (c *registerConfig) authorize(req *sip.Request, e *ext) error {
	e.nc++
	cred, err := digest.Digest(e.chal, digest.Options{Method: "REGISTER", URI: req.Recipient.String(),
		Username: e.number, Password: e.pw, Count: e.nc})
	if err != nil {
		return fmt.Errorf("digest: %w", err)
	}
	req.RemoveHeader("Authorization")
	req.AppendHeader(sip.NewHeader("Authorization", cred.String()))
	return nil
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
