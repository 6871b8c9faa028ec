package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
)

// forwardPatch reads the call forwarding form (the account page and the
// user page share it): every field is set, an empty target clears it.
func forwardPatch(f url.Values) (directory.UserPatch, error) {
	str := func(k string) *string { v := strings.TrimSpace(f.Get(k)); return &v }
	dnd := f.Get("dnd") != "" && f.Get("dnd") != "0" && f.Get("dnd") != "false"
	p := directory.UserPatch{DND: &dnd, ForwardAlways: str("forward_always"), ForwardBusy: str("forward_busy"),
		ForwardNoAnswer: str("forward_no_answer"), ForwardOffline: str("forward_offline")}
	secs := 0
	if v := strings.TrimSpace(f.Get("forward_ring_seconds")); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return p, &directory.InvalidError{Field: "forward_ring_seconds",
				Rule: "must be 0 (the PBX ring time) or between 5 and 300 seconds"}
		}
		secs = n
	}
	p.ForwardRingSeconds = &secs
	return p, nil
}

// forwardChanged reports whether a patch touches call forwarding.
func forwardChanged(p directory.UserPatch) bool {
	return p.DND != nil || p.ForwardAlways != nil || p.ForwardBusy != nil || p.ForwardNoAnswer != nil ||
		p.ForwardOffline != nil || p.ForwardRingSeconds != nil
}

// forwardSummary describes a user's forwarding for the audit log.
func forwardSummary(f directory.Forwarding) string {
	var parts []string
	if f.DND {
		parts = append(parts, "dnd")
	}
	for _, x := range []struct{ k, v string }{{"always", f.Always}, {"busy", f.Busy}, {"no_answer", f.NoAnswer},
		{"offline", f.Offline}} {
		if x.v != "" {
			parts = append(parts, x.k+" "+x.v)
		}
	}
	if f.RingSeconds != 0 {
		parts = append(parts, "ring "+strconv.Itoa(f.RingSeconds)+"s")
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, "; ")
}

// accountForwarding sets the viewer's own call forwarding and DND.
func (s *Server) accountForwarding(w http.ResponseWriter, r *http.Request) {
	v := viewerOf(r)
	if err := parseForm(w, r); err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := forwardPatch(r.PostForm)
	var u *directory.User
	if err == nil {
		u, err = s.store.UpdateUser(r.Context(), v.user().ID, p)
	}
	if fe := formErrors(err); fe != nil {
		s.renderAccount(w, r, http.StatusBadRequest, "", fe)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.auditChange(r, v, "user.forwarding", "user:"+itoa(u.ID), forwardSummary(u.Forward),
		map[string]any{"forwarding": forwardSummary(v.user().Forward)}, map[string]any{"forwarding": forwardSummary(u.Forward)})
	done(w, r, "/account", "saved")
}

// userForwarding sets another user's call forwarding (users.manage).
func (s *Server) userForwarding(w http.ResponseWriter, r *http.Request) {
	a, err := s.loadUser(r, authz.UsersManage)
	if err == nil {
		err = parseForm(w, r)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p, err := forwardPatch(r.PostForm)
	if fe := formErrors(err); fe != nil {
		s.renderUser(w, r, http.StatusBadRequest, a, fe, "", "")
		return
	}
	s.saveUser(w, r, a, p)
}
