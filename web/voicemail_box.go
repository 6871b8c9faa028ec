package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
)

// A mailbox's setting: one's own (signed in), or a user's one may manage
// (users.manage, as for the rest of the user). The PIN is written, never
// read back: the store keeps only its argon2id hash.

type mailboxJSON struct {
	Enabled    bool `json:"enabled"`
	PINSet     bool `json:"pin_set"`
	Greeting   bool `json:"greeting"`
	ToEmail    bool `json:"to_email"`
	MaxSeconds int  `json:"max_seconds"`
}

type mailboxPatch struct {
	Enabled    *bool   `json:"enabled"`
	PIN        *string `json:"pin"` // "" removes it (no retrieval by phone)
	ToEmail    *bool   `json:"to_email"`
	MaxSeconds *int    `json:"max_seconds"`
}

func toMailboxJSON(m *directory.Mailbox) mailboxJSON {
	return mailboxJSON{Enabled: m.Enabled, PINSet: m.PINHash != "", Greeting: m.Greeting != "", ToEmail: m.ToEmail,
		MaxSeconds: m.MaxSeconds}
}

// mailboxUser is whose mailbox the route names: the viewer's, or {id}'s
// under users.manage.
func (s *Server) mailboxUser(r *http.Request) (int64, error) {
	if chi.URLParam(r, "id") == "" {
		return viewerOf(r).user().ID, nil
	}
	a, err := s.loadUser(r, authz.UsersManage)
	if err != nil {
		return 0, err
	}
	return a.User.ID, nil
}

func (s *Server) apiMailbox(w http.ResponseWriter, r *http.Request) {
	uid, err := s.mailboxUser(r)
	var m *directory.Mailbox
	if err == nil {
		m, err = s.store.Mailbox(r.Context(), uid, 0)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toMailboxJSON(m))
}

func (s *Server) apiMailboxUpdate(w http.ResponseWriter, r *http.Request) {
	uid, err := s.mailboxUser(r)
	var p mailboxPatch
	if err == nil {
		err = readJSON(w, r, &p)
	}
	var m *directory.Mailbox
	if err == nil {
		m, err = s.store.Mailbox(r.Context(), uid, 0)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if p.Enabled != nil {
		m.Enabled = *p.Enabled
	}
	if p.ToEmail != nil {
		m.ToEmail = *p.ToEmail
	}
	if p.MaxSeconds != nil {
		m.MaxSeconds = *p.MaxSeconds
	}
	if p.PIN != nil {
		m.PINHash = ""
		if *p.PIN != "" {
			if m.PINHash, err = directory.HashPIN(*p.PIN); err != nil {
				s.fail(w, r, err)
				return
			}
		}
	}
	if err := s.store.SetMailbox(r.Context(), m); err != nil {
		s.fail(w, r, err)
		return
	}
	s.audit(r, viewerOf(r), "voicemail.mailbox", "user:"+itoa(uid), "")
	writeJSON(w, http.StatusOK, toMailboxJSON(m))
}
