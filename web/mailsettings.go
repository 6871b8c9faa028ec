package web

import (
	"errors"
	"net/http"
	"net/mail"
	"strings"

	"github.com/switchboard-pbx/switchboard/directory"
)

// mailSettingsPage is the E-mail settings page: the SMTP server, whose
// password is write-only (the page shows only whether one is set).
type mailSettingsPage struct {
	Values      map[string]string
	PasswordSet bool
	Errors      map[string]string
	Flags       []string // fields a --smtp-* flag of this node overrides
	TestTo      string
	TestError   string
	TestSent    bool
}

func (s *Server) mailSettingsShow(w http.ResponseWriter, r *http.Request) {
	s.renderMailSettings(w, r, http.StatusOK, mailSettingsPage{})
}

func (s *Server) renderMailSettings(w http.ResponseWriter, r *http.Request, status int, mp mailSettingsPage) {
	vals, err := s.store.Settings(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	shown := map[string]string{}
	for _, k := range directory.MailSettings {
		shown[k] = vals[k]
	}
	for k, v := range mp.Values {
		shown[k] = v
	}
	mp.PasswordSet = vals[directory.SettingSMTPPassword] != "" || s.cfg.Mail.Password != ""
	delete(shown, directory.SettingSMTPPassword)
	mp.Values = shown
	mp.Flags = s.mailFlags()
	if mp.TestTo == "" {
		mp.TestTo = viewerOf(r).user().Email
	}
	p := s.page(r, "mail.title")
	p.Data = mp
	s.render(w, r, status, "mail_settings.html", p)
}

// mailFlags names the settings this node's flags override.
func (s *Server) mailFlags() []string {
	f := s.cfg.Mail
	var out []string
	for _, x := range []struct{ key, v string }{{directory.SettingSMTPHost, f.Host}, {directory.SettingSMTPPort, f.Port},
		{directory.SettingSMTPSecurity, f.Security}, {directory.SettingSMTPUser, f.User},
		{directory.SettingSMTPPassword, f.Password}, {directory.SettingMailFrom, f.From}} {
		if x.v != "" {
			out = append(out, x.key)
		}
	}
	return out
}

// mailSettingsUpdate writes the mail settings of the form. An empty
// password field keeps the stored password; the "clear" box removes it.
func (s *Server) mailSettingsUpdate(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.fail(w, r, err)
		return
	}
	in := map[string]string{}
	for _, k := range directory.MailSettings {
		if _, ok := r.PostForm[k]; ok {
			in[k] = strings.TrimSpace(r.PostFormValue(k))
		}
	}
	if r.PostFormValue("clear_password") != "" {
		in[directory.SettingSMTPPassword] = ""
	} else if in[directory.SettingSMTPPassword] == "" {
		delete(in, directory.SettingSMTPPassword)
	}
	err := s.writeMailSettings(r, in)
	if fe := formErrors(err); fe != nil {
		delete(in, directory.SettingSMTPPassword)
		s.renderMailSettings(w, r, http.StatusBadRequest, mailSettingsPage{Values: in, Errors: fe})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	done(w, r, "/settings/mail", "saved")
}

// writeMailSettings validates every value first and writes the ones that
// changed, each audited with the password redacted; with any field error
// (all joined) nothing is written. For the page and the API alike.
func (s *Server) writeMailSettings(r *http.Request, in map[string]string) error {
	cur, err := s.store.Settings(r.Context())
	if err != nil {
		return err
	}
	var errs []error
	for _, k := range directory.MailSettings {
		if v, ok := in[k]; ok {
			errs = append(errs, directory.ValidateSetting(k, v))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, k := range directory.MailSettings {
		v, ok := in[k]
		if !ok || v == cur[k] {
			continue
		}
		if err := s.store.SetSetting(r.Context(), k, v); err != nil {
			return err
		}
		s.auditChange(r, viewerOf(r), "settings.set", "setting:"+k, directory.RedactSetting(k, v),
			map[string]any{k: directory.RedactSetting(k, cur[k])}, map[string]any{k: directory.RedactSetting(k, v)})
	}
	return nil
}

// mailTest sends a test mail to the address of the form (the viewer's own
// by default) and shows what the server answered.
func (s *Server) mailTest(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.fail(w, r, err)
		return
	}
	to := strings.TrimSpace(r.PostFormValue("to"))
	err := s.sendTestMail(r, to)
	mp := mailSettingsPage{TestTo: to, TestSent: err == nil}
	status := http.StatusOK
	if err != nil {
		mp.TestError, status = err.Error(), http.StatusBadGateway // the mail server said no
		var ie *directory.InvalidError
		if errors.As(err, &ie) { // no server set up, or a bad address
			mp.TestError, status = ie.Rule, http.StatusBadRequest
		}
	}
	s.renderMailSettings(w, r, status, mp)
}

// sendTestMail sends the test mail in the viewer's language, audited.
func (s *Server) sendTestMail(r *http.Request, to string) error {
	v := viewerOf(r)
	if to == "" {
		to = v.user().Email
	}
	addr, err := mail.ParseAddress(to)
	if err != nil {
		return &directory.InvalidError{Field: "to", Rule: "must be an address such as name@example.com"}
	}
	p := s.page(r, "")
	err = s.sendMail(r.Context(), *addr, p.Lang, p.T("mail.test.subject"), p.T("mail.test.body", v.user().Name))
	detail := "to " + addr.Address
	if err != nil {
		detail += ": " + truncate(err.Error(), 200)
	}
	s.audit(r, v, "mail.test", "setting:mail", detail)
	return err
}
