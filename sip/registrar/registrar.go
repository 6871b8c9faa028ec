package registrar

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/internal/clock"
	"github.com/switchboard-pbx/switchboard/sip/auth"
	"github.com/switchboard-pbx/switchboard/sip/creds"
	"github.com/switchboard-pbx/switchboard/sip/location"
	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// maxContactLen bounds one Contact URI; real ones are well under 200 bytes.
const maxContactLen = 512

// Config sets the registrar.
type Config struct {
	Agent string // the Server header of its responses
	Node  string // this node's name, stored with the bindings it writes
	// MinExpires, MaxExpires and DefaultExpires bound registrations: a
	// shorter one gets 423, a longer one is cut to MaxExpires, a request
	// without any gets DefaultExpires.
	MinExpires, MaxExpires, DefaultExpires time.Duration
	// MaxBindings caps the contacts of one extension whatever its own
	// device limit.
	MaxBindings int
}

// Registrar is the registrar (RFC 3261 §10.3): it authenticates a
// REGISTER through the digest check it is given and applies it to the
// location service.
type Registrar struct {
	cfg   Config
	auth  *auth.Checker
	loc   *location.Table
	clock clock.Clock
	log   *slog.Logger
}

// New returns a registrar of cfg that authenticates with a and keeps the
// bindings in loc.
func New(cfg Config, a *auth.Checker, loc *location.Table, c clock.Clock, log *slog.Logger) *Registrar {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Registrar{cfg: cfg, auth: a, loc: loc, clock: c, log: log}
}

// OnRegister answers a REGISTER its caller admitted from src, on a
// transaction of sipgo's or a wire.Transaction alike.
func (r *Registrar) OnRegister(req *sip.Request, tx sip.ServerTransaction, src netip.AddrPort) {
	r.serve(req, tx, src, nil)
}

// Detach runs f, the rest of the answer to req on tx, in a goroutine of
// its own (answering 500 should it panic).
type Detach func(req *sip.Request, tx sip.ServerTransaction, f func())

// OnRegisterInline is OnRegister for the reader of a datagram socket,
// which must not wait: it answers what it can answer from memory (a
// challenge, a refresh written behind or not at all, a refusal) at once,
// and hands to detach what would wait: a lookup of credentials that are
// not cached, an extension's lock held by a registration waiting for its
// write, a write to the store before the 200. Answering on the reader
// spares every REGISTER a goroutine and the wake of another thread to run
// it: at 6,000 a second on two cores that was 15-18% of the registrar's
// CPU.
func (r *Registrar) OnRegisterInline(req *sip.Request, tx sip.ServerTransaction, src netip.AddrPort, detach Detach) {
	if !r.auth.Cached(req, auth.Registrar) {
		detach(req, tx, func() { r.serve(req, tx, src, nil) })
		return
	}
	r.serve(req, tx, src, detach)
}

// serve answers req; with detach set it must not wait (OnRegisterInline).
func (r *Registrar) serve(req *sip.Request, tx sip.ServerTransaction, src netip.AddrPort, detach Detach) {
	rr, err := parseRegister(req)
	if err != nil {
		r.respond(tx, req, 400, err.Error())
		return
	}
	if bad := unsupported(req); bad != "" {
		r.send(tx, r.response(req, 420, "Bad Extension").Add("Unsupported", bad))
		return
	}
	cred, ok := r.auth.Check(req, tx, src.Addr(), auth.Registrar)
	if !ok {
		return
	}
	// The credentials must be those of the extension being registered: no
	// registering someone else's extension with your own password.
	if cred.Ext != rr.ext {
		r.respond(tx, req, 403, "Forbidden (To is not the authenticated extension)")
		return
	}
	if !r.auth.Current(req, tx, cred, auth.Registrar) {
		return
	}
	r.register(req, tx, cred, rr, src, detach)
}

// CheckSyntax returns the reason phrase of the 400 the registrar answers
// req with, nil when req is a well-formed REGISTER.
func CheckSyntax(req *sip.Request) error {
	_, err := parseRegister(req)
	return err
}

// registerRequest is what a REGISTER asks for, checked for syntax.
type registerRequest struct {
	ext      string
	callID   string
	cseq     uint32
	wildcard bool
	contacts []contact
	// expires is the Expires header, -1 when absent.
	expires int64
	// path is the Path of the REGISTER (RFC 3327), its entries in order.
	path []string
}

type contact struct {
	uri     string
	expires int64 // -1: not given
}

// parseRegister checks the syntax of a REGISTER; its errors are reason
// phrases for a 400.
func parseRegister(req *sip.Request) (registerRequest, error) {
	r := registerRequest{expires: -1}
	var err error
	to, from, callID, cseq := req.To(), req.From(), req.CallID(), req.CSeq()
	switch {
	case to == nil:
		return r, errors.New("Missing To")
	case from == nil:
		return r, errors.New("Missing From")
	case callID == nil || callID.Value() == "":
		return r, errors.New("Missing Call-ID")
	case cseq == nil:
		return r, errors.New("Missing CSeq")
	case cseq.MethodName != sip.REGISTER:
		return r, errors.New("CSeq Method Is Not REGISTER")
	}
	if s := to.Address.Scheme; s != "" && s != "sip" && s != "sips" {
		return r, errors.New("To Must Be A SIP URI")
	}
	r.ext, r.callID, r.cseq = to.Address.User, callID.Value(), cseq.SeqNo
	seen := false
	for h := range wire.Headers(req, "expires") {
		if seen {
			return r, errors.New("More Than One Expires")
		}
		seen = true
		e, ok := wire.ParseDeltaSeconds(h.Value())
		if !ok {
			return r, errors.New("Bad Expires")
		}
		r.expires = e
	}
	for h := range wire.Headers(req, "contact") {
		c, ok := h.(*sip.ContactHeader)
		if !ok {
			return r, errors.New("Bad Contact")
		}
		if c.Address.Wildcard {
			r.wildcard = true
			continue
		}
		uri, err := contactURI(c)
		if err != nil {
			return r, err
		}
		ct := contact{uri: uri, expires: -1}
		if v, ok := headerParam(c.Params, "expires"); ok {
			e, ok := wire.ParseDeltaSeconds(v)
			if !ok {
				return r, errors.New("Bad Contact Expires")
			}
			ct.expires = e
		}
		r.contacts = append(r.contacts, ct)
	}
	if r.path, err = parsePath(req); err != nil {
		return r, err
	}
	// RFC 3261 §10.3 step 6: "*" stands alone and needs Expires: 0.
	if r.wildcard && (len(r.contacts) > 0 || r.expires != 0) {
		return r, errors.New("Contact * Needs Expires 0 And No Other Contact")
	}
	return r, nil
}

// contactURI returns the binding key of a Contact: its URI as text.
func contactURI(c *sip.ContactHeader) (string, error) {
	a := &c.Address
	if (a.Scheme != "sip" && a.Scheme != "sips") || a.Host == "" || a.Raw() != "" {
		return "", errors.New("Contact Must Be A SIP URI")
	}
	if a.Port < 0 || a.Port > 65535 {
		return "", errors.New("Bad Contact Port")
	}
	uri := a.String()
	if len(uri) > maxContactLen {
		return "", errors.New("Contact Too Long")
	}
	if strings.ContainsAny(uri, "\r\n\x00") {
		return "", errors.New("Bad Contact")
	}
	return uri, nil
}

func headerParam(p sip.HeaderParams, key string) (string, bool) {
	for _, kv := range p {
		if strings.EqualFold(kv.K, key) {
			return kv.V, true
		}
	}
	return "", false
}

// register applies an authenticated REGISTER to the location service.
// With detach set it must not wait: it hands the rest to detach where it
// would.
func (r *Registrar) register(req *sip.Request, tx sip.ServerTransaction, cred *creds.Credential, rr registerRequest, src netip.AddrPort, detach Detach) {
	ext := cred.Ext
	var unlock func()
	if detach == nil {
		unlock = r.loc.Lock(ext)
	} else if unlock = r.loc.TryLock(ext); unlock == nil {
		detach(req, tx, func() { r.register(req, tx, cred, rr, src, nil) })
		return
	}
	// A write handed to detach takes the lock with it.
	defer func() {
		if unlock != nil {
			unlock()
		}
	}()
	now := r.clock.Now()
	cur := r.loc.Current(ext)

	if rr.wildcard {
		commit := func() {
			r.loc.Commit(context.Background(), ext, nil, nil, nil, true)
			for _, b := range cur {
				r.log.Info("unregistered", "ext", ext, "contact", b.Contact, "src", b.Source)
			}
			r.send(tx, r.okResponse(req, nil, now))
		}
		if detach != nil {
			held := unlock
			unlock = nil
			detach(req, tx, func() { defer held(); commit() })
			return
		}
		commit()
		return
	}
	if len(rr.contacts) == 0 { // a query (RFC 3261 §10.3 step 6)
		r.send(tx, r.okResponse(req, cur, now))
		return
	}

	next := make([]directory.Binding, 0, len(cur)+len(rr.contacts))
	next = append(next, cur...)
	// puts are written before the 200; refreshes may be written behind.
	var puts, refreshes, dels []directory.Binding
	added := 0
	for _, c := range rr.contacts {
		sec := c.expires
		if sec < 0 {
			sec = rr.expires
		}
		if sec < 0 {
			sec = int64(r.cfg.DefaultExpires / time.Second)
		}
		exp := time.Duration(sec) * time.Second
		if sec > 0 && exp < r.cfg.MinExpires {
			r.send(tx, r.response(req, 423, "Interval Too Brief").
				Add("Min-Expires", strconv.FormatInt(int64(r.cfg.MinExpires/time.Second), 10)))
			return
		}
		if exp > r.cfg.MaxExpires || sec > int64(r.cfg.MaxExpires/time.Second) {
			exp = r.cfg.MaxExpires
		}
		// RFC 3261 §10.3 step 7: the same Call-ID must come with a higher
		// CSeq.
		if j := location.Index(cur, c.uri); j >= 0 && cur[j].CallID == rr.callID && rr.cseq <= cur[j].CSeq {
			r.respond(tx, req, 500, "Out Of Order CSeq")
			return
		}
		i := location.Index(next, c.uri)
		if exp == 0 {
			if i >= 0 {
				dels = append(dels, next[i])
				next = append(next[:i], next[i+1:]...)
			}
			if j := location.Index(puts, c.uri); j >= 0 { // listed twice in one request
				puts = append(puts[:j], puts[j+1:]...)
			}
			if j := location.Index(refreshes, c.uri); j >= 0 {
				refreshes = append(refreshes[:j], refreshes[j+1:]...)
			}
			continue
		}
		b := directory.Binding{Extension: ext, Contact: c.uri, Source: src.String(),
			Transport: strings.ToUpper(req.Transport()), Expires: now.Add(exp), CallID: rr.callID,
			CSeq: rr.cseq, UserAgent: wire.UserAgent(req), Node: r.cfg.Node, UpdatedAt: now,
			Direct: sentBySource(req, src), Path: strings.Join(rr.path, ",")}
		if i >= 0 {
			next[i] = b
		} else {
			next = append(next, b)
			added++
		}
		if j := location.Index(cur, c.uri); j >= 0 && location.LazyRefresh(cur[j], b, now) {
			refreshes = replaceBinding(refreshes, b)
			continue
		}
		puts = replaceBinding(puts, b)
	}
	if added > 0 {
		limit := r.cfg.MaxBindings
		if cred.MaxDevices > 0 && cred.MaxDevices < limit {
			limit = cred.MaxDevices
		}
		if len(next) > limit {
			r.respond(tx, req, 403, "Forbidden (Device Limit Reached)")
			return
		}
	}
	if len(puts) == 0 && len(dels) == 0 {
		r.loc.Later(ext, next, refreshes)
		r.registered(req, tx, rr, ext, cur, next, puts, refreshes, dels, now)
		return
	}
	puts, refreshes = append(puts, refreshes...), nil
	if detach != nil {
		held := unlock
		unlock = nil
		detach(req, tx, func() {
			defer held()
			r.loc.Commit(context.Background(), ext, next, puts, dels, false)
			r.registered(req, tx, rr, ext, cur, next, puts, refreshes, dels, now)
		})
		return
	}
	r.loc.Commit(context.Background(), ext, next, puts, dels, false)
	r.registered(req, tx, rr, ext, cur, next, puts, refreshes, dels, now)
}

// registered logs what a REGISTER changed and answers it with the
// extension's bindings, once they are stored (or kept to be written
// behind).
func (r *Registrar) registered(req *sip.Request, tx sip.ServerTransaction, rr registerRequest, ext string,
	cur, next, puts, refreshes, dels []directory.Binding, now time.Time) {
	debug := r.log.Enabled(context.Background(), slog.LevelDebug)
	for _, list := range [][]directory.Binding{puts, refreshes} {
		for _, b := range list {
			if location.Index(cur, b.Contact) < 0 {
				r.log.Info("registered", "ext", ext, "contact", b.Contact, "src", b.Source,
					"transport", b.Transport, "expires", b.Expires.Sub(now))
			} else if debug { // spares boxing the arguments of every refresh
				r.log.Debug("registration refreshed", "ext", ext, "contact", b.Contact, "src", b.Source)
			}
		}
	}
	for _, b := range dels {
		r.log.Info("unregistered", "ext", ext, "contact", b.Contact, "src", b.Source)
	}
	res := r.okResponse(req, next, now)
	if len(next) > 1 && !sip.IsReliable(req.Transport()) && res.Len() > sip.UDPMTUSize-200 {
		// sipgo will not send a UDP message that large (RFC 3261 §18.1.1
		// wants TCP, which we cannot switch to for a response). The phone
		// needs its own contacts; the others it may query over TCP.
		var own []directory.Binding
		for _, b := range next {
			if b.CallID == rr.callID {
				own = append(own, b)
			}
		}
		res = r.okResponse(req, own, now)
	}
	// RFC 3327 §5.3: the Path stored is echoed to a UA that supports it.
	if len(rr.path) > 0 && wire.HasOption(req, "Supported", "path") {
		for _, p := range rr.path {
			res.Add("Path", p)
		}
	}
	r.send(tx, res)
}

func replaceBinding(list []directory.Binding, b directory.Binding) []directory.Binding {
	if i := location.Index(list, b.Contact); i >= 0 {
		list[i] = b
		return list
	}
	return append(list, b)
}

// okResponse is the 200 of a REGISTER: every current contact with the
// seconds it has left (RFC 3261 §10.3 step 8).
func (r *Registrar) okResponse(req *sip.Request, list []directory.Binding, now time.Time) *wire.Reply {
	res := r.response(req, 200, "OK")
	for _, b := range list {
		left := int64(b.Expires.Sub(now).Round(time.Second) / time.Second)
		if left <= 0 {
			continue
		}
		var uri sip.Uri
		if err := sip.ParseUri(b.Contact, &uri); err != nil {
			continue
		}
		// As a sip.ContactHeader of uri with the expires parameter writes it.
		res.Add("Contact", "<"+uri.String()+">;expires="+strconv.FormatInt(left, 10))
	}
	return res.Add("Date", now.UTC().Format(time.RFC1123))
}

// response starts a response to req with our Server header.
func (r *Registrar) response(req *sip.Request, code int, reason string) *wire.Reply {
	return wire.NewReply(req, code, reason, r.cfg.Agent)
}

func (r *Registrar) respond(tx sip.ServerTransaction, req *sip.Request, code int, reason string) {
	r.send(tx, r.response(req, code, reason))
}

// send sends res on tx: as bytes on a REGISTER transaction of the edge
// (wire.Transaction), as a sip.Response on one of sipgo's.
func (r *Registrar) send(tx sip.ServerTransaction, res *wire.Reply) {
	if err := wire.Respond(tx, res); err != nil {
		r.log.Debug("sip response not sent", "code", res.Code(), "err", err)
	}
}

// maxPathLen bounds the Path of one REGISTER; one or two edge proxies
// take well under 300 bytes.
const maxPathLen = 1024

// parsePath returns the entries of the Path headers of req (RFC 3327), in
// order, each as "<uri>" with its parameters: several headers and
// comma-separated values alike. Each must hold a SIP URI.
func parsePath(req *sip.Request) ([]string, error) {
	var out []string
	n := 0
	for h := range wire.Headers(req, "path") {
		v := h.Value()
		n += len(v)
		if n > maxPathLen {
			return nil, errors.New("Path Too Long")
		}
		for v = strings.TrimSpace(v); v != ""; v = strings.TrimSpace(v) {
			if v[0] != '<' {
				return nil, errors.New("Bad Path")
			}
			end := strings.IndexByte(v, '>')
			if end < 0 {
				return nil, errors.New("Bad Path")
			}
			var uri sip.Uri
			if err := sip.ParseUri(v[1:end], &uri); err != nil || (uri.Scheme != "sip" && uri.Scheme != "sips") ||
				uri.Host == "" {
				return nil, errors.New("Bad Path")
			}
			entry, rest, _ := strings.Cut(v, ",")
			if strings.IndexByte(entry, '>') != end { // a comma inside the URI
				return nil, errors.New("Bad Path")
			}
			if strings.ContainsAny(entry, "\r\n") {
				return nil, errors.New("Bad Path")
			}
			out = append(out, strings.TrimSpace(entry))
			v = rest
		}
	}
	return out, nil
}

// sentBySource reports whether the REGISTER crossed no NAT: the sent-by of
// its top Via (RFC 3261 §18.2.1; port 5060 when absent, 5061 for TLS) is
// the address and port it came from. Only then is its Contact reachable as
// it stands; a REGISTER made on behalf of another address (a provisioning
// server, an SBC) names it there.
func sentBySource(req *sip.Request, src netip.AddrPort) bool {
	via := req.Via()
	if via == nil {
		return false
	}
	ip, err := netip.ParseAddr(strings.Trim(via.Host, "[]"))
	if err != nil {
		return false
	}
	port := via.Port
	if port == 0 {
		port = 5060
		if strings.EqualFold(via.Transport, "TLS") {
			port = 5061
		}
	}
	return ip.Unmap() == src.Addr().Unmap() && port == int(src.Port())
}

// unsupported returns the option tags of the Require headers of req that
// the registrar does not know (all but path), comma-separated.
func unsupported(req *sip.Request) string {
	var bad []string
	for h := range wire.Headers(req, "require") {
		for _, t := range strings.Split(h.Value(), ",") {
			if t = strings.TrimSpace(t); t != "" && !strings.EqualFold(t, "path") {
				bad = append(bad, t)
			}
		}
	}
	return strings.Join(bad, ", ")
}
