package web

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
)

// A group's mailbox on the web. Its messages are heard by
// those recordings.listen reaches over it (authz.GroupMailboxResource:
// own, the members of the group; department, also the members of a
// parent group). Its setting (enabled, PIN, e-mail copy, greeting) is the
// department's like its office hours: ivr.control over the group.

// groupMailboxWatcher is the part of Live that tells the phones watching
// a group's mailbox of a change.
type groupMailboxWatcher interface{ GroupMailboxChanged(groupID int64) }

// mailboxOwner names a mailbox: a user's (userID) or a group's.
type mailboxOwner struct{ userID, groupID int64 }

// object is the mailbox as an audit entry's object.
func (o mailboxOwner) object() string {
	if o.groupID != 0 {
		return "group:" + itoa(o.groupID)
	}
	return "user:" + itoa(o.userID)
}

// fileName begins the name of the mailbox's greeting file.
func (o mailboxOwner) fileName() string {
	if o.groupID != 0 {
		return "g" + itoa(o.groupID)
	}
	return itoa(o.userID)
}

// mailboxOwnerOf is whose mailbox the route names: the viewer's, {id}'s
// under users.manage, or group {id}'s under ivr.control.
func (s *Server) mailboxOwnerOf(r *http.Request) (mailboxOwner, error) {
	if chi.URLParam(r, "id") == "" {
		return mailboxOwner{userID: viewerOf(r).user().ID}, nil
	}
	if strings.Contains(chi.RouteContext(r.Context()).RoutePattern(), "/groups/") {
		g, err := s.loadGroupMailbox(r, 0)
		return mailboxOwner{groupID: g}, err
	}
	uid, err := s.mailboxUser(r)
	return mailboxOwner{userID: uid}, err
}

// loadGroupMailbox checks that group id ({id} when 0) exists and that the
// viewer may change its mailbox (ivr.control over the group).
func (s *Server) loadGroupMailbox(r *http.Request, id int64) (int64, error) {
	if id == 0 {
		var err error
		if id, err = idParam(r); err != nil {
			return 0, err
		}
	}
	groups, err := s.store.Groups(r.Context())
	if err != nil {
		return 0, err
	}
	path := directory.GroupPath(groups, id)
	if len(path) == 0 {
		return 0, errNotFound
	}
	if err := authz.Can(subject(r), authz.IVRControl, authz.ScheduleResource(path)); err != nil {
		return 0, forbidden(err)
	}
	return id, nil
}

// groupMailboxResource is group id's mailbox for authz.
func (s *Server) groupMailboxResource(r *http.Request, id int64) (authz.Resource, error) {
	groups, err := s.store.Groups(r.Context())
	if err != nil {
		return authz.Resource{}, err
	}
	return authz.GroupMailboxResource(directory.GroupPath(groups, id)), nil
}

// apiGroupVoicemails lists ?group=ID's messages, newest first, when the
// viewer may hear them; a group the viewer may not hear, like one that
// does not exist, is not found.
func (s *Server) apiGroupVoicemails(w http.ResponseWriter, r *http.Request) {
	gid, err := strconv.ParseInt(r.URL.Query().Get("group"), 10, 64)
	if err != nil || gid <= 0 {
		s.fail(w, r, errNotFound)
		return
	}
	res, err := s.groupMailboxResource(r, gid)
	if err == nil && len(res.GroupIDs) == 0 {
		err = errNotFound
	}
	if err == nil {
		if e := authz.Can(subject(r), authz.RecordingsListen, res); e != nil {
			err = hidden(e)
		}
	}
	var vs []directory.Voicemail
	f := directory.VoicemailFilter{GroupID: gid, Vis: directory.Visibility{All: true}, Page: pageParam(r)}
	if err == nil {
		vs, err = s.store.Voicemails(r.Context(), f)
	}
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

// groupBox is a group's mailbox on the Voicemail page.
type groupBox struct {
	Group    directory.Group
	Messages []directory.Voicemail
}

// pageGroups returns the enabled mailboxes of the groups whose messages
// the viewer may hear, with their newest messages, and the groups whose
// greeting the viewer may change.
func (s *Server) pageGroups(r *http.Request) (boxes []groupBox, manage []directory.Group, err error) {
	groups, err := s.store.Groups(r.Context())
	if err != nil {
		return nil, nil, err
	}
	subj := subject(r)
	for _, g := range groups {
		path := directory.GroupPath(groups, g.ID)
		if authz.Can(subj, authz.IVRControl, authz.ScheduleResource(path)) == nil {
			manage = append(manage, g)
		}
		if authz.Can(subj, authz.RecordingsListen, authz.GroupMailboxResource(path)) != nil {
			continue
		}
		m, err := s.store.Mailbox(r.Context(), 0, g.ID)
		if err != nil {
			return nil, nil, err
		}
		if !m.Enabled {
			continue
		}
		vs, err := s.store.Voicemails(r.Context(), directory.VoicemailFilter{GroupID: g.ID,
			Vis: directory.Visibility{All: true}, Page: directory.Page{Size: 50}})
		if err != nil {
			return nil, nil, err
		}
		boxes = append(boxes, groupBox{Group: g, Messages: vs})
	}
	return boxes, manage, nil
}

// voicemailGreeting takes the greeting form of the Voicemail page: a WAV
// for one's own mailbox, or (mailbox=ID) for a group's the viewer may
// change. A file it cannot take answers 400 with the reason and leaves
// the greeting before in place.
func (s *Server) voicemailGreeting(w http.ResponseWriter, r *http.Request) {
	o := mailboxOwner{userID: viewerOf(r).user().ID}
	err := r.ParseMultipartForm(maxGreetingUpload)
	if err != nil {
		err = &directory.InvalidError{Field: "wav", Rule: "must be a file of at most 16 MiB sent from the form"}
	}
	if err == nil {
		if v := r.FormValue("mailbox"); v != "" && v != "own" {
			gid, perr := strconv.ParseInt(v, 10, 64)
			if perr != nil || gid <= 0 {
				err = errNotFound
			} else if gid, err = s.loadGroupMailbox(r, gid); err == nil {
				o = mailboxOwner{groupID: gid}
			}
		}
	}
	var upload []byte
	if err == nil {
		upload, err = formFile(r, "wav")
	}
	if err == nil {
		_, err = s.storeGreeting(r, o, upload)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	done(w, r, "/voicemail", "saved")
}

// formFile reads the file of a multipart form's field (ParseMultipartForm
// bounded its size).
func formFile(r *http.Request, field string) ([]byte, error) {
	f, _, err := r.FormFile(field)
	if err != nil {
		return nil, &directory.InvalidError{Field: field, Rule: "choose a file to upload"}
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read the uploaded %s: %w", field, err)
	}
	return b, nil
}
