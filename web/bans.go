package web

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// securityPage lists the SIP bans in force on every node (from the store).
type securityPage struct {
	Bans []directory.Ban
}

// securityShow lists the bans and extension locks of the SIP guard.
func (s *Server) securityShow(w http.ResponseWriter, r *http.Request) {
	bans, err := s.store.Bans(r.Context(), time.Now())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.page(r, "security.title")
	p.Data = securityPage{Bans: bans}
	s.render(w, r, http.StatusOK, "security.html", p)
}

// banLift lifts every ban and lock of the source in the form's ip, in the
// store: the SIP nodes drop them when they next read the change log.
func (s *Server) banLift(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.fail(w, r, err)
		return
	}
	ip, err := directory.CanonicalIP(strings.TrimSpace(r.PostFormValue("ip")))
	if err != nil {
		s.fail(w, r, &directory.InvalidError{Field: "ip", Rule: "must be an IP address"})
		return
	}
	n, err := s.store.DeleteBans(r.Context(), ip)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if n == 0 {
		s.fail(w, r, &directory.InvalidError{Field: "ip", Rule: "has no ban"})
		return
	}
	s.audit(r, viewerOf(r), "ban.lift", "ban:"+ip, fmt.Sprintf("%d lifted", n))
	done(w, r, "/security", "lifted")
}
