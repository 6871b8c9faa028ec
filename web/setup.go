package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/switchboard-pbx/switchboard/directory"
)

// NewSetupToken makes the one-time token of the setup link that creates the
// first owner, stores its SHA-256 (never the token) and returns the token.
// Each call replaces the previous token.
func NewSetupToken(ctx context.Context, st directory.Store) (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	tok := base64.RawURLEncoding.EncodeToString(b)
	if err := st.SetSetting(ctx, directory.SettingSetupToken, hashToken(tok)); err != nil {
		return "", err
	}
	return tok, nil
}

func hashToken(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

// setupAllowed reports whether tok is the current setup token and no owner
// exists yet.
func (s *Server) setupAllowed(ctx context.Context, tok string) (bool, error) {
	has, err := s.store.HasOwner(ctx)
	if err != nil || has {
		return false, err
	}
	want, err := s.store.Setting(ctx, directory.SettingSetupToken)
	if err != nil || want == "" {
		return false, err
	}
	return subtle.ConstantTimeCompare([]byte(hashToken(tok)), []byte(want)) == 1, nil
}

type setupPage struct {
	Name, Email, Extension, ExtPassword string
	Errors                              map[string]string
	Done                                bool
}

func (s *Server) setupForm(w http.ResponseWriter, r *http.Request) {
	ok, err := s.setupAllowed(r.Context(), chi.URLParam(r, "token"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !ok {
		s.render(w, r, http.StatusNotFound, "setup_invalid.html", s.page(r, "setup.title"))
		return
	}
	s.renderSetup(w, r, http.StatusOK, setupPage{ExtPassword: string(directory.GeneratePassword(16))})
}

func (s *Server) setupCreate(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	ok, err := s.setupAllowed(ctx, chi.URLParam(r, "token"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if !ok {
		s.render(w, r, http.StatusNotFound, "setup_invalid.html", s.page(r, "setup.title"))
		return
	}
	if err := parseForm(w, r); err != nil {
		s.fail(w, r, err)
		return
	}
	page := setupPage{Name: r.PostFormValue("name"), Email: r.PostFormValue("email"),
		Extension: r.PostFormValue("extension"), ExtPassword: r.PostFormValue("ext_password"), Errors: map[string]string{}}
	if r.PostFormValue("password") != r.PostFormValue("password2") {
		page.Errors["password"] = "the two passwords differ"
		s.renderSetup(w, r, http.StatusBadRequest, page)
		return
	}
	owner, err := s.store.RoleByBuiltin(ctx, directory.BuiltinOwner)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	n := directory.NewUser{Name: page.Name, Email: page.Email, Password: directory.Password(r.PostFormValue("password")),
		Extension: page.Extension, ExtPassword: directory.Password(page.ExtPassword), RoleIDs: []int64{owner.ID}}
	if n.Password == "" {
		page.Errors["password"] = "is required"
		s.renderSetup(w, r, http.StatusBadRequest, page)
		return
	}
	u, err := directory.AddUser(ctx, s.store, n, directory.DefaultPasswordPolicy)
	if errors.Is(err, directory.ErrInvalid) || errors.Is(err, directory.ErrConflict) {
		for _, fe := range directory.Fields(err) {
			page.Errors[fe.Field] = fe.Rule
		}
		var ce *directory.ConflictError
		if errors.As(err, &ce) {
			page.Errors[ce.Field] = ce.Rule
		}
		s.renderSetup(w, r, http.StatusBadRequest, page)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if err := s.store.SetSetting(ctx, directory.SettingSetupToken, ""); err != nil {
		s.log.Warn("setup token not cleared", "err", err)
	}
	s.audit(r, &viewer{access: &directory.Access{User: *u}}, "user.create", "user:"+itoa(u.ID), "owner created through the setup link")
	s.log.Info("owner created", "user_id", u.ID, "ext", u.Extension)
	s.renderSetup(w, r, http.StatusOK, setupPage{Done: true, Email: u.Email, Extension: u.Extension})
}

func (s *Server) renderSetup(w http.ResponseWriter, r *http.Request, status int, sp setupPage) {
	p := s.page(r, "setup.title")
	p.Data = sp
	s.render(w, r, status, "setup.html", p)
}
