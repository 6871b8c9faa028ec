package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/switchboard-pbx/switchboard/directory"
)

type auditPage struct {
	Entries []directory.AuditEntry
	Action  string
	Pager   pager
}

// auditList shows who changed what and who listened to or downloaded which
// recording; ?action= filters by prefix ("recording.").
func (s *Server) auditList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := directory.AuditFilter{Action: strings.TrimSpace(q.Get("action")), Page: pageParam(r)}
	f.ActorID, _ = strconv.ParseInt(q.Get("actor"), 10, 64)
	es, err := s.store.AuditLog(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.page(r, "audit.title")
	p.Data = auditPage{Entries: es, Action: f.Action, Pager: newPager(r, f.Page, len(es), -1)}
	s.render(w, r, http.StatusOK, "audit.html", p)
}
