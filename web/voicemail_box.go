package web

import (
	"encoding/binary"
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

// maxGreeting bounds an uploaded greeting: about two minutes of 8 kHz
// mono 16-bit audio.
const maxGreeting = 2 << 20

// checkGreeting accepts what the PBX plays as a greeting: a WAV of 16-bit
// PCM at 8 kHz, mono or stereo, with a data chunk.
func checkGreeting(b []byte) error {
	bad := &directory.InvalidError{Field: "wav", Rule: "must be a WAV file of 16-bit PCM at 8 kHz"}
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return bad
	}
	fmtOK := false
	for off := 12; off+8 <= len(b); {
		n := int(binary.LittleEndian.Uint32(b[off+4:]))
		body := off + 8
		switch string(b[off : off+4]) {
		case "fmt ":
			if n < 16 || body+16 > len(b) {
				return bad
			}
			f := b[body:]
			le := binary.LittleEndian
			fmtOK = le.Uint16(f[0:]) == 1 && (le.Uint16(f[2:]) == 1 || le.Uint16(f[2:]) == 2) &&
				le.Uint32(f[4:]) == 8000 && le.Uint16(f[14:]) == 16
		case "data":
			if !fmtOK || n == 0 {
				return bad
			}
			return nil
		}
		if n < 0 || n > len(b) {
			return bad
		}
		off = body + n + n&1
	}
	return bad
}

// apiGreetingUpload stores {"wav": base64} as the mailbox's greeting,
// under the recordings directory, in place of the one before.
func (s *Server) apiGreetingUpload(w http.ResponseWriter, r *http.Request) {
	uid, err := s.mailboxUser(r)
	var body []byte
	if err == nil && !isJSON(r) {
		err = errMediaType
	}
	if err == nil {
		var raw []byte
		raw, err = io.ReadAll(http.MaxBytesReader(w, r.Body, maxGreeting*4/3+1024))
		var me *http.MaxBytesError
		if errors.As(err, &me) {
			err = &directory.InvalidError{Field: "wav", Rule: "must be at most 2 MiB"}
		}
		var in struct {
			WAV []byte `json:"wav"`
		}
		if err == nil && json.Unmarshal(raw, &in) != nil {
			err = &directory.InvalidError{Field: "wav", Rule: "must be the WAV file in base64"}
		}
		body = in.WAV
	}
	if err == nil {
		err = checkGreeting(body)
	}
	var m *directory.Mailbox
	if err == nil {
		m, err = s.store.Mailbox(r.Context(), uid, 0)
	}
	if err == nil && s.cfg.RecordingsDir == "" {
		err = &directory.InvalidError{Field: "greeting", Rule: "no recordings directory is configured"}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	dir, err := filepath.Abs(filepath.Join(s.cfg.RecordingsDir, "voicemail", "greetings"))
	if err == nil {
		err = os.MkdirAll(dir, 0o750)
	}
	path := filepath.Join(dir, itoa(uid)+"-"+randomToken(6)+".wav")
	if err == nil {
		err = os.WriteFile(path, body, 0o640)
	}
	if err != nil {
		s.fail(w, r, fmt.Errorf("greeting: %w", err))
		return
	}
	old := m.Greeting
	m.Greeting = path
	if err := s.store.SetMailbox(r.Context(), m); err != nil {
		os.Remove(path)
		s.fail(w, r, err)
		return
	}
	if old != "" {
		_ = s.removeRecording(&directory.Recording{Path: old})
	}
	s.audit(r, viewerOf(r), "voicemail.mailbox", "user:"+itoa(uid), "greeting")
	writeJSON(w, http.StatusOK, toMailboxJSON(m))
}
