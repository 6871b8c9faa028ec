package web

import (
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
	err := s.liftBans(r, strings.TrimSpace(r.PostFormValue("ip")))
	if isNotFound(err) {
		err = &directory.InvalidError{Field: "ip", Rule: "has no ban"}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	done(w, r, "/security", "lifted")
}
