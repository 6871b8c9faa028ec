package web

import (
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
)

// Times are stored and sent by the JSON API in UTC; pages, the CSV export
// and the call history's date filters use the viewer's time zone: their
// own (directory.User.TimeZone), else the company's (web.timezone), else
// UTC.

// zoneSuggestions are offered in the time zone inputs; any IANA name the
// embedded zone database knows is accepted.
var zoneSuggestions = []string{"UTC", "Europe/Warsaw", "Asia/Ho_Chi_Minh", "Europe/London", "Europe/Berlin",
	"Europe/Paris", "Europe/Kyiv", "Asia/Bangkok", "Asia/Singapore", "Asia/Tokyo", "Australia/Sydney",
	"America/New_York", "America/Chicago", "America/Los_Angeles", "America/Sao_Paulo"}

// location is the time zone of the request's viewer, worked out once per
// request.
func (s *Server) location(r *http.Request) *time.Location {
	v := viewerOf(r)
	if v != nil && v.loc != nil {
		return v.loc
	}
	name := ""
	if v != nil {
		name = v.user().TimeZone
	}
	if name == "" {
		var err error
		if name, err = s.companyZone(r); err != nil {
			s.log.Warn("time zone setting unreadable", "err", err)
		}
	}
	loc := s.zone(name)
	if v != nil {
		v.loc = loc
	}
	return loc
}

func (s *Server) companyZone(r *http.Request) (string, error) {
	return s.store.Setting(r.Context(), directory.SettingTimeZone)
}

// zone loads a time zone by name, UTC when the name is empty or unknown
// (the store validates names before writing them).
func (s *Server) zone(name string) *time.Location {
	if name == "" || name == "UTC" || name == "Local" {
		return time.UTC
	}
	if l, ok := s.zones.Load(name); ok {
		return l.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		s.log.Warn("unknown time zone", "zone", name, "err", err)
		return time.UTC
	}
	s.zones.Store(name, loc)
	return loc
}

// accountTimeZone sets the viewer's own time zone; empty means the
// company's.
func (s *Server) accountTimeZone(w http.ResponseWriter, r *http.Request) {
	v := viewerOf(r)
	tz := strings.TrimSpace(r.PostFormValue("time_zone"))
	_, err := s.store.UpdateUser(r.Context(), v.user().ID, directory.UserPatch{TimeZone: &tz})
	if fe := formErrors(err); fe != nil {
		s.renderAccount(w, r, http.StatusBadRequest, "", fe)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	done(w, r, "/account", "saved")
}

// Why explains a decision in the page's language, as authz.Decision.String
// does in English: "department, from role Team lead".
func (p *page) Why(d authz.Decision) string {
	sc := p.Scope(d.Scope)
	switch d.Source {
	case authz.SourceOwner:
		return p.T("why.owner", sc)
	case authz.SourceOverride:
		return p.T("why.override", sc)
	case authz.SourceRole:
		return p.T("why.role", sc, d.RoleName)
	case authz.SourceDeleted:
		return p.T("why.deleted", sc)
	}
	return p.T("why.none", sc)
}
