package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// ivrMenuJSON is a menu in the API; greeting says whether it has one of
// its own (the file is the server's).
type ivrMenuJSON struct {
	ID            int64                 `json:"id"`
	Number        string                `json:"number"`
	Name          string                `json:"name"`
	Greeting      bool                  `json:"greeting"`
	DigitTimeout  int                   `json:"digit_timeout"`
	MaxTries      int                   `json:"max_tries"`
	Options       []directory.IVROption `json:"options"`
	TimeoutAction directory.IVRAction   `json:"timeout_action"`
	TimeoutTarget string                `json:"timeout_target,omitempty"`
	InvalidAction directory.IVRAction   `json:"invalid_action"`
	InvalidTarget string                `json:"invalid_target,omitempty"`
	CreatedAt     time.Time             `json:"created_at"`
}

func toIVRMenuJSON(m *directory.IVRMenu) ivrMenuJSON {
	opts := m.Options
	if opts == nil {
		opts = []directory.IVROption{}
	}
	return ivrMenuJSON{ID: m.ID, Number: m.Number, Name: m.Name, Greeting: m.Greeting != "", DigitTimeout: m.DigitTimeout,
		MaxTries: m.MaxTries, Options: opts, TimeoutAction: m.TimeoutAction, TimeoutTarget: m.TimeoutTarget,
		InvalidAction: m.InvalidAction, InvalidTarget: m.InvalidTarget, CreatedAt: m.CreatedAt}
}

// ivrBodyJSON is what POST and PUT take; PUT replaces every field but the
// greeting. 0 for digit_timeout or max_tries takes the default.
type ivrBodyJSON struct {
	Number        string                `json:"number"`
	Name          string                `json:"name"`
	DigitTimeout  int                   `json:"digit_timeout"`
	MaxTries      int                   `json:"max_tries"`
	Options       []directory.IVROption `json:"options"`
	TimeoutAction directory.IVRAction   `json:"timeout_action"`
	TimeoutTarget string                `json:"timeout_target"`
	InvalidAction directory.IVRAction   `json:"invalid_action"`
	InvalidTarget string                `json:"invalid_target"`
}

func (in ivrBodyJSON) apply(m *directory.IVRMenu) {
	m.Number, m.Name, m.DigitTimeout, m.MaxTries, m.Options = in.Number, in.Name, in.DigitTimeout, in.MaxTries, in.Options
	m.TimeoutAction, m.TimeoutTarget, m.InvalidAction, m.InvalidTarget = in.TimeoutAction, in.TimeoutTarget,
		in.InvalidAction, in.InvalidTarget
}

func (s *Server) apiIVRMenus(w http.ResponseWriter, r *http.Request) {
	err := s.canIVR(r)
	var menus []directory.IVRMenu
	if err == nil {
		menus, err = s.store.IVRMenus(r.Context())
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]ivrMenuJSON, len(menus))
	for i := range menus {
		out[i] = toIVRMenuJSON(&menus[i])
	}
	writeJSON(w, http.StatusOK, list(out, directory.Page{Number: 1, Size: len(out)}, len(out)))
}

func (s *Server) apiIVRMenu(w http.ResponseWriter, r *http.Request) {
	m, err := s.ivrParam(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toIVRMenuJSON(m))
}

func (s *Server) apiIVRCreate(w http.ResponseWriter, r *http.Request) {
	err := s.canIVR(r)
	var in ivrBodyJSON
	var m directory.IVRMenu
	if err == nil {
		err = readJSON(w, r, &in)
	}
	if err == nil {
		in.apply(&m)
		err = s.saveIVRMenu(r, &m, true)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	created(w, "/api/v1/ivr-menus/"+strconv.FormatInt(m.ID, 10), toIVRMenuJSON(&m))
}

func (s *Server) apiIVRUpdate(w http.ResponseWriter, r *http.Request) {
	m, err := s.ivrParam(r) // 404 before a 400 for the body
	var in ivrBodyJSON
	if err == nil {
		err = readJSON(w, r, &in)
	}
	if err == nil {
		in.apply(m)
		err = s.saveIVRMenu(r, m, false)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toIVRMenuJSON(m))
}

// apiIVRGreeting stores a menu's greeting: {"wav": base64} (the API
// takes JSON bodies only, jsonBodies).
func (s *Server) apiIVRGreeting(w http.ResponseWriter, r *http.Request) {
	m, err := s.ivrParam(r)
	var raw []byte
	if err == nil {
		raw, err = readGreetingBody(w, r)
	}
	if err == nil {
		err = s.setIVRGreeting(r, m, raw)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toIVRMenuJSON(m))
}

func readGreetingBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if !isJSON(r) {
		return nil, errMediaType
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxGreetingUpload*4/3+1024))
	var me *http.MaxBytesError
	if errors.As(err, &me) {
		return nil, &directory.InvalidError{Field: "wav", Rule: "must be at most 16 MiB"}
	}
	if err != nil {
		return nil, &directory.InvalidError{Field: "wav", Rule: "could not be read"}
	}
	var in struct {
		WAV []byte `json:"wav"`
	}
	if json.Unmarshal(raw, &in) != nil || len(in.WAV) == 0 {
		return nil, &directory.InvalidError{Field: "wav", Rule: "must be the WAV file in base64"}
	}
	return in.WAV, nil
}
