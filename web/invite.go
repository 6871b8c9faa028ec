package web

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"net/http"
	"net/mail"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/switchboard-pbx/switchboard/directory"
)

// inviteForm is the Invite a colleague page.
type inviteForm struct {
	userForm
	MailLang string // the language of the mail
	MailOK   bool   // an SMTP server is set up
	Sent     *directory.User
	MailErr  string // the mail did not go out; nothing was kept
}

func (s *Server) inviteNew(w http.ResponseWriter, r *http.Request) {
	f, err := s.newUserForm(r, nil)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderInvite(w, r, http.StatusOK, &inviteForm{userForm: *f, MailLang: s.page(r, "").Lang})
}

func (s *Server) renderInvite(w http.ResponseWriter, r *http.Request, status int, f *inviteForm) {
	if c, err := s.mailConfig(r.Context()); err == nil {
		f.MailOK = c.Configured()
	}
	p := s.page(r, "invite.title")
	p.Data = f
	s.render(w, r, status, "invite.html", p)
}

// inviteCreate makes the account (no web password yet, an extension
// password nobody knows) and mails the colleague a one-time link.
func (s *Server) inviteCreate(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.fail(w, r, err)
		return
	}
	n := directory.NewUser{Name: r.PostFormValue("name"), Email: r.PostFormValue("email"),
		Extension: strings.TrimSpace(r.PostFormValue("extension")), Mobile: strings.TrimSpace(r.PostFormValue("mobile")),
		Language: r.PostFormValue("language"), RoleIDs: idList(r.PostForm["role"]), GroupIDs: idList(r.PostForm["group"])}
	lang := r.PostFormValue("mail_language")
	u, err := s.invite(r, n, lang)
	var me *mailError
	if fe := formErrors(err); fe != nil || errors.As(err, &me) {
		f, ferr := s.newUserForm(r, &directory.User{Name: n.Name, Email: n.Email, Extension: n.Extension,
			Mobile: n.Mobile, Language: n.Language, RoleIDs: n.RoleIDs, GroupIDs: n.GroupIDs})
		if ferr != nil {
			s.fail(w, r, ferr)
			return
		}
		f.Errors = fe
		status, mailErr := http.StatusBadRequest, ""
		if me != nil {
			status, mailErr = http.StatusBadGateway, me.err.Error()
		}
		s.renderInvite(w, r, status, &inviteForm{userForm: *f, MailLang: lang, MailErr: mailErr})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderInvite(w, r, http.StatusOK, &inviteForm{Sent: u})
}

// mailError is an invitation whose mail did not go out; the account made
// for it is deleted again.
type mailError struct{ err error }

func (e *mailError) Error() string {
	return "the invitation could not be mailed, so no account was kept: " + e.err.Error()
}
func (e *mailError) Unwrap() error { return e.err }

// invite creates the invited account (createUser's rules: users.create and
// roles the viewer may grant), stores a one-time token's hash for it and
// mails the link in lang. When the mail does not go out the account is
// deleted again (freeing its email and extension) and the error is a
// *mailError.
func (s *Server) invite(r *http.Request, n directory.NewUser, lang string) (*directory.User, error) {
	ctx := r.Context()
	if !slices.Contains(languages, lang) {
		lang = s.page(r, "").Lang
	}
	c, err := s.mailConfig(ctx)
	if err != nil {
		return nil, err
	}
	if !c.Configured() {
		return nil, &directory.InvalidError{Field: "form", Rule: s.page(r, "").T("invite.nomail")}
	}
	ttlSetting, err := s.store.Setting(ctx, directory.SettingInviteTTL)
	if err != nil {
		return nil, err
	}
	ttl, err := directory.ParseInviteTTL(ttlSetting)
	if err != nil {
		ttl = directory.DefaultInviteTTL
	}
	n.Password = ""
	n.ExtPassword = directory.GeneratePassword(16) // replaced, and shown, when the link is used
	u, err := s.createUser(r, n)
	if err != nil {
		return nil, err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	tok := base64.RawURLEncoding.EncodeToString(b)
	now := s.now()
	in := &directory.Invite{TokenHash: hashToken(tok), UserID: u.ID, CreatedBy: viewerOf(r).user().ID,
		CreatedAt: now, ExpiresAt: now.Add(ttl)}
	if err := s.store.CreateInvite(ctx, in); err != nil {
		return nil, err
	}
	link := s.baseURL(r) + "/invite/" + tok
	inviter := viewerOf(r).user().Name
	t := func(key string, args ...any) string { return s.cat.translate(lang, key, args...) }
	body := t("invite.mail.body", u.Name, inviter, u.Extension, link, formatTime(lang, in.ExpiresAt, s.location(r)))
	err = s.sendMail(ctx, mail.Address{Name: u.Name, Address: u.Email}, lang, t("invite.mail.subject", inviter), body)
	detail := u.Email + " ext " + u.Extension + ", link valid until " + in.ExpiresAt.Format(time.RFC3339)
	if err != nil {
		s.audit(r, viewerOf(r), "user.invite", "user:"+itoa(u.ID), detail+"; mail failed, account deleted: "+
			truncate(err.Error(), 200))
		if derr := s.store.SetUserState(ctx, u.ID, directory.UserDeleted); derr != nil {
			s.log.Warn("invited account not deleted after the mail failed", "user_id", u.ID, "err", derr)
		}
		return nil, &mailError{err}
	}
	s.audit(r, viewerOf(r), "user.invite", "user:"+itoa(u.ID), detail)
	return u, nil
}

// invitePage is the colleague's side of the link.
type invitePage struct {
	Name, Email, Extension string
	Errors                 map[string]string
	Done                   bool
	ExtPassword            string // shown once, after the password is set
	Domain                 string
}

// loadInvite finds the usable invitation of the route's token and its user.
func (s *Server) loadInvite(r *http.Request) (*directory.Invite, *directory.User, error) {
	in, err := s.store.InviteByToken(r.Context(), hashToken(chi.URLParam(r, "token")))
	if err != nil {
		return nil, nil, err
	}
	if !in.Usable(s.now()) {
		return nil, nil, directory.ErrNotFound
	}
	u, err := s.store.User(r.Context(), in.UserID)
	if err != nil {
		return nil, nil, err
	}
	if u.State != directory.UserActive {
		return nil, nil, directory.ErrNotFound
	}
	return in, u, nil
}

func (s *Server) inviteShow(w http.ResponseWriter, r *http.Request) {
	_, u, err := s.loadInvite(r)
	if errors.Is(err, directory.ErrNotFound) {
		s.render(w, r, http.StatusNotFound, "invite_invalid.html", s.page(r, "invite.accept.title"))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderAccept(w, r, http.StatusOK, u, invitePage{Name: u.Name, Email: u.Email, Extension: u.Extension})
}

// inviteAccept sets the colleague's web password and a new extension
// password, shown once; the link is spent at that moment, even when two
// browsers race on it.
func (s *Server) inviteAccept(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	in, u, err := s.loadInvite(r)
	if err == nil {
		err = parseForm(w, r)
	}
	if errors.Is(err, directory.ErrNotFound) {
		s.render(w, r, http.StatusNotFound, "invite_invalid.html", s.page(r, "invite.accept.title"))
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ip := invitePage{Name: u.Name, Email: u.Email, Extension: u.Extension, Errors: map[string]string{}}
	pw := r.PostFormValue("password")
	if pw != r.PostFormValue("password2") {
		ip.Errors["password"] = s.page(r, "").T("invite.accept.differ")
	} else if err := directory.DefaultPasswordPolicy.Check(pw, u.Email, u.Name); err != nil {
		for f, m := range formErrors(err) {
			ip.Errors[f] = m
		}
		if len(ip.Errors) == 0 {
			ip.Errors["password"] = err.Error()
		}
	}
	if len(ip.Errors) > 0 {
		s.renderAccept(w, r, http.StatusBadRequest, u, ip)
		return
	}
	hash, err := directory.HashPassword(directory.Password(pw))
	var realm string
	if err == nil {
		realm, err = s.store.Setting(ctx, directory.SettingDomain)
	}
	if err == nil {
		err = s.store.UseInvite(ctx, in.ID, s.now())
	}
	if errors.Is(err, directory.ErrNotFound) {
		s.render(w, r, http.StatusNotFound, "invite_invalid.html", s.page(r, "invite.accept.title"))
		return
	}
	ext := directory.GeneratePassword(16)
	if err == nil {
		err = s.store.SetPasswordHash(ctx, u.ID, hash)
	}
	if err == nil {
		err = s.store.SetSIPSecret(ctx, u.ID, directory.NewSIPSecret(u.Extension, realm, ext))
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.audit(r, &viewer{access: &directory.Access{User: *u}}, "user.invite.accept", "user:"+itoa(u.ID),
		"web password set, new extension password shown once")
	ip.Done, ip.ExtPassword, ip.Domain, ip.Errors = true, string(ext), realm, nil
	s.renderAccept(w, r, http.StatusOK, u, ip)
}

func (s *Server) renderAccept(w http.ResponseWriter, r *http.Request, status int, u *directory.User, ip invitePage) {
	p := s.page(r, "invite.accept.title")
	if u.Language != "" && !p.SignedIn() {
		p.Lang = u.Language
	}
	p.Data = ip
	s.render(w, r, status, "invite_accept.html", p)
}

// inviteRequest is the body of POST /api/v1/users/invite.
type inviteRequest struct {
	Name         string  `json:"name"`
	Email        string  `json:"email"`
	Extension    string  `json:"extension"`
	Mobile       string  `json:"mobile"`
	Language     string  `json:"language"`      // the account's UI language
	MailLanguage string  `json:"mail_language"` // the mail's; default the caller's
	RoleIDs      []int64 `json:"role_ids"`
	GroupIDs     []int64 `json:"group_ids"`
}

// apiInvite invites a colleague as the page does; the link goes only to
// the colleague's mailbox, never into the answer.
func (s *Server) apiInvite(w http.ResponseWriter, r *http.Request) {
	var in inviteRequest
	if err := readJSON(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	u, err := s.invite(r, directory.NewUser{Name: in.Name, Email: in.Email, Extension: strings.TrimSpace(in.Extension),
		Mobile: strings.TrimSpace(in.Mobile), Language: in.Language, RoleIDs: in.RoleIDs, GroupIDs: in.GroupIDs}, in.MailLanguage)
	var me *mailError
	if errors.As(err, &me) {
		writeJSON(w, http.StatusBadGateway, map[string]apiError{"error": {Code: "mail_failed", Message: me.Error()}})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"user": toUserJSON(u), "mailed": true})
}
