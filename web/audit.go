package web

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/switchboard-pbx/switchboard/directory"
)

type auditPage struct {
	Entries []directory.AuditEntry
	Query   auditQuery
	Pager   pager
}

// auditQuery is the filter form as typed, shown back on the page.
type auditQuery struct {
	Actor, Action, Object, From, To string
}

// auditFilter reads the audit filters shared by the page and the API:
// actor (user ID), action (prefix), object (exact, "user:12"), from and to
// (a day in the viewer's zone, to inclusive, or an RFC 3339 time).
func auditFilter(q url.Values, loc *time.Location) (directory.AuditFilter, auditQuery, error) {
	aq := auditQuery{Actor: strings.TrimSpace(firstOf(q, "actor", "actor_id")), Action: strings.TrimSpace(q.Get("action")),
		Object: strings.TrimSpace(q.Get("object")), From: strings.TrimSpace(q.Get("from")), To: strings.TrimSpace(q.Get("to"))}
	f := directory.AuditFilter{Action: aq.Action, Object: aq.Object}
	var err error
	if aq.Actor != "" {
		n, perr := strconv.ParseInt(aq.Actor, 10, 64)
		if perr != nil || n <= 0 {
			err = &directory.InvalidError{Field: "actor", Rule: "must be a user ID"}
		}
		f.ActorID = n
	}
	parse := func(field, v string, end bool) time.Time {
		if v == "" {
			return time.Time{}
		}
		if t, perr := time.Parse(time.RFC3339, v); perr == nil {
			return t
		}
		t, perr := time.ParseInLocation("2006-01-02", v, loc)
		if perr != nil {
			err = &directory.InvalidError{Field: field, Rule: "must be a date like 2025-03-14"}
			return time.Time{}
		}
		if end {
			t = t.AddDate(0, 0, 1)
		}
		return t
	}
	f.From = parse("from", aq.From, false)
	f.To = parse("to", aq.To, true)
	return f, aq, err
}

// auditList shows who did what, from where, and what it changed; the
// filters narrow it by actor, action prefix, object and time.
func (s *Server) auditList(w http.ResponseWriter, r *http.Request) {
	f, aq, err := auditFilter(r.URL.Query(), s.location(r))
	var es []directory.AuditEntry
	if err == nil {
		f.Page = pageParam(r)
		es, err = s.store.AuditLog(r.Context(), f)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.page(r, "audit.title")
	p.Data = auditPage{Entries: es, Query: aq, Pager: newPager(r, f.Page, len(es), -1)}
	s.render(w, r, http.StatusOK, "audit.html", p)
}

type auditJSON struct {
	ID        int64           `json:"id"`
	At        time.Time       `json:"at"`
	ActorID   int64           `json:"actor_id,omitempty"`
	Actor     string          `json:"actor"`
	IP        string          `json:"ip,omitempty"`
	UserAgent string          `json:"user_agent,omitempty"`
	Action    string          `json:"action"`
	Object    string          `json:"object,omitempty"`
	Detail    string          `json:"detail,omitempty"`
	Before    json.RawMessage `json:"before,omitempty"`
	After     json.RawMessage `json:"after,omitempty"`
	PrevHash  string          `json:"prev_hash,omitempty"`
	Hash      string          `json:"hash,omitempty"`
}

func (s *Server) apiAudit(w http.ResponseWriter, r *http.Request) {
	f, _, err := auditFilter(r.URL.Query(), s.location(r))
	var es []directory.AuditEntry
	if err == nil {
		f.Page = pageParam(r)
		es, err = s.store.AuditLog(r.Context(), f)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]auditJSON, len(es))
	for i, e := range es {
		out[i] = auditJSON{ID: e.ID, At: e.At.UTC(), ActorID: e.ActorID, Actor: e.Actor, IP: e.IP, UserAgent: e.UserAgent,
			Action: e.Action, Object: e.Object, Detail: e.Detail, PrevHash: e.PrevHash, Hash: e.Hash}
		if e.Before != "" {
			out[i].Before = json.RawMessage(e.Before)
		}
		if e.After != "" {
			out[i].After = json.RawMessage(e.After)
		}
	}
	writeJSON(w, http.StatusOK, list(out, f.Page, 0))
}

// auditActions are the actions the audit log holds (web, API, CLI, SIP);
// each has a name in every locale (audit.action.<action>).
var auditActions = append([]string{
	"access.denied", "ban.create", "ban.lift", "call.monitor", "call.pickup", "calls.export", "contact.create", "contact.delete", "contact.update", "group.create", "group.delete", "group.update", "numbers.did", "numbers.did.delete", "recording.delete", "recording.download", "recording.listen", "recording.tampered", "role.create", "role.delete", "role.update", "settings.set", "settings.trunk", "settings.trunk.delete", "token.create", "token.revoke", "user.access", "user.block", "user.create", "user.delete", "user.ext_password.reset", "user.forwarding", "user.import", "user.login", "user.login.failed", "user.login.throttled", "user.overrides", "user.overrides.reset", "user.password.change", "user.password.change.failed", "user.password.change.throttled", "user.password.reset", "user.set_ext_password", "user.set_password", "user.unblock", "user.update",
}, append(append(append(peopleAuditActions, voicemailAuditActions...), ivrAuditActions...), queueAuditActions...)...)

// deniedKinds are the objects whose refused attempts are audited: the
// route's {id} names a recording, a call or a user.
var deniedKinds = []struct{ segment, kind string }{
	{"/recordings/{id}", "recording"}, {"/calls/{id}", "call"}, {"/users/{id}", "user"},
	{"/members/{user_id}", "user"},
}

// auditDenied records a refused attempt (403, or 404 for an object the
// viewer may not see or that does not exist) on a recording, call or user,
// so that someone trying IDs shows in the log.
func (s *Server) auditDenied(r *http.Request, status int, msg string) {
	v := viewerOf(r)
	rc := chi.RouteContext(r.Context())
	if v == nil || rc == nil {
		return
	}
	pattern := rc.RoutePattern()
	for _, k := range deniedKinds {
		if !strings.Contains(pattern, k.segment) {
			continue
		}
		param := "id"
		if strings.Contains(k.segment, "user_id") {
			param = "user_id"
		}
		id := truncate(chi.URLParam(r, param), 40)
		s.audit(r, v, "access.denied", k.kind+":"+id,
			r.Method+" "+pattern+": "+strconv.Itoa(status)+" "+truncate(msg, 200))
		return
	}
}
