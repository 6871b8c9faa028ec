package web

import (
	"context"
	"net/http"

	"github.com/switchboard-pbx/switchboard/directory"
)

type accountPage struct {
	Tokens   []directory.APIToken
	NewToken string // shown once, right after it is made
	Secret   string // a new extension password, shown once
	Errors   map[string]string
	Company  string   // the company's time zone, used when the viewer has none
	Zones    []string // time zones offered

	// Phones: the viewer's registrations and manual setup.
	Phones *userPhones
}

func (s *Server) account(w http.ResponseWriter, r *http.Request) {
	s.renderAccount(w, r, http.StatusOK, "", nil)
}

func (s *Server) renderAccount(w http.ResponseWriter, r *http.Request, status int, newToken string, errs map[string]string) {
	s.renderAccountPage(w, r, status, accountPage{NewToken: newToken, Errors: errs})
}

func (s *Server) renderAccountPage(w http.ResponseWriter, r *http.Request, status int, ap accountPage) {
	ts, err := s.store.Tokens(r.Context(), viewerOf(r).user().ID)
	var company string
	if err == nil {
		company, err = s.companyZone(r)
	}
	if err == nil {
		ap.Phones, err = s.userPhones(r, viewerOf(r).user())
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.page(r, "account.title")
	ap.Tokens, ap.Company, ap.Zones = ts, company, zoneSuggestions
	p.Data = ap
	s.render(w, r, status, "account.html", p)
}

func (s *Server) accountLanguage(w http.ResponseWriter, r *http.Request) {
	v := viewerOf(r)
	lang := r.PostFormValue("language")
	_, err := s.store.UpdateUser(r.Context(), v.user().ID, directory.UserPatch{Language: &lang})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	done(w, r, "/account", "saved")
}

// NewAPIToken makes a personal API token for the user, stores its hash and
// returns the token, which is shown once. `switchboard token create` and
// the account page both use it.
func NewAPIToken(ctx context.Context, st directory.Store, userID int64, name string) (string, *directory.APIToken, error) {
	tok := "sbt_" + randomToken(32)
	t := &directory.APIToken{UserID: userID, Name: name, Hash: sha256Hex(tok), Prefix: tok[:12]}
	if err := st.CreateToken(ctx, t); err != nil {
		return "", nil, err
	}
	return tok, t, nil
}

func (s *Server) tokenCreate(w http.ResponseWriter, r *http.Request) {
	v := viewerOf(r)
	tok, t, err := NewAPIToken(r.Context(), s.store, v.user().ID, r.PostFormValue("name"))
	if fe := formErrors(err); fe != nil {
		s.renderAccount(w, r, http.StatusBadRequest, "", fe)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.audit(r, v, "token.create", "token:"+itoa(t.ID), t.Name)
	s.renderAccount(w, r, http.StatusOK, tok, nil)
}

func (s *Server) tokenDelete(w http.ResponseWriter, r *http.Request) {
	v := viewerOf(r)
	id, err := idParam(r)
	if err == nil {
		err = s.store.DeleteToken(r.Context(), v.user().ID, id) // only the viewer's own
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.audit(r, v, "token.revoke", "token:"+itoa(id), "")
	done(w, r, "/account", "revoked")
}

// accountPassword changes the viewer's own web password. The current one is
// required (a session left open is not enough to take the account over),
// wrong tries count in the login throttle, the new one must pass the
// password policy, and every other session of the account ends; this
// browser gets a fresh session.
func (s *Server) accountPassword(w http.ResponseWriter, r *http.Request) {
	v := viewerOf(r)
	if err := parseForm(w, r); err != nil {
		s.fail(w, r, err)
		return
	}
	ctx := r.Context()
	u, err := s.store.User(ctx, v.user().ID)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	src := sourceKey(r.RemoteAddr)
	if !s.throttle.allowed(u.Email, src) {
		s.audit(r, v, "user.password.change.throttled", "user:"+itoa(u.ID), "")
		s.renderAccountPage(w, r, http.StatusTooManyRequests, accountPage{Errors: map[string]string{"current_password": "too many wrong tries, wait a while"}})
		return
	}
	cur, pw := directory.Password(r.PostFormValue("current_password")), r.PostFormValue("password")
	if !directory.CheckPassword(u.PasswordHash, cur) {
		s.throttle.failed(u.Email, src)
		s.audit(r, v, "user.password.change.failed", "user:"+itoa(u.ID), "wrong current password")
		s.renderAccountPage(w, r, http.StatusBadRequest, accountPage{Errors: map[string]string{"current_password": "is not your current password"}})
		return
	}
	err = directory.DefaultPasswordPolicy.Check(pw, u.Email, u.Name)
	if err == nil && pw != r.PostFormValue("password_confirm") {
		err = &directory.InvalidError{Field: "password_confirm", Rule: "does not match the new password"}
	}
	if fe := formErrors(err); fe != nil {
		s.renderAccountPage(w, r, http.StatusBadRequest, accountPage{Errors: fe})
		return
	}
	hash, err := directory.HashPassword(directory.Password(pw))
	if err == nil {
		err = s.store.SetPasswordHash(ctx, u.ID, hash)
	}
	if err == nil {
		err = s.store.DeleteUserSessions(ctx, u.ID)
	}
	if err == nil {
		err = s.startSession(w, r, u)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.throttle.succeeded(u.Email, src)
	s.auditChange(r, v, "user.password.change", "user:"+itoa(u.ID), "other sessions ended",
		map[string]any{"password": directory.Redacted}, map[string]any{"password": directory.Redacted})
	done(w, r, "/account", "saved") // the new session's cookie is set; its form tokens come with the next page
}

// accountExtPassword gives the viewer's own phone a new generated
// extension password, shown once; the old one stops working.
func (s *Server) accountExtPassword(w http.ResponseWriter, r *http.Request) {
	a, err := s.store.Access(r.Context(), viewerOf(r).user().ID)
	var pw directory.Password
	if err == nil {
		pw, err = s.newExtPassword(r, a)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderAccountPage(w, r, http.StatusOK, accountPage{Secret: string(pw)})
}
