package web

import (
	"errors"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
)

// Voicemail messages on the web: a mailbox's messages are its owner's,
// and those of the users a viewer may hear recordings of
// (recordings.listen in scope over the owner, as for a recording of a
// call the owner took part in). The files live under the recordings
// directory and are served as recordings are: through an os.Root,
// checked against the row's SHA-256.

// mailboxWatcher is the part of Live that tells phones of a mailbox's
// change (their message waiting lamp); a Live without it tells nobody.
type mailboxWatcher interface{ MailboxChanged(userID int64) }

// mailboxChanged tells the phones watching the message's mailbox: its
// owner's, or its group's members' (groupMailboxWatcher).
func (s *Server) mailboxChanged(v *directory.Voicemail) {
	if mw, ok := s.live.(mailboxWatcher); ok && v.UserID != 0 {
		mw.MailboxChanged(v.UserID)
	}
	if gw, ok := s.live.(groupMailboxWatcher); ok && v.GroupID != 0 {
		gw.GroupMailboxChanged(v.GroupID)
	}
}

// voicemailAuditActions are the audit actions of this file.
var voicemailAuditActions = []string{"voicemail.delete", "voicemail.listen", "voicemail.mailbox", "voicemail.pin_failed", "voicemail.tampered"}

// voicemailResource is a message for authz: a recording its owner took
// part in; a group's message is in the group's mailbox
// (voicemail_group.go).
func (s *Server) voicemailResource(r *http.Request, v *directory.Voicemail) (authz.Resource, error) {
	if v.GroupID != 0 {
		return s.groupMailboxResource(r, v.GroupID)
	}
	return authz.Resource{Kind: authz.KindRecording, UserIDs: []int64{v.UserID}}, nil
}

// loadVoicemail loads the {id} message if the viewer may hear it: 404
// when the viewer may not know of it.
func (s *Server) loadVoicemail(r *http.Request) (*directory.Voicemail, error) {
	id, err := idParam(r)
	if err != nil {
		return nil, err
	}
	v, err := s.store.Voicemail(r.Context(), id)
	if err != nil {
		return nil, err
	}
	res, err := s.voicemailResource(r, v)
	if err != nil {
		return nil, err
	}
	if err := authz.Can(subject(r), authz.RecordingsListen, res); err != nil {
		if authz.Can(subject(r), authz.RecordingsDownload, res) == nil {
			return nil, forbidden(err)
		}
		return nil, hidden(err)
	}
	return v, nil
}

type voicemailJSON struct {
	ID        int64     `json:"id"`
	UserID    int64     `json:"user_id,omitempty"`
	GroupID   int64     `json:"group_id,omitempty"`
	Caller    string    `json:"caller"`
	StartedAt time.Time `json:"started_at"`
	Seconds   float64   `json:"duration_seconds"`
	Heard     bool      `json:"heard"`
	Audio     string    `json:"audio"`
}

func toVoicemailJSON(v *directory.Voicemail) voicemailJSON {
	return voicemailJSON{ID: v.ID, UserID: v.UserID, GroupID: v.GroupID, Caller: v.Caller, StartedAt: v.StartedAt,
		Seconds: v.Duration.Seconds(), Heard: v.Heard, Audio: "/api/v1/voicemail/" + itoa(v.ID) + "/audio"}
}

// apiVoicemails lists a mailbox's messages, newest first: the viewer's
// own, or ?user=ID's when the viewer may hear them.
func (s *Server) apiVoicemails(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("group") != "" {
		s.apiGroupVoicemails(w, r) // voicemail_group.go
		return
	}
	uid := viewerOf(r).user().ID
	if q := r.URL.Query().Get("user"); q != "" {
		n, err := strconv.ParseInt(q, 10, 64)
		if err != nil || n <= 0 {
			s.fail(w, r, errNotFound)
			return
		}
		uid = n
	}
	res := authz.Resource{Kind: authz.KindRecording, UserIDs: []int64{uid}}
	if err := authz.Can(subject(r), authz.RecordingsListen, res); err != nil {
		s.fail(w, r, hidden(err))
		return
	}
	f := directory.VoicemailFilter{UserID: uid, Vis: directory.Visibility{All: true}, Page: pageParam(r)}
	vs, err := s.store.Voicemails(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]voicemailJSON, len(vs))
	for i := range vs {
		out[i] = toVoicemailJSON(&vs[i])
	}
	writeJSON(w, http.StatusOK, list(out, f.Page, 0))
}

// voicemailAudio streams a message's WAV, with Range support; the listen
// is audited once, on the request from the start.
func (s *Server) voicemailAudio(w http.ResponseWriter, r *http.Request) {
	v, err := s.loadVoicemail(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rec := &directory.Recording{ID: v.ID, Path: v.Path, SHA256: v.SHA256}
	f, st, err := s.openRecording(rec)
	if errors.Is(err, errTampered) {
		s.log.Error("voicemail file tampered", "voicemail_id", v.ID, "err", err)
		s.audit(r, viewerOf(r), "voicemail.tampered", "voicemail:"+itoa(v.ID), err.Error())
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer f.Close()
	if rg := r.Header.Get("Range"); r.Method == http.MethodGet && (rg == "" || strings.HasPrefix(rg, "bytes=0-")) {
		s.audit(r, viewerOf(r), "voicemail.listen", "voicemail:"+itoa(v.ID), "user:"+itoa(v.UserID))
	}
	name := "voicemail-" + itoa(v.ID) + ".wav"
	w.Header().Set("Content-Type", "audio/wav")
	w.Header().Set("Content-Disposition", `inline; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, filepath.Base(name), st.ModTime(), f)
}

// apiVoicemailHeard marks a message heard.
func (s *Server) apiVoicemailHeard(w http.ResponseWriter, r *http.Request) {
	v, err := s.loadVoicemail(r)
	if err == nil {
		err = s.store.SetVoicemailHeard(r.Context(), v.ID, true)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.mailboxChanged(v)
	w.WriteHeader(http.StatusNoContent)
}

// deleteVoicemail removes a message's file and row.
func (s *Server) deleteVoicemail(r *http.Request) error {
	v, err := s.loadVoicemail(r)
	if err != nil {
		return err
	}
	if err := s.removeRecording(&directory.Recording{ID: v.ID, Path: v.Path}); err != nil {
		return err
	}
	if err := s.store.DeleteVoicemail(r.Context(), v.ID); err != nil {
		return err
	}
	s.audit(r, viewerOf(r), "voicemail.delete", "voicemail:"+itoa(v.ID), "user:"+itoa(v.UserID))
	s.mailboxChanged(v)
	return nil
}
