package web

import (
	"net/http"
	"strings"

	"github.com/switchboard-pbx/switchboard/directory"
)

type settingsPage struct {
	Values   map[string]string
	Roles    []directory.Role
	Errors   map[string]string
	Trunks   []trunkRow // without passwords
	NewTrunk trunkEdit  // the add form
	Zones    []string   // time zones offered for web.timezone
}

func (s *Server) settingsShow(w http.ResponseWriter, r *http.Request) {
	s.renderSettings(w, r, http.StatusOK, nil, nil)
}

func (s *Server) renderSettings(w http.ResponseWriter, r *http.Request, status int, typed map[string]string, errs map[string]string) {
	s.renderSettingsWith(w, r, status, typed, errs, nil)
}

func (s *Server) renderSettingsWith(w http.ResponseWriter, r *http.Request, status int, typed map[string]string,
	errs map[string]string, trunk *trunkForm) {
	vals, err := s.store.Settings(r.Context())
	var roles []directory.Role
	if err == nil {
		roles, err = s.store.Roles(r.Context())
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, k := range []string{directory.SettingRecordingUsers, directory.SettingRecordingGroup} {
		if _, ok := typed[k]; !ok && err == nil {
			vals[k], err = s.recordedNames(r.Context(), k, vals[k]) // names, as they are typed
		}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for k, v := range typed {
		vals[k] = v
	}
	trunks := s.trunkRows(vals[directory.SettingTrunks])
	// Trunks and DIDs have forms of their own; the password never goes
	// to the page.
	delete(vals, directory.SettingTrunks)
	delete(vals, directory.SettingDIDs)
	delete(vals, directory.SettingSMTPPassword) // write-only, on /settings/mail
	p := s.page(r, "settings.title")
	p.Data = settingsPage{Values: vals, Roles: roles, Errors: errs, Trunks: trunks, NewTrunk: trunkEdits(p, trunks, trunk),
		Zones: zoneSuggestions}
	s.render(w, r, status, "settings.html", p)
}

// settingsUpdate writes the settings that changed, each validated by the
// store; every mistake is shown at once and nothing is written then.
func (s *Server) settingsUpdate(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.fail(w, r, err)
		return
	}
	cur, err := s.store.Settings(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	typed, errs, resolved := map[string]string{}, map[string]string{}, map[string]string{}
	for _, k := range directory.SettingKeys {
		if _, ok := r.PostForm[k]; !ok || ownForm(k) {
			continue
		}
		v := strings.TrimSpace(r.PostFormValue(k))
		if k == directory.SettingDefaultCountry {
			v = strings.ToUpper(v)
		}
		if isRecordedList(k) {
			ids, err := s.recordedIDs(r.Context(), k, v)
			if err != nil && formErrors(err) == nil {
				s.fail(w, r, err)
				return
			}
			if err != nil {
				typed[k] = v
				errs[k] = formErrors(err)[k]
				continue
			}
			if ids == cur[k] {
				continue
			}
			typed[k], resolved[k] = v, ids // the page shows names, the store keeps IDs
			continue
		}
		if v == cur[k] {
			continue
		}
		typed[k] = v
		if err := directory.ValidateSetting(k, v); err != nil {
			for f, m := range formErrors(err) {
				errs[f] = m
			}
		}
	}
	if len(errs) > 0 {
		s.renderSettings(w, r, http.StatusBadRequest, typed, errs)
		return
	}
	for _, k := range directory.SettingKeys {
		v, ok := typed[k]
		if ownForm(k) {
			continue
		}
		if !ok {
			continue
		}
		if ids, ok := resolved[k]; ok {
			v = ids
		}
		if err := s.store.SetSetting(r.Context(), k, v); err != nil {
			s.fail(w, r, err)
			return
		}
		s.auditChange(r, viewerOf(r), "settings.set", "setting:"+k, v, map[string]any{k: cur[k]}, map[string]any{k: v})
	}
	done(w, r, "/settings", "saved")
}

// ownForm reports whether a setting is edited by a form of its own: the
// trunks (write-only passwords, settings.telephony) and the DIDs
// (numbers.manage).
func ownForm(key string) bool { return key == directory.SettingTrunks || key == directory.SettingDIDs }
