package web

import (
	"net/http"

	"github.com/switchboard-pbx/switchboard/directory"
)

// mailJSON is the SMTP settings in the API. The password is write-only:
// GET answers password_set, never the password.
type mailJSON struct {
	Host        string `json:"host"`
	Port        string `json:"port"`
	Security    string `json:"security"`
	User        string `json:"user"`
	PasswordSet bool   `json:"password_set"`
	From        string `json:"from"`
	InviteTTL   string `json:"invite_ttl"`
}

// mailPatch is the body of PUT /api/v1/settings/mail: fields left out stay
// as they are; "password": "" removes the password.
type mailPatch struct {
	Host      *string `json:"host"`
	Port      *string `json:"port"`
	Security  *string `json:"security"`
	User      *string `json:"user"`
	Password  *string `json:"password"`
	From      *string `json:"from"`
	InviteTTL *string `json:"invite_ttl"`
}

func (s *Server) apiMailSettings(w http.ResponseWriter, r *http.Request) {
	vals, err := s.store.Settings(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, mailJSON{Host: vals[directory.SettingSMTPHost], Port: vals[directory.SettingSMTPPort],
		Security: vals[directory.SettingSMTPSecurity], User: vals[directory.SettingSMTPUser],
		PasswordSet: vals[directory.SettingSMTPPassword] != "", From: vals[directory.SettingMailFrom],
		InviteTTL: vals[directory.SettingInviteTTL]})
}

func (s *Server) apiMailSettingsUpdate(w http.ResponseWriter, r *http.Request) {
	var in mailPatch
	if err := readJSON(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	m := map[string]string{}
	for k, v := range map[string]*string{directory.SettingSMTPHost: in.Host, directory.SettingSMTPPort: in.Port,
		directory.SettingSMTPSecurity: in.Security, directory.SettingSMTPUser: in.User,
		directory.SettingSMTPPassword: in.Password, directory.SettingMailFrom: in.From, directory.SettingInviteTTL: in.InviteTTL} {
		if v != nil {
			m[k] = *v
		}
	}
	if err := s.writeMailSettings(r, m); err != nil {
		s.fail(w, r, err)
		return
	}
	s.apiMailSettings(w, r)
}

// apiMailTest sends a test mail: {"to": "…"} or the caller's own address.
func (s *Server) apiMailTest(w http.ResponseWriter, r *http.Request) {
	var in struct {
		To string `json:"to"`
	}
	if r.ContentLength != 0 {
		if err := readJSON(w, r, &in); err != nil {
			s.fail(w, r, err)
			return
		}
	}
	if err := s.sendTestMail(r, in.To); err != nil {
		if _, ok := err.(*directory.InvalidError); ok {
			s.fail(w, r, err)
			return
		}
		writeJSON(w, http.StatusBadGateway, map[string]apiError{"error": {Code: "mail_failed", Message: err.Error()}})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"sent": true})
}
