package web

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
)

// The auto attendant's menus: a number the PBX answers with
// a greeting and digit options. Menus serve the whole company (they hang
// off inbound numbers), so viewing and editing them is ivr.control at
// scope any, like the inbound numbers' office hours; a department scope
// gets 403 with the reason. Greetings are uploaded as WAV in any common
// rate, width and channel count and stored converted to 8 kHz 16-bit
// mono (Config.ConvertAudio, as voicemail greetings) under the recordings
// directory.
func (s *Server) registerIVR(web, api *router) {
	web.get("/ivr", need(authz.IVRControl), s.ivrShow)
	web.post("/ivr", need(authz.IVRControl), s.ivrCreate)
	web.get("/ivr/{id}", need(authz.IVRControl), s.ivrEdit)
	web.post("/ivr/{id}", need(authz.IVRControl), s.ivrUpdate)
	web.post("/ivr/{id}/delete", need(authz.IVRControl), s.ivrDelete)
	web.post("/ivr/{id}/greeting", need(authz.IVRControl), s.ivrGreetingUpload)

	api.get("/ivr-menus", need(authz.IVRControl), s.apiIVRMenus)
	api.post("/ivr-menus", need(authz.IVRControl), s.apiIVRCreate)
	api.get("/ivr-menus/{id}", need(authz.IVRControl), s.apiIVRMenu)
	api.put("/ivr-menus/{id}", need(authz.IVRControl), s.apiIVRUpdate)
	api.delete("/ivr-menus/{id}", need(authz.IVRControl), s.apiDelete(s.deleteIVRMenu))
	api.put("/ivr-menus/{id}/greeting", need(authz.IVRControl), s.apiIVRGreeting)
}

// ivrAuditActions are the audit actions of the menus.
var ivrAuditActions = []string{"ivr.menu.create", "ivr.menu", "ivr.menu.delete", "ivr.menu.greeting"}

// ivrDigits are the keys of a menu, in the order the form shows them.
var ivrDigits = []string{"1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "*", "#"}

// canIVR asks authz whether the viewer may work on menus: company-wide
// ivr.control.
func (s *Server) canIVR(r *http.Request) error {
	return forbidden(authz.Can(subject(r), authz.IVRControl, authz.ScheduleResource(nil)))
}

type ivrPage struct {
	Menus   []directory.IVRMenu
	Actions []directory.IVRAction
	Digits  []string
	Edit    bool
	Form    directory.IVRMenu
	Errors  map[string]string
}

// Opt returns the option of digit d in the form.
func (p ivrPage) Opt(d string) directory.IVROption {
	o, _ := p.Form.Option(d)
	return o
}

func (s *Server) renderIVR(w http.ResponseWriter, r *http.Request, status int, ip ivrPage) {
	if err := s.canIVR(r); err != nil {
		s.fail(w, r, err)
		return
	}
	menus, err := s.store.IVRMenus(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ip.Menus, ip.Actions, ip.Digits = menus, directory.IVRActions, ivrDigits
	p := s.page(r, "ivr.title")
	p.Data = ip
	s.render(w, r, status, "ivr.html", p)
}

func (s *Server) ivrShow(w http.ResponseWriter, r *http.Request) {
	s.renderIVR(w, r, http.StatusOK, ivrPage{Form: directory.IVRMenu{DigitTimeout: directory.DefaultIVRDigitTimeout,
		MaxTries: directory.DefaultIVRTries}})
}

// ivrForm reads the menu fields of the form into m.
func ivrForm(r *http.Request, m *directory.IVRMenu) {
	m.Number = r.PostFormValue("number")
	m.Name = r.PostFormValue("name")
	m.DigitTimeout, _ = strconv.Atoi(r.PostFormValue("digit_timeout"))
	m.MaxTries, _ = strconv.Atoi(r.PostFormValue("max_tries"))
	m.TimeoutAction = directory.IVRAction(r.PostFormValue("timeout_action"))
	m.TimeoutTarget = r.PostFormValue("timeout_target")
	m.InvalidAction = directory.IVRAction(r.PostFormValue("invalid_action"))
	m.InvalidTarget = r.PostFormValue("invalid_target")
	m.Options = nil
	for _, d := range ivrDigits {
		a := r.PostFormValue("opt_" + d + "_action")
		if a == "" {
			continue
		}
		m.Options = append(m.Options, directory.IVROption{Digit: d, Action: directory.IVRAction(a),
			Target: r.PostFormValue("opt_" + d + "_target")})
	}
}

func (s *Server) ivrCreate(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.fail(w, r, err)
		return
	}
	var m directory.IVRMenu
	ivrForm(r, &m)
	err := s.saveIVRMenu(r, &m, true)
	if fe := formErrors(err); fe != nil {
		s.renderIVR(w, r, http.StatusBadRequest, ivrPage{Form: m, Errors: fe})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	done(w, r, "/ivr/"+strconv.FormatInt(m.ID, 10), "created")
}

func (s *Server) ivrEdit(w http.ResponseWriter, r *http.Request) {
	m, err := s.ivrParam(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderIVR(w, r, http.StatusOK, ivrPage{Edit: true, Form: *m})
}

func (s *Server) ivrUpdate(w http.ResponseWriter, r *http.Request) {
	m, err := s.ivrParam(r)
	if err == nil {
		err = parseForm(w, r)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ivrForm(r, m)
	err = s.saveIVRMenu(r, m, false)
	if fe := formErrors(err); fe != nil {
		s.renderIVR(w, r, http.StatusBadRequest, ivrPage{Edit: true, Form: *m, Errors: fe})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	done(w, r, "/ivr/"+strconv.FormatInt(m.ID, 10), "saved")
}

func (s *Server) ivrDelete(w http.ResponseWriter, r *http.Request) {
	if err := s.deleteIVRMenu(r); err != nil {
		s.fail(w, r, err)
		return
	}
	done(w, r, "/ivr", "deleted")
}

// ivrGreetingUpload takes the form's WAV file (multipart, field wav).
func (s *Server) ivrGreetingUpload(w http.ResponseWriter, r *http.Request) {
	m, err := s.ivrParam(r)
	var raw []byte
	if err == nil {
		raw, err = readUpload(r)
	}
	if err == nil {
		err = s.setIVRGreeting(r, m, raw)
	}
	if fe := formErrors(err); fe != nil && m != nil {
		s.renderIVR(w, r, http.StatusBadRequest, ivrPage{Edit: true, Form: *m, Errors: fe})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	done(w, r, "/ivr/"+strconv.FormatInt(m.ID, 10), "saved")
}

// readUpload reads the wav file of a multipart form.
func readUpload(r *http.Request) ([]byte, error) {
	bad := &directory.InvalidError{Field: "wav", Rule: "choose a WAV file"}
	if err := r.ParseMultipartForm(maxGreetingUpload + 64<<10); err != nil {
		var me *http.MaxBytesError
		if errors.As(err, &me) {
			return nil, &directory.InvalidError{Field: "wav", Rule: "must be at most 16 MiB"}
		}
		return nil, bad
	}
	f, _, err := r.FormFile("wav")
	if err != nil {
		return nil, bad
	}
	defer f.Close()
	raw, err := io.ReadAll(io.LimitReader(f, maxGreetingUpload+1))
	if err != nil {
		return nil, bad
	}
	if len(raw) > maxGreetingUpload {
		return nil, &directory.InvalidError{Field: "wav", Rule: "must be at most 16 MiB"}
	}
	return raw, nil
}

// ivrParam loads the menu of the path.
func (s *Server) ivrParam(r *http.Request) (*directory.IVRMenu, error) {
	if err := s.canIVR(r); err != nil {
		return nil, err
	}
	id, err := idParam(r)
	if err != nil {
		return nil, err
	}
	return s.store.IVRMenu(r.Context(), id)
}

// saveIVRMenu creates or updates m and writes the audit entry. A number
// in use is a conflict on the number field.
func (s *Server) saveIVRMenu(r *http.Request, m *directory.IVRMenu, create bool) error {
	if err := s.canIVR(r); err != nil {
		return err
	}
	var err error
	action := "ivr.menu"
	if create {
		err = s.store.CreateIVRMenu(r.Context(), m)
		action = "ivr.menu.create"
	} else {
		err = s.store.UpdateIVRMenu(r.Context(), m)
	}
	if errors.Is(err, directory.ErrExtensionTaken) {
		return directory.Conflict("number", "already in use by a user, a group or another menu")
	}
	if err != nil {
		return err
	}
	s.audit(r, viewerOf(r), action, "ivr:"+strconv.FormatInt(m.ID, 10), m.Number+" "+m.Name+" "+ivrSummary(m))
	return nil
}

// ivrSummary writes a menu's options for the audit log: "1>extension 10002, ...".
func ivrSummary(m *directory.IVRMenu) string {
	var parts []string
	for _, o := range m.Options {
		parts = append(parts, strings.TrimSpace(o.Digit+">"+string(o.Action)+" "+o.Target))
	}
	parts = append(parts, strings.TrimSpace("timeout>"+string(m.TimeoutAction)+" "+m.TimeoutTarget),
		strings.TrimSpace("invalid>"+string(m.InvalidAction)+" "+m.InvalidTarget))
	return strings.Join(parts, ", ")
}

func (s *Server) deleteIVRMenu(r *http.Request) error {
	m, err := s.ivrParam(r)
	if err != nil {
		return err
	}
	if err := s.store.DeleteIVRMenu(r.Context(), m.ID); err != nil {
		return err
	}
	if m.Greeting != "" {
		_ = s.removeRecording(&directory.Recording{Path: m.Greeting})
	}
	s.audit(r, viewerOf(r), "ivr.menu.delete", "ivr:"+strconv.FormatInt(m.ID, 10), m.Number+" "+m.Name)
	return nil
}

// setIVRGreeting converts raw to 8 kHz 16-bit mono, stores it as m's
// greeting in place of the one before, and audits it.
func (s *Server) setIVRGreeting(r *http.Request, m *directory.IVRMenu, raw []byte) error {
	if s.cfg.RecordingsDir == "" {
		return &directory.InvalidError{Field: "wav", Rule: "no recordings directory is configured"}
	}
	if s.cfg.ConvertAudio == nil {
		return &directory.InvalidError{Field: "wav", Rule: "this server cannot convert audio"}
	}
	wav, err := s.cfg.ConvertAudio(bytes.NewReader(raw))
	if err != nil {
		return &directory.InvalidError{Field: "wav", Rule: "must be a WAV file the PBX can play (" + err.Error() + ")"}
	}
	dir, err := filepath.Abs(filepath.Join(s.cfg.RecordingsDir, "ivr"))
	if err == nil {
		err = os.MkdirAll(dir, 0o750)
	}
	path := filepath.Join(dir, strconv.FormatInt(m.ID, 10)+"-"+randomToken(6)+".wav")
	if err == nil {
		err = os.WriteFile(path, wav, 0o640)
	}
	if err != nil {
		return fmt.Errorf("greeting: %w", err)
	}
	old := m.Greeting
	m.Greeting = path
	if err := s.store.UpdateIVRMenu(r.Context(), m); err != nil {
		os.Remove(path)
		m.Greeting = old
		return err
	}
	if old != "" {
		_ = s.removeRecording(&directory.Recording{Path: old})
	}
	s.audit(r, viewerOf(r), "ivr.menu.greeting", "ivr:"+strconv.FormatInt(m.ID, 10),
		fmt.Sprintf("%s %.1f s", m.Number, float64(len(wav)-44)/16000))
	return nil
}
