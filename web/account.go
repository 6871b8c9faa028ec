package web

import (
	"context"
	"net/http"

	"github.com/switchboard-pbx/switchboard/directory"
)

type accountPage struct {
	Tokens   []directory.APIToken
	NewToken string // shown once, right after it is made
	Errors   map[string]string
	Company  string   // the company's time zone, used when the viewer has none
	Zones    []string // time zones offered
}

func (s *Server) account(w http.ResponseWriter, r *http.Request) {
	s.renderAccount(w, r, http.StatusOK, "", nil)
}

func (s *Server) renderAccount(w http.ResponseWriter, r *http.Request, status int, newToken string, errs map[string]string) {
	ts, err := s.store.Tokens(r.Context(), viewerOf(r).user().ID)
	var company string
	if err == nil {
		company, err = s.companyZone(r)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.page(r, "account.title")
	p.Data = accountPage{Tokens: ts, NewToken: newToken, Errors: errs, Company: company, Zones: zoneSuggestions}
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
