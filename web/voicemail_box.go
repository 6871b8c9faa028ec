package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	"github.com/go-chi/chi/v5"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
)

// A mailbox's setting: one's own (signed in), a user's one may manage
// (users.manage, as for the rest of the user), or a group's
// (voicemail_group.go). The PIN is written, never read back: the store
// keeps only its argon2id hash.

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
	o, err := s.mailboxOwnerOf(r)
	var m *directory.Mailbox
	if err == nil {
		m, err = s.store.Mailbox(r.Context(), o.userID, o.groupID)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toMailboxJSON(m))
}

func (s *Server) apiMailboxUpdate(w http.ResponseWriter, r *http.Request) {
	o, err := s.mailboxOwnerOf(r)
	var p mailboxPatch
	if err == nil {
		err = readJSON(w, r, &p)
	}
	var m *directory.Mailbox
	if err == nil {
		m, err = s.store.Mailbox(r.Context(), o.userID, o.groupID)
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
	s.audit(r, viewerOf(r), "voicemail.mailbox", o.object(), "")
	writeJSON(w, http.StatusOK, toMailboxJSON(m))
}

// maxGreetingSeconds bounds a greeting's length.
const maxGreetingSeconds = 120

// maxGreetingUpload bounds an uploaded greeting before its conversion: a
// minute and a half of 48 kHz stereo 16-bit audio.
const maxGreetingUpload = 16 << 20

// apiGreetingUpload stores {"wav": base64} as the mailbox's greeting.
func (s *Server) apiGreetingUpload(w http.ResponseWriter, r *http.Request) {
	o, err := s.mailboxOwnerOf(r)
	var body []byte
	if err == nil && !isJSON(r) {
		err = errMediaType
	}
	if err == nil {
		var raw []byte
		raw, err = io.ReadAll(http.MaxBytesReader(w, r.Body, maxGreetingUpload*4/3+1024))
		var me *http.MaxBytesError
		if errors.As(err, &me) {
			err = &directory.InvalidError{Field: "wav", Rule: "must be at most 16 MiB"}
		}
		var in struct {
			WAV []byte `json:"wav"`
		}
		if err == nil && json.Unmarshal(raw, &in) != nil {
			err = &directory.InvalidError{Field: "wav", Rule: "must be the WAV file in base64"}
		}
		body = in.WAV
	}
	var m *directory.Mailbox
	if err == nil {
		m, err = s.storeGreeting(r, o, body)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toMailboxJSON(m))
}

// storeGreeting converts an uploaded WAV (any rate, channels, 8 to 32
// bits: Config.ConvertAudio) to 8 kHz 16-bit mono and stores it under
// the recordings directory as o's greeting, in place of the one before. A
// file it cannot take is an *InvalidError on wav, and the greeting before
// stays.
func (s *Server) storeGreeting(r *http.Request, o mailboxOwner, upload []byte) (*directory.Mailbox, error) {
	if s.cfg.ConvertAudio == nil {
		return nil, &directory.InvalidError{Field: "greeting", Rule: "this server cannot convert audio"}
	}
	body, err := s.cfg.ConvertAudio(bytes.NewReader(upload))
	if err != nil {
		return nil, &directory.InvalidError{Field: "wav", Rule: "is not a WAV file the PBX can play (" + err.Error() + ")"}
	}
	if len(body) > 44+2*8000*maxGreetingSeconds { // the header, then 8 kHz 16-bit mono
		return nil, &directory.InvalidError{Field: "wav", Rule: "must be at most two minutes long"}
	}
	if s.cfg.RecordingsDir == "" {
		return nil, &directory.InvalidError{Field: "greeting", Rule: "no recordings directory is configured"}
	}
	m, err := s.store.Mailbox(r.Context(), o.userID, o.groupID)
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(filepath.Join(s.cfg.RecordingsDir, "voicemail", "greetings"))
	if err == nil {
		err = os.MkdirAll(dir, 0o750)
	}
	path := filepath.Join(dir, o.fileName()+"-"+randomToken(6)+".wav")
	if err == nil {
		err = os.WriteFile(path, body, 0o640)
	}
	if err != nil {
		return nil, fmt.Errorf("greeting: %w", err)
	}
	old := m.Greeting
	m.Greeting = path
	if err := s.store.SetMailbox(r.Context(), m); err != nil {
		os.Remove(path)
		return nil, err
	}
	if old != "" {
		_ = s.removeRecording(&directory.Recording{Path: old})
	}
	s.audit(r, viewerOf(r), "voicemail.mailbox", o.object(), "greeting")
	return m, nil
}
