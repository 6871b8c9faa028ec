package web

import (
	"errors"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
)

// recordingVisibility lists the recordings a viewer may play or download:
// the wider of the two scopes (department covers own, any covers both).
func recordingVisibility(subj *authz.Subject) directory.Visibility {
	listen, download := subj.Effective(authz.RecordingsListen), subj.Effective(authz.RecordingsDownload)
	if download.Scope > listen.Scope {
		return authz.Visibility(subj, authz.RecordingsDownload)
	}
	return authz.Visibility(subj, authz.RecordingsListen)
}

type recordingRow struct {
	directory.Recording
	Call                   *directory.Call
	CallerName, CalleeName string
	CanListen              bool
	CanDownload            bool
}

type recordingListPage struct {
	Recordings []recordingRow
	CanDelete  bool
	Pager      pager
	Q          url.Values
	Users      []directory.User // the user filter's choices: whom the viewer sees
	Groups     []treeGroup
	Error      string
}

// recordingList shows the recordings the viewer may play or download,
// filtered in the database (recordingFilter), with the names of the
// parties next to their numbers.
func (s *Server) recordingList(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	subj := subject(r)
	q := r.URL.Query()
	rp := recordingListPage{Q: q, CanDelete: authz.CanDo(subj, authz.RecordingsDelete) == nil}
	f, err := recordingFilter(q, subj, s.location(r))
	status := http.StatusOK
	var recs []directory.Recording
	if fe := formErrors(err); fe != nil {
		status = http.StatusBadRequest
		for k, v := range fe {
			rp.Error = k + ": " + v
		}
	} else if err == nil {
		f.Page = pageParam(r)
		recs, err = s.store.Recordings(ctx, f)
		rp.Pager = newPager(r, f.Page, len(recs), -1)
	}
	if err != nil && status == http.StatusOK {
		s.fail(w, r, err)
		return
	}
	names := s.names()
	rp.Recordings = make([]recordingRow, len(recs))
	for i := range recs {
		res := authz.RecordingResource(&recs[i])
		row := recordingRow{Recording: recs[i],
			CanListen:   authz.Can(subj, authz.RecordingsListen, res) == nil,
			CanDownload: authz.Can(subj, authz.RecordingsDownload, res) == nil}
		if c, err := s.store.Call(ctx, recs[i].CallID); err == nil {
			row.Call = c
			row.CallerName, row.CalleeName = names.of(ctx, c.CallerID), names.of(ctx, c.CalleeID)
		}
		rp.Recordings[i] = row
	}
	if authz.CanDo(subj, authz.UsersView) == nil {
		rp.Users, err = s.store.Users(ctx, directory.UserFilter{Vis: authz.Visibility(subj, authz.UsersView),
			Page: directory.Page{Size: 500}})
	}
	var groups []directory.Group
	if err == nil {
		groups, err = s.store.Groups(ctx)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rp.Groups = groupTree(groups)
	p := s.page(r, "recordings.title")
	p.Data = rp
	s.render(w, r, status, "recordings.html", p)
}

// loadRecording loads the recording of the route and asks authz about it
// with p. A deleted recording, or one outside the viewer's scope, is not
// found.
func (s *Server) loadRecording(r *http.Request, p authz.Permission) (*directory.Recording, error) {
	id, err := idParam(r)
	if err != nil {
		return nil, err
	}
	rec, err := s.store.Recording(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if rec.State == directory.RecordingDeleted {
		return nil, errNotFound
	}
	res := authz.RecordingResource(rec)
	if err := authz.Can(subject(r), p, res); err != nil {
		// Someone who may hear it but not download it sees it exists: 403.
		if authz.Can(subject(r), authz.RecordingsListen, res) == nil || authz.Can(subject(r), authz.RecordingsDownload, res) == nil {
			return nil, forbidden(err)
		}
		return nil, hidden(err)
	}
	return rec, nil
}

func (s *Server) recordingAudio(w http.ResponseWriter, r *http.Request) {
	s.serveRecording(w, r, authz.RecordingsListen, "inline", "recording.listen")
}

func (s *Server) recordingDownload(w http.ResponseWriter, r *http.Request) {
	s.serveRecording(w, r, authz.RecordingsDownload, "attachment", "recording.download")
}

// serveRecording sends the WAV with Range support (http.ServeContent), so
// a player can seek. A listen or download is audited once: on the request
// that starts at the beginning, not on each range the player fetches.
func (s *Server) serveRecording(w http.ResponseWriter, r *http.Request, p authz.Permission, disposition, action string) {
	rec, err := s.loadRecording(r, p)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f, st, err := s.openRecording(rec)
	if errors.Is(err, errTampered) {
		s.log.Error("recording file tampered", "recording_id", rec.ID, "err", err)
		s.audit(r, viewerOf(r), "recording.tampered", "recording:"+itoa(rec.ID), err.Error())
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer f.Close()
	rg := r.Header.Get("Range")
	if r.Method == http.MethodGet && (rg == "" || strings.HasPrefix(rg, "bytes=0-")) {
		s.audit(r, viewerOf(r), action, "recording:"+itoa(rec.ID), "call:"+itoa(rec.CallID))
	}
	name := "recording-" + itoa(rec.ID) + ".wav"
	w.Header().Set("Content-Type", "audio/wav")
	w.Header().Set("Content-Disposition", disposition+`; filename="`+name+`"`)
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, filepath.Base(name), st.ModTime(), f)
}

// recordingDelete removes the file and marks the row deleted; the route
// needs recordings.delete, the recording must be one the viewer sees.
func (s *Server) recordingDelete(w http.ResponseWriter, r *http.Request) {
	if err := s.deleteRecording(r); err != nil {
		s.fail(w, r, err)
		return
	}
	done(w, r, "/recordings", "deleted")
}

// deleteRecording is recordingDelete's work, shared with the API.
func (s *Server) deleteRecording(r *http.Request) error {
	rec, err := s.loadRecording(r, authz.RecordingsDelete)
	if err != nil {
		return err
	}
	if err := s.removeRecording(rec); err != nil {
		if errors.Is(err, errTampered) {
			s.audit(r, viewerOf(r), "recording.tampered", "recording:"+itoa(rec.ID), err.Error())
		}
		return err
	}
	rec.State, rec.Size = directory.RecordingDeleted, 0
	if err := s.store.UpdateRecording(r.Context(), rec); err != nil {
		return err
	}
	s.audit(r, viewerOf(r), "recording.delete", "recording:"+itoa(rec.ID), "call:"+itoa(rec.CallID))
	return nil
}
