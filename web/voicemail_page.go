package web

import (
	"net/http"

	"github.com/switchboard-pbx/switchboard/directory"
)

// The Voicemail page: one's own messages, newest first, each with a
// player (the WAV served as by the API), mark heard and delete; the
// messages of the groups' mailboxes the viewer may hear; and the form
// that uploads a greeting for one's own mailbox or a group's.

type voicemailPage struct {
	Messages []directory.Voicemail
	Groups   []groupBox        // voicemail_group.go
	Manage   []directory.Group // groups whose greeting the viewer may change
	Greeting bool              // one's own mailbox has a greeting
}

func (s *Server) voicemailPage(w http.ResponseWriter, r *http.Request) {
	f := directory.VoicemailFilter{UserID: viewerOf(r).user().ID, Vis: directory.Visibility{All: true}, Page: pageParam(r)}
	vs, err := s.store.Voicemails(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	boxes, manage, err := s.pageGroups(r)
	var own *directory.Mailbox
	if err == nil {
		own, err = s.store.Mailbox(r.Context(), viewerOf(r).user().ID, 0)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.page(r, "voicemail.title")
	p.Data = voicemailPage{Messages: vs, Groups: boxes, Manage: manage, Greeting: own.Greeting != ""}
	s.render(w, r, http.StatusOK, "voicemail.html", p)
}

func (s *Server) voicemailHeard(w http.ResponseWriter, r *http.Request) {
	v, err := s.loadVoicemail(r)
	if err == nil {
		err = s.store.SetVoicemailHeard(r.Context(), v.ID, true)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.mailboxChanged(v)
	http.Redirect(w, r, "/voicemail", http.StatusSeeOther)
}

func (s *Server) voicemailDelete(w http.ResponseWriter, r *http.Request) {
	if err := s.deleteVoicemail(r); err != nil {
		s.fail(w, r, err)
		return
	}
	done(w, r, "/voicemail", "deleted")
}
