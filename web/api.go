package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
)

// The JSON API asks the same authz questions and makes the same store calls
// as the pages; only the rendering differs.

type listJSON[T any] struct {
	Data    []T `json:"data"`
	Page    int `json:"page"`
	PerPage int `json:"per_page"`
	Total   int `json:"total,omitempty"`
}

func list[T any](data []T, p directory.Page, total int) listJSON[T] {
	if data == nil {
		data = []T{}
	}
	return listJSON[T]{Data: data, Page: p.Number, PerPage: p.Size, Total: total}
}

type userJSON struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	Email     string `json:"email"`
	Extension string `json:"extension"`
	Mobile    string `json:"mobile,omitempty"`
	CallerID  string `json:"caller_id,omitempty"`
	// HideNumber: calls out by a trunk present no number (Privacy: id).
	HideNumber bool      `json:"hide_number"`
	Language   string    `json:"language,omitempty"`
	TimeZone   string    `json:"time_zone,omitempty"` // empty: the company's
	State      string    `json:"state"`
	RoleIDs    []int64   `json:"role_ids"`
	GroupIDs   []int64   `json:"group_ids"`
	CreatedAt  time.Time `json:"created_at"`
	// Call forwarding and Do Not Disturb; "" targets: no forward.
	DND                bool   `json:"dnd"`
	ForwardAlways      string `json:"forward_always"`
	ForwardBusy        string `json:"forward_busy"`
	ForwardNoAnswer    string `json:"forward_no_answer"`
	ForwardOffline     string `json:"forward_offline"`
	ForwardRingSeconds int    `json:"forward_ring_seconds"` // 0: the PBX ring time
}

func toUserJSON(u *directory.User) userJSON {
	return userJSON{ID: u.ID, Name: u.Name, Email: u.Email, Extension: u.Extension, Mobile: u.Mobile,
		CallerID: u.CallerID, HideNumber: u.HideNumber, Language: u.Language, TimeZone: u.TimeZone, State: string(u.State), RoleIDs: nonNil(u.RoleIDs),
		GroupIDs: nonNil(u.GroupIDs), CreatedAt: u.CreatedAt, DND: u.Forward.DND, ForwardAlways: u.Forward.Always,
		ForwardBusy: u.Forward.Busy, ForwardNoAnswer: u.Forward.NoAnswer, ForwardOffline: u.Forward.Offline,
		ForwardRingSeconds: u.Forward.RingSeconds}
}

func nonNil[T any](xs []T) []T {
	if xs == nil {
		return []T{}
	}
	return xs
}

func (s *Server) apiMe(w http.ResponseWriter, r *http.Request) {
	v := viewerOf(r)
	type permJSON struct {
		Permission authz.Permission `json:"permission"`
		Scope      authz.Scope      `json:"scope"`
		Why        string           `json:"why"`
	}
	var perms []permJSON
	for _, d := range v.subj.Decisions() {
		perms = append(perms, permJSON{d.Permission, d.Scope, d.String()})
	}
	writeJSON(w, http.StatusOK, map[string]any{"user": toUserJSON(v.user()), "permissions": perms,
		"time_zone": s.location(r).String()})
}

func (s *Server) apiUsers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := directory.UserFilter{Search: q.Get("search"), Vis: authz.Visibility(subject(r), authz.UsersView), Page: pageParam(r)}
	f.GroupID, _ = strconv.ParseInt(q.Get("group_id"), 10, 64)
	if st := q.Get("state"); st != "" {
		f.States = []directory.UserState{directory.UserState(st)}
	}
	us, err := s.store.Users(r.Context(), f)
	var total int
	if err == nil {
		total, err = s.store.CountUsers(r.Context(), f)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]userJSON, len(us))
	for i := range us {
		out[i] = toUserJSON(&us[i])
	}
	writeJSON(w, http.StatusOK, list(out, f.Page, total))
}

func (s *Server) apiUser(w http.ResponseWriter, r *http.Request) {
	a, err := s.loadUser(r, authz.UsersView)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toUserJSON(&a.User))
}

type groupJSON struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	ParentID  int64  `json:"parent_id,omitempty"`
	Extension string `json:"extension,omitempty"`
	Prefix    string `json:"prefix,omitempty"`
	Default   bool   `json:"default"`
}

func toGroupJSON(g *directory.Group) groupJSON {
	return groupJSON{ID: g.ID, Name: g.Name, ParentID: g.ParentID, Extension: g.Extension, Prefix: g.Prefix, Default: g.Default}
}

func (s *Server) apiGroups(w http.ResponseWriter, r *http.Request) {
	gs, err := s.store.Groups(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]groupJSON, len(gs))
	for i := range gs {
		out[i] = toGroupJSON(&gs[i])
	}
	writeJSON(w, http.StatusOK, list(out, directory.Page{Number: 1, Size: len(out)}, len(out)))
}

func (s *Server) apiGroup(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r)
	var g *directory.Group
	if err == nil {
		g, err = s.store.Group(r.Context(), id)
	}
	var members []int64
	if err == nil {
		members, err = s.store.GroupMembers(r.Context(), id)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		groupJSON
		MemberIDs []int64 `json:"member_ids"`
	}{toGroupJSON(g), nonNil(members)})
}

type roleJSON struct {
	ID      int64             `json:"id"`
	Name    string            `json:"name"`
	Builtin string            `json:"builtin,omitempty"`
	Perms   map[string]string `json:"permissions"`
}

func (s *Server) apiRoles(w http.ResponseWriter, r *http.Request) {
	rs, err := s.store.Roles(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]roleJSON, len(rs))
	for i, ro := range rs {
		out[i] = roleJSON{ro.ID, ro.Name, ro.Builtin, ro.Perms}
	}
	writeJSON(w, http.StatusOK, list(out, directory.Page{Number: 1, Size: len(out)}, len(out)))
}

func (s *Server) apiRole(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r)
	var ro *directory.Role
	if err == nil {
		ro, err = s.store.Role(r.Context(), id)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, roleJSON{ro.ID, ro.Name, ro.Builtin, ro.Perms})
}

type contactJSON struct {
	ID         int64     `json:"id"`
	Name       string    `json:"name"`
	Company    string    `json:"company,omitempty"`
	Phones     []string  `json:"phones"`
	Email      string    `json:"email,omitempty"`
	AssignedTo int64     `json:"assigned_to,omitempty"`
	CreatedBy  int64     `json:"created_by,omitempty"`
	Public     bool      `json:"public"`
	Notes      string    `json:"notes,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
}

func toContactJSON(c *directory.Contact) contactJSON {
	phones := c.Phones
	if phones == nil {
		phones = []string{}
	}
	return contactJSON{c.ID, c.Name, c.Company, phones, c.Email, c.AssignedTo, c.CreatedBy, c.Public, c.Notes, c.CreatedAt}
}

func (s *Server) apiContacts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := directory.ContactFilter{Search: q.Get("search"), Phone: q.Get("phone"),
		Vis: authz.Visibility(subject(r), authz.ContactsView), Page: pageParam(r)}
	cs, err := s.store.Contacts(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]contactJSON, len(cs))
	for i := range cs {
		out[i] = toContactJSON(&cs[i])
	}
	writeJSON(w, http.StatusOK, list(out, f.Page, 0))
}

func (s *Server) apiContact(w http.ResponseWriter, r *http.Request) {
	c, err := s.loadContact(r, authz.ContactsView)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toContactJSON(c))
}

type callJSON struct {
	ID          int64      `json:"id"`
	SIPCallID   string     `json:"sip_call_id,omitempty"`
	CallerID    int64      `json:"caller_user_id,omitempty"`
	CalleeID    int64      `json:"callee_user_id,omitempty"`
	GroupID     int64      `json:"group_id,omitempty"`
	From        string     `json:"from"`
	To          string     `json:"to"`
	Dialed      string     `json:"dialed"`
	Direction   string     `json:"direction"`
	StartedAt   time.Time  `json:"started_at"`
	AnsweredAt  *time.Time `json:"answered_at,omitempty"`
	EndedAt     *time.Time `json:"ended_at,omitempty"`
	Duration    int64      `json:"duration_seconds"`
	Disposition string     `json:"disposition"`
	Reason      string     `json:"reason,omitempty"`
	HangupBy    string     `json:"hangup_by,omitempty"`
	Node        string     `json:"node,omitempty"`
	// The call queue the call waited in, how long, and
	// whether the caller hung up waiting; the agent who answered is the
	// callee.
	Queue          string `json:"queue,omitempty"`
	QueueWait      int64  `json:"queue_wait_seconds,omitempty"`
	QueueAbandoned bool   `json:"queue_abandoned,omitempty"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func toCallJSON(c *directory.Call) callJSON {
	return callJSON{ID: c.ID, SIPCallID: c.SIPCallID, CallerID: c.CallerID, CalleeID: c.CalleeID, GroupID: c.GroupID,
		From: c.From, To: c.To, Dialed: c.Dialed, Direction: string(c.Direction), StartedAt: c.StartedAt,
		AnsweredAt: optTime(c.AnsweredAt), EndedAt: optTime(c.EndedAt), Duration: int64(c.Duration() / time.Second),
		Disposition: string(c.Disposition), Reason: c.Reason, HangupBy: c.HangupBy, Node: c.Node,
		Queue: c.Queue, QueueWait: int64(c.QueueWait / time.Second), QueueAbandoned: queueAbandoned(c)}
}

// queueAbandoned reports whether the caller hung up while waiting in a
// call queue.
func queueAbandoned(c *directory.Call) bool {
	return c.Queue != "" && c.Disposition == directory.Cancelled
}

func (s *Server) apiCalls(w http.ResponseWriter, r *http.Request) {
	f, err := callFilter(r.URL.Query(), subject(r), s.location(r))
	var cs []directory.Call
	if err == nil {
		f.Page = pageParam(r)
		cs, err = s.store.Calls(r.Context(), f)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]callJSON, len(cs))
	for i := range cs {
		out[i] = toCallJSON(&cs[i])
	}
	writeJSON(w, http.StatusOK, list(out, f.Page, 0))
}

func (s *Server) apiCall(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r)
	var c *directory.Call
	if err == nil {
		c, err = s.store.Call(r.Context(), id)
	}
	if err == nil {
		err = hidden(authz.Can(subject(r), authz.CallsHistory, authz.CallResource(c)))
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toCallJSON(c))
}

type recordingJSON struct {
	ID          int64     `json:"id"`
	CallID      int64     `json:"call_id"`
	Size        int64     `json:"size"`
	Duration    float64   `json:"duration_seconds"`
	SHA256      string    `json:"sha256,omitempty"`
	State       string    `json:"state"`
	Error       string    `json:"error,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	AudioURL    string    `json:"audio_url,omitempty"`    // only when the viewer may listen
	DownloadURL string    `json:"download_url,omitempty"` // only when the viewer may download
	recordingCallJSON
}

func toRecordingJSON(subj *authz.Subject, rec *directory.Recording) recordingJSON {
	out := recordingJSON{ID: rec.ID, CallID: rec.CallID, Size: rec.Size, Duration: rec.Duration.Seconds(),
		SHA256: rec.SHA256, State: string(rec.State), Error: rec.Error, CreatedAt: rec.CreatedAt}
	res := authz.RecordingResource(rec)
	if authz.Can(subj, authz.RecordingsListen, res) == nil {
		out.AudioURL = "/api/v1/recordings/" + itoa(rec.ID) + "/audio"
	}
	if authz.Can(subj, authz.RecordingsDownload, res) == nil {
		out.DownloadURL = "/api/v1/recordings/" + itoa(rec.ID) + "/download"
	}
	return out
}

func (s *Server) apiRecordings(w http.ResponseWriter, r *http.Request) {
	f, err := recordingFilter(r.URL.Query(), subject(r), s.location(r))
	var recs []directory.Recording
	if err == nil {
		f.Page = pageParam(r)
		recs, err = s.store.Recordings(r.Context(), f)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]recordingJSON, len(recs))
	names := s.names()
	for i := range recs {
		out[i] = toRecordingJSON(subject(r), &recs[i])
		out[i].addCall(r.Context(), s, names)
	}
	writeJSON(w, http.StatusOK, list(out, f.Page, 0))
}

func (s *Server) apiRecording(w http.ResponseWriter, r *http.Request) {
	rec, err := s.loadRecording(r, authz.RecordingsListen)
	if errors.Is(err, authz.ErrDenied) { // may download without listening
		rec, err = s.loadRecording(r, authz.RecordingsDownload)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toRecordingJSON(subject(r), rec))
}

type registrationJSON struct {
	Extension string    `json:"extension"`
	UserID    int64     `json:"user_id"`
	Contact   string    `json:"contact"`
	Source    string    `json:"source"`
	Transport string    `json:"transport"`
	UserAgent string    `json:"user_agent"`
	Expires   time.Time `json:"expires"`
	Node      string    `json:"node,omitempty"`
}

func (s *Server) apiRegistrations(w http.ResponseWriter, r *http.Request) {
	regs, err := s.registrations(r.Context(), subject(r))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]registrationJSON, len(regs))
	for i, g := range regs {
		out[i] = registrationJSON{g.Extension, g.User.ID, g.Contact, g.Source, g.Transport, g.UserAgent, g.Expires, g.Node}
	}
	writeJSON(w, http.StatusOK, list(out, directory.Page{Number: 1, Size: len(out)}, len(out)))
}
