package sip

import (
	"cmp"
	"context"
	"errors"
	"strings"

	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// The dial plan: what a dialed number reaches.
//   - an extension of a user: every registered contact of it, in parallel;
//   - the extension of a group: every registered contact of its members;
//   - from a trunk, a DID: the extension or group it is mapped to, or
//     its outside-hours target when it follows office hours (hours.go);
//   - the number of an IVR menu, dialed or reached by a DID: the PBX
//     answers with the menu (ivr.go);
//   - anything else: the trunk, when the caller's calls.outbound allows
//     the number (compared in E.164).

// router is the dial plan: it turns a dialed number into a route, with
// its targets, under authz's outbound rule and the DIDs' office hours. It
// knows no call in progress. The numbers that features answer (a menu's,
// a queue's) and a user's forwarding are the features' to resolve: the
// b2bua hands the router their functions as it wires them.
type router struct {
	s *Server
	// user fills the route to a user's extension: their phones, with
	// their forwarding (forwarding.routeUser).
	user func(ctx context.Context, rt *route, cred *credential) *refusal
	// menu and queue fill the route to a menu's or a queue's number and
	// report whether ext was one (routeMenu, queueRuntime.route); nil
	// when the plan has none.
	menu, queue func(ctx context.Context, rt *route, ext string) (bool, *refusal)
}

// storeDown refuses a call the directory could not route.
func storeDown(err error) *refusal {
	return &refusal{503, "Service Unavailable", directory.Failed, "directory unavailable", err}
}

var (
	refNotFound = &refusal{404, "Not Found", directory.Failed, "unknown number", nil}
	refOffline  = &refusal{480, "Temporarily Unavailable", directory.Unavailable, "not registered", nil}
)

// route classifies the dialed number of req. caller is nil for calls from a
// trunk.
func (r *router) route(ctx context.Context, caller *credential, trunk *Trunk, req *sip.Request) (*route, *refusal) {
	dialed := strings.TrimSpace(req.Recipient.User)
	if dialed == "" {
		dialed = strings.TrimSpace(req.To().Address.User)
	}
	rt := &route{dialed: dialed, fromName: req.From().DisplayName}
	if caller == nil { // from the trunk: a DID
		rt.dir = directory.Inbound
		rt.from = r.inboundCaller(ctx, req)
		if wire.HasOption(req, "Privacy", "id") {
			// RFC 3323/3325: the caller withheld their number; the
			// carrier trusts us with it, but neither the phone nor the
			// call history (which agents read) may show it.
			rt.from, rt.fromName = "anonymous", "Anonymous"
		}
		rt.fromUser = rt.from
		ext, ok := r.did(ctx, dialed)
		if !ok {
			return rt, refNotFound
		}
		ext = r.hoursTarget(ctx, dialed, ext) // hours.go
		return rt, r.routeNumber(ctx, rt, ext, "")
	}
	rt.callerID = caller.UserID
	rt.from, rt.fromUser = caller.Ext, caller.Ext
	if directory.ValidateExtension("extension", dialed) == nil {
		rt.dir = directory.Internal
		return rt, r.routeNumber(ctx, rt, dialed, caller.Ext)
	}
	rt.dir = directory.Outbound
	return rt, r.routeOutbound(ctx, rt, caller, dialed)
}

// inboundCaller is the number of the caller of a call from a trunk (unless
// they withheld it with Privacy: id): the
// carrier's P-Asserted-Identity (RFC 3325), else the From user, in E.164
// when it is a phone number.
func (r *router) inboundCaller(ctx context.Context, req *sip.Request) string {
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
func (r *router) did(ctx context.Context, dialed string) (string, bool) {
	if ext, ok := r.s.didTarget(dialed); ok {
		return ext, true
	}
	if n, err := directory.NormalizePhone(dialed, r.defaultCountry(ctx)); err == nil {
		if ext, ok := r.s.didTarget(n); ok {
			return ext, true
		}
	}
	return "", false
}

func (r *router) defaultCountry(ctx context.Context) string {
	cc, err := r.s.store.Setting(ctx, directory.SettingDefaultCountry)
	if err != nil || cc == "" {
		return directory.SettingDefaults[directory.SettingDefaultCountry]
	}
	return cc
}

// routeNumber fills rt for a number of the extensions' plan, dialed, the
// target of a DID or an IVR menu's option: an IVR menu (ivr.go), else a
// user's or a group's extension.
func (r *router) routeNumber(ctx context.Context, rt *route, ext, self string) *refusal {
	if r.menu != nil {
		if isMenu, ref := r.menu(ctx, rt, ext); isMenu {
			return ref
		}
	}
	return r.routeExtension(ctx, rt, ext, self)
}

// routeExtension fills the targets of a user's or group's extension. self
// is the caller's extension, left out of a group it belongs to.
func (r *router) routeExtension(ctx context.Context, rt *route, ext, self string) *refusal {
	rt.to = ext
	cred, err := r.s.credential(ext)
	if err != nil {
		return storeDown(err)
	}
	if cred != nil {
		return r.user(ctx, rt, cred)
	}
	if r.queue != nil {
		if ok, ref := r.queue(ctx, rt, ext); ok {
			return ref
		}
	}
	return r.routeGroup(ctx, rt, ext, self)
}

// routeGroup fills the targets of a group's extension: every registered
// contact of its members, but self and members in Do Not Disturb.
func (r *router) routeGroup(ctx context.Context, rt *route, ext, self string) *refusal {
	rt.to = ext
	g, err := r.s.store.GroupByExtension(ctx, ext)
	if errors.Is(err, directory.ErrNotFound) {
		return refNotFound
	}
	if err != nil {
		return storeDown(err)
	}
	rt.groupID = g.ID
	ids, err := r.s.store.GroupMembers(ctx, g.ID)
	if err != nil {
		return storeDown(err)
	}
	for _, id := range ids {
		m, ok := r.s.creds.ByID(id)
		if !ok || m.Ext == self || m.Forward.DND {
			continue
		}
		rt.targets = append(rt.targets, r.userTargets(m)...)
	}
	if len(rt.targets) == 0 {
		return refOffline
	}
	return nil
}

// userTargets returns a target per registered contact of a user, reached
// where the phone really is: through the first hop of its Path (RFC 3327),
// else at its Contact when the REGISTER crossed no NAT (RFC 3261 §10: a
// registration may be made on behalf of another address), else at the
// source address and transport of its REGISTER.
func (r *router) userTargets(cred *credential) []target {
	var out []target
	for _, bd := range r.s.loc.Current(cred.Ext) {
		var uri sip.Uri
		if err := sip.ParseUri(bd.Contact, &uri); err != nil {
			continue
		}
		t := target{userID: cred.UserID, ext: cred.Ext, uri: uri, toUser: cred.Ext,
			domain: r.s.realm(), dest: bd.Source, transport: cmp.Or(bd.Transport, "UDP")}
		if t.route = splitPath(bd.Path); len(t.route) > 0 {
			if hop, ok := pathHop(t.route); ok {
				t.dest = hop
			}
		} else if bd.Direct {
			t.dest = joinHostPort(uri.Host, cmp.Or(uri.Port, 5060))
			if tr, ok := uri.UriParams.Get("transport"); ok && tr != "" {
				t.transport = strings.ToUpper(tr)
			}
		}
		out = append(out, t)
	}
	return out
}

// routeOutbound sends a number outside the PBX to the trunks serving it if
// the caller's calls.outbound scope allows it.
func (r *router) routeOutbound(ctx context.Context, rt *route, caller *credential, dialed string) *refusal {
	num, err := directory.NormalizePhone(dialed, r.defaultCountry(ctx))
	if err != nil {
		return &refusal{484, "Address Incomplete", directory.Failed, "not a phone number", nil}
	}
	rt.to = num
	trunks := r.s.outboundTrunks(num)
	if len(trunks) == 0 {
		return &refusal{404, "Not Found", directory.Failed, "no trunk", nil}
	}
	acc, err := r.s.store.Access(ctx, caller.UserID)
	if err != nil {
		return storeDown(err)
	}
	subj := authz.NewSubject(acc)
	var contacts []directory.Contact
	var employees []directory.User
	switch subj.Effective(authz.CallsOutbound).Scope {
	case authz.ScopeCRM, authz.ScopeCRMAndEmployees:
		if contacts, err = r.s.store.ContactsByPhone(ctx, num); err != nil {
			return storeDown(err)
		}
		if employees, err = r.s.store.Employees(ctx, num); err != nil {
			return storeDown(err)
		}
	}
	if err := authz.Outbound(subj, num, contacts, employees); err != nil {
		reason := "outbound call refused"
		var de *authz.DeniedError
		if errors.As(err, &de) {
			reason = de.Reason
		}
		return &refusal{403, "Forbidden (" + reason + ")", directory.Denied, reason, nil}
	}
	rt.fromName = ""
	rt.failover = true
	for _, t := range trunks {
		id := newTrunkIdentity(t, &acc.User, caller.Ext)
		port := t.Port
		if port == 0 {
			port = 5060
			if t.Proto() == "TLS" {
				port = 5061
			}
		}
		uri := sip.Uri{Scheme: "sip", User: num, Host: t.Host, Port: port}
		rt.targets = append(rt.targets, target{uri: uri, toUser: num, domain: t.Host, dest: t.Addr(),
			transport: t.Proto(), trunk: t, fromUser: id.from, id: id})
	}
	rt.fromUser = rt.targets[0].fromUser
	return nil
}
