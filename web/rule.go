package web

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/switchboard-pbx/switchboard/authz"
)

// Rule is the permission rule a route is registered with. Every route names
// one; a route without a rule cannot be registered (New fails), so nothing
// is reachable by accident.
type Rule struct {
	kind  ruleKind
	perms []authz.Permission
}

type ruleKind uint8

const (
	ruleNone        ruleKind = iota // the zero Rule: refused at registration
	rulePublic                      // no sign-in: login, setup link, health, assets
	ruleSignedIn                    // any signed-in user, about their own things
	ruleNeed                        // the viewer must hold every permission (CanDo), asked before the handler
	ruleNeedAny                     // the viewer must hold one of the permissions, asked before the handler
	rulePerResource                 // the handler asks authz.Can about the one resource it loads
)

// public marks a route anyone may reach.
func public() Rule { return Rule{kind: rulePublic} }

// signedIn marks a route every signed-in user may reach: it only touches
// the viewer's own session, language or tokens.
func signedIn() Rule { return Rule{kind: ruleSignedIn} }

// need marks a route whose answer does not depend on one resource: the
// viewer must hold p at some scope; lists then filter by authz.Visibility.
func need(p authz.Permission) Rule { return Rule{kind: ruleNeed, perms: []authz.Permission{p}} }

// needAny marks a route the viewer may reach holding any of ps.
func needAny(ps ...authz.Permission) Rule { return Rule{kind: ruleNeedAny, perms: ps} }

// perResource marks a route whose handler loads one resource and asks
// authz.Can about it with p; the route first checks that the viewer holds p
// at some scope, so that IDs answer alike for those who hold none.
func perResource(p authz.Permission) Rule {
	return Rule{kind: rulePerResource, perms: []authz.Permission{p}}
}

// String describes the rule: "need(users.view)", "public", ...
func (r Rule) String() string {
	names := make([]string, len(r.perms))
	for i, p := range r.perms {
		names[i] = string(p)
	}
	switch r.kind {
	case rulePublic:
		return "public"
	case ruleSignedIn:
		return "signedIn"
	case ruleNeed:
		return "need(" + strings.Join(names, ",") + ")"
	case ruleNeedAny:
		return "needAny(" + strings.Join(names, ",") + ")"
	case rulePerResource:
		return "perResource(" + strings.Join(names, ",") + ")"
	}
	return "none"
}

// Route is one registered route: what the authorization matrix test walks.
type Route struct {
	Method  string
	Pattern string // full pattern, e.g. /api/v1/users/{id}
	Rule    Rule
	API     bool
}

// router registers routes on a chi router, each with its Rule, and records
// them. Mistakes are collected and returned by check, so that New fails at
// start rather than a request failing later.
type router struct {
	s      *Server
	mux    chi.Router
	prefix string
	api    bool
	table  *[]Route
	errs   *[]error
}

func (rt *router) get(pattern string, rule Rule, h http.HandlerFunc) {
	rt.handle(http.MethodGet, pattern, rule, h)
}

func (rt *router) post(pattern string, rule Rule, h http.HandlerFunc) {
	rt.handle(http.MethodPost, pattern, rule, h)
}

func (rt *router) patch(pattern string, rule Rule, h http.HandlerFunc) {
	rt.handle(http.MethodPatch, pattern, rule, h)
}

func (rt *router) put(pattern string, rule Rule, h http.HandlerFunc) {
	rt.handle(http.MethodPut, pattern, rule, h)
}

func (rt *router) delete(pattern string, rule Rule, h http.HandlerFunc) {
	rt.handle(http.MethodDelete, pattern, rule, h)
}

func (rt *router) handle(method, pattern string, rule Rule, h http.HandlerFunc) {
	full := rt.prefix + pattern
	if rule.kind == ruleNone || rule.kind > rulePerResource {
		*rt.errs = append(*rt.errs, fmt.Errorf("route %s %s has no permission rule", method, full))
		return
	}
	if (rule.kind == ruleNeed || rule.kind == ruleNeedAny || rule.kind == rulePerResource) && len(rule.perms) == 0 {
		*rt.errs = append(*rt.errs, fmt.Errorf("route %s %s: rule %s names no permission", method, full, rule))
		return
	}
	if h == nil {
		*rt.errs = append(*rt.errs, fmt.Errorf("route %s %s has no handler", method, full))
		return
	}
	*rt.table = append(*rt.table, Route{Method: method, Pattern: full, Rule: rule, API: rt.api})
	rt.mux.Method(method, pattern, rt.s.enforce(rule, rt.api, h))
	if method == http.MethodGet {
		*rt.table = append(*rt.table, Route{Method: http.MethodHead, Pattern: full, Rule: rule, API: rt.api})
		rt.mux.Method(http.MethodHead, pattern, rt.s.enforce(rule, rt.api, h))
	}
}

// check walks what chi ended up with and refuses any route that did not go
// through handle (registered on the chi router directly, with no rule).
func check(mux chi.Routes, table []Route, errs []error) error {
	known := make(map[string]bool, len(table))
	for _, r := range table {
		known[r.Method+" "+r.Pattern] = true
	}
	werr := chi.Walk(mux, func(method, route string, _ http.Handler, _ ...func(http.Handler) http.Handler) error {
		route = strings.ReplaceAll(route, "/*/", "/")
		if !known[method+" "+route] && !known[method+" "+strings.TrimSuffix(route, "/")] {
			errs = append(errs, fmt.Errorf("route %s %s was registered without a permission rule", method, route))
		}
		return nil
	})
	if werr != nil {
		errs = append(errs, werr)
	}
	return errors.Join(errs...)
}

// enforce wraps h with the rule: a viewer where one is needed, and for need
// rules the authz question asked once, before the handler runs.
func (s *Server) enforce(rule Rule, api bool, h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rule.kind == rulePublic {
			h(w, r)
			return
		}
		v := viewerOf(r)
		if v == nil {
			s.unauthenticated(w, r, api)
			return
		}
		switch rule.kind {
		case ruleNeed, rulePerResource:
			// perResource too: someone without the permission at any scope
			// gets the same 403 for every ID, guessed or real.
			for _, p := range rule.perms {
				if err := authz.CanDo(v.subj, p); err != nil {
					s.fail(w, r, err)
					return
				}
			}
		case ruleNeedAny:
			var err error
			for _, p := range rule.perms {
				if err = authz.CanDo(v.subj, p); err == nil {
					break
				}
			}
			if err != nil {
				s.fail(w, r, err)
				return
			}
		}
		h(w, r)
	})
}
