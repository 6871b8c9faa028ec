package route

import (
	"cmp"
	"context"
	"errors"
	"log/slog"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/internal/clock"
	"github.com/switchboard-pbx/switchboard/sip/auth"
	"github.com/switchboard-pbx/switchboard/sip/creds"
	"github.com/switchboard-pbx/switchboard/sip/location"
	"github.com/switchboard-pbx/switchboard/sip/trunk"
	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// The dial plan: what a dialed number reaches.
//   - an extension of a user: every registered contact of it, in parallel;
//   - the extension of a group: every registered contact of its members;
//   - from a trunk, a DID: the extension or group it is mapped to, or
//     its outside-hours target when it follows office hours (hours.go);
//   - the number of an IVR menu or a queue, dialed or reached by a DID:
//     the PBX answers with the menu or the queue (Router.Menu, Queue);
//   - anything else: the trunk, when the caller's calls.outbound allows
//     the number (compared in E.164).

// Router is the dial plan: it turns a dialed number into a route, with
// its targets, under authz's outbound rule and the DIDs' office hours. It
// knows no call in progress. The numbers that features answer (a menu's,
// a queue's) and a user's forwarding are the features' to resolve: whoever
// wires the router hands it their functions.
type Router struct {
	Store    directory.Store
	Auth     *auth.Checker   // the realm and the users' credentials by extension
	Creds    *creds.Cache    // the users' credentials by id (group members)
	Location *location.Table // where the users' phones are registered
	Trunks   *trunk.Table    // the trunks in force and the DIDs they bring
	Log      *slog.Logger
	Clock    clock.Clock // the office hours' clock
	// User fills the route to a user's extension: their phones, with
	// their forwarding.
	User func(ctx context.Context, rt *Route, cred *creds.Credential) *Refusal
	// Menu and Queue fill the route to a menu's or a queue's number and
	// report whether ext was one; nil when the plan has none.
	Menu, Queue func(ctx context.Context, rt *Route, ext string) (bool, *Refusal)
}

// StoreDown refuses a call the directory could not route.
func StoreDown(err error) *Refusal {
	return &Refusal{Code: 503, Reason: "Service Unavailable", Disp: directory.Failed, Why: "directory unavailable", Err: err}
}

// The refusals of a number that reaches no one.
var (
	// NotFound: the number is no one's.
	NotFound = &Refusal{Code: 404, Reason: "Not Found", Disp: directory.Failed, Why: "unknown number"}
	// Offline: no phone of the number is registered.
	Offline = &Refusal{Code: 480, Reason: "Temporarily Unavailable", Disp: directory.Unavailable, Why: "not registered"}
)

// Route classifies the dialed number of req. caller is nil for calls from a
// trunk.
func (r *Router) Route(ctx context.Context, caller *creds.Credential, req *sip.Request) (*Route, *Refusal) {
	dialed := strings.TrimSpace(req.Recipient.User)
	if dialed == "" {
		dialed = strings.TrimSpace(req.To().Address.User)
	}
	rt := &Route{Dialed: dialed, FromName: req.From().DisplayName}
	if caller == nil { // from the trunk: a DID
		rt.Dir = directory.Inbound
		rt.From = r.inboundCaller(ctx, req)
		if wire.HasOption(req, "Privacy", "id") {
			// RFC 3323/3325: the caller withheld their number; the
			// carrier trusts us with it, but neither the phone nor the
			// call history (which agents read) may show it.
			rt.From, rt.FromName = "anonymous", "Anonymous"
		}
		rt.FromUser = rt.From
		ext, ok := r.did(ctx, dialed)
		if !ok {
			return rt, NotFound
		}
		ext = r.hoursTarget(ctx, dialed, ext) // hours.go
		return rt, r.RouteNumber(ctx, rt, ext, "")
	}
	rt.CallerID = caller.UserID
	rt.From, rt.FromUser = caller.Ext, caller.Ext
	if directory.ValidateExtension("extension", dialed) == nil {
		rt.Dir = directory.Internal
		return rt, r.RouteNumber(ctx, rt, dialed, caller.Ext)
	}
	rt.Dir = directory.Outbound
	return rt, r.RouteOutbound(ctx, rt, caller, dialed)
}

// inboundCaller is the number of the caller of a call from a trunk (unless
// they withheld it with Privacy: id): the
// carrier's P-Asserted-Identity (RFC 3325), else the From user, in E.164
// when it is a phone number.
func (r *Router) inboundCaller(ctx context.Context, req *sip.Request) string {
	num := req.From().Address.User
	if h := req.GetHeader("P-Asserted-Identity"); h != nil {
		if u, ok := assertedUser(h.Value()); ok {
			num = u
		}
	}
	if n, err := directory.NormalizePhone(num, r.defaultCountry(ctx)); err == nil {
		return n
	}
	return num
}

// assertedUser is the user part of the first URI of a P-Asserted-Identity
// value (a sip:, sips: or tel: URI, in angle brackets or not).
func assertedUser(v string) (string, bool) {
	v = strings.TrimSpace(v)
	if i := strings.IndexByte(v, '<'); i >= 0 {
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			return "", false
		}
		v = v[i+1 : i+j]
	} else if i := strings.IndexByte(v, ','); i >= 0 {
		v = v[:i]
	}
	if tel, ok := strings.CutPrefix(strings.ToLower(v), "tel:"); ok {
		tel, _, _ = strings.Cut(tel, ";")
		return tel, tel != ""
	}
	var u sip.Uri
	if err := sip.ParseUri(v, &u); err != nil || u.User == "" {
		return "", false
	}
	return u.User, true
}

// did finds the extension a number dialed from the trunk is mapped to.
func (r *Router) did(ctx context.Context, dialed string) (string, bool) {
	if ext, ok := r.Trunks.DID(dialed); ok {
		return ext, true
	}
	if n, err := directory.NormalizePhone(dialed, r.defaultCountry(ctx)); err == nil {
		if ext, ok := r.Trunks.DID(n); ok {
			return ext, true
		}
	}
	return "", false
}

func (r *Router) defaultCountry(ctx context.Context) string {
	cc, err := r.Store.Setting(ctx, directory.SettingDefaultCountry)
	if err != nil || cc == "" {
		return directory.SettingDefaults[directory.SettingDefaultCountry]
	}
	return cc
}

// RouteNumber fills rt for a number of the extensions' plan, dialed, the
// target of a DID or an IVR menu's option: an IVR menu (Router.Menu), else a
// user's or a group's extension.
func (r *Router) RouteNumber(ctx context.Context, rt *Route, ext, self string) *Refusal {
	if r.Menu != nil {
		if isMenu, ref := r.Menu(ctx, rt, ext); isMenu {
			return ref
		}
	}
	return r.RouteExtension(ctx, rt, ext, self)
}

// RouteExtension fills the targets of a user's or group's extension. self
// is the caller's extension, left out of a group it belongs to.
func (r *Router) RouteExtension(ctx context.Context, rt *Route, ext, self string) *Refusal {
	rt.To = ext
	cred, err := r.Auth.Credential(ext)
	if err != nil {
		return StoreDown(err)
	}
	if cred != nil {
		return r.User(ctx, rt, cred)
	}
	if r.Queue != nil {
		if ok, ref := r.Queue(ctx, rt, ext); ok {
			return ref
		}
	}
	return r.RouteGroup(ctx, rt, ext, self)
}

// RouteGroup fills the targets of a group's extension: every registered
// contact of its members, but self and members in Do Not Disturb.
func (r *Router) RouteGroup(ctx context.Context, rt *Route, ext, self string) *Refusal {
	rt.To = ext
	g, err := r.Store.GroupByExtension(ctx, ext)
	if errors.Is(err, directory.ErrNotFound) {
		return NotFound
	}
	if err != nil {
		return StoreDown(err)
	}
	rt.GroupID = g.ID
	ids, err := r.Store.GroupMembers(ctx, g.ID)
	if err != nil {
		return StoreDown(err)
	}
	for _, id := range ids {
		m, ok := r.Creds.ByID(id)
		if !ok || m.Ext == self || m.Forward.DND {
			continue
		}
		rt.Targets = append(rt.Targets, r.UserTargets(m)...)
	}
	if len(rt.Targets) == 0 {
		return Offline
	}
	return nil
}

// UserTargets returns a target per registered contact of a user, reached
// where the phone really is: through the first hop of its Path (RFC 3327),
// else at its Contact when the REGISTER crossed no NAT (RFC 3261 §10: a
// registration may be made on behalf of another address), else at the
// source address and transport of its REGISTER.
func (r *Router) UserTargets(cred *creds.Credential) []Target {
	var out []Target
	for _, bd := range r.Location.Current(cred.Ext) {
		var uri sip.Uri
		if err := sip.ParseUri(bd.Contact, &uri); err != nil {
			continue
		}
		t := Target{UserID: cred.UserID, Ext: cred.Ext, URI: uri, ToUser: cred.Ext,
			Domain: r.Auth.Realm(), Dest: bd.Source, Transport: cmp.Or(bd.Transport, "UDP")}
		if t.RouteSet = splitPath(bd.Path); len(t.RouteSet) > 0 {
			if hop, ok := pathHop(t.RouteSet); ok {
				t.Dest = hop
			}
		} else if bd.Direct {
			t.Dest = wire.HostPort(uri.Host, cmp.Or(uri.Port, 5060))
			if tr, ok := uri.UriParams.Get("transport"); ok && tr != "" {
				t.Transport = strings.ToUpper(tr)
			}
		}
		out = append(out, t)
	}
	return out
}

// RouteOutbound sends a number outside the PBX to the trunks serving it if
// the caller's calls.outbound scope allows it.
func (r *Router) RouteOutbound(ctx context.Context, rt *Route, caller *creds.Credential, dialed string) *Refusal {
	num, err := directory.NormalizePhone(dialed, r.defaultCountry(ctx))
	if err != nil {
		return &Refusal{Code: 484, Reason: "Address Incomplete", Disp: directory.Failed, Why: "not a phone number"}
	}
	rt.To = num
	trunks := r.Trunks.Outbound(num)
	if len(trunks) == 0 {
		return &Refusal{Code: 404, Reason: "Not Found", Disp: directory.Failed, Why: "no trunk"}
	}
	acc, err := r.Store.Access(ctx, caller.UserID)
	if err != nil {
		return StoreDown(err)
	}
	subj := authz.NewSubject(acc)
	var contacts []directory.Contact
	var employees []directory.User
	switch subj.Effective(authz.CallsOutbound).Scope {
	case authz.ScopeCRM, authz.ScopeCRMAndEmployees:
		if contacts, err = r.Store.ContactsByPhone(ctx, num); err != nil {
			return StoreDown(err)
		}
		if employees, err = r.Store.Employees(ctx, num); err != nil {
			return StoreDown(err)
		}
	}
	if err := authz.Outbound(subj, num, contacts, employees); err != nil {
		reason := "outbound call refused"
		var de *authz.DeniedError
		if errors.As(err, &de) {
			reason = de.Reason
		}
		return &Refusal{Code: 403, Reason: "Forbidden (" + reason + ")", Disp: directory.Denied, Why: reason}
	}
	rt.FromName = ""
	rt.Failover = true
	for _, t := range trunks {
		id := NewIdentity(t, &acc.User, caller.Ext)
		port := t.Port
		if port == 0 {
			port = 5060
			if t.Proto() == "TLS" {
				port = 5061
			}
		}
		uri := sip.Uri{Scheme: "sip", User: num, Host: t.Host, Port: port}
		rt.Targets = append(rt.Targets, Target{URI: uri, ToUser: num, Domain: t.Host, Dest: t.Addr(),
			Transport: t.Proto(), Trunk: t, FromUser: id.From, Identity: id})
	}
	rt.FromUser = rt.Targets[0].FromUser
	return nil
}
