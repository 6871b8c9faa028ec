package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
)

// scheduleJSON is a schedule in the API. hours and holidays are the text
// the page's form takes ("mon-fri 08:00-17:00; sat 09:00-13:00",
// "2026-12-24, 12-25"); open_now says whether it is open as the server
// answers.
type scheduleJSON struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	GroupID   int64     `json:"group_id,omitempty"`
	TimeZone  string    `json:"time_zone"`
	Hours     string    `json:"hours"`
	Holidays  string    `json:"holidays"`
	Closed    bool      `json:"closed"`
	OpenNow   bool      `json:"open_now"`
	CreatedAt time.Time `json:"created_at"`
}

func toScheduleJSON(s *directory.Schedule) scheduleJSON {
	open := false
	if oh, err := s.Compile(); err == nil {
		open = oh.Open(time.Now())
	}
	return scheduleJSON{ID: s.ID, Name: s.Name, GroupID: s.GroupID, TimeZone: s.TimeZone, Hours: s.Hours,
		Holidays: s.Holidays, Closed: s.Closed, OpenNow: open, CreatedAt: s.CreatedAt}
}

// scheduleBodyJSON is what POST and PUT take; PUT replaces every field.
type scheduleBodyJSON struct {
	Name     string `json:"name"`
	GroupID  int64  `json:"group_id"`
	TimeZone string `json:"time_zone"`
	Hours    string `json:"hours"`
	Holidays string `json:"holidays"`
	Closed   bool   `json:"closed"`
}

func (in scheduleBodyJSON) apply(s *directory.Schedule) {
	s.Name, s.GroupID, s.TimeZone, s.Hours, s.Holidays, s.Closed = in.Name, in.GroupID, in.TimeZone, in.Hours,
		in.Holidays, in.Closed
}

func (s *Server) apiSchedules(w http.ResponseWriter, r *http.Request) {
	all, err := s.store.Schedules(r.Context())
	var groups []directory.Group
	if err == nil {
		groups, err = s.store.Groups(r.Context())
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var list0 []directory.Schedule // those the viewer's scope covers, as the page lists them
	for _, sch := range all {
		if authz.Can(subject(r), authz.IVRControl, authz.ScheduleResource(groupPath(groups, sch.GroupID))) == nil {
			list0 = append(list0, sch)
		}
	}
	out := make([]scheduleJSON, len(list0))
	for i := range list0 {
		out[i] = toScheduleJSON(&list0[i])
	}
	writeJSON(w, http.StatusOK, list(out, directory.Page{Number: 1, Size: len(out)}, len(out)))
}

func (s *Server) apiSchedule(w http.ResponseWriter, r *http.Request) {
	sch, err := s.scheduleParam(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toScheduleJSON(sch))
}

func (s *Server) apiScheduleCreate(w http.ResponseWriter, r *http.Request) {
	var in scheduleBodyJSON
	var sch directory.Schedule
	err := readJSON(w, r, &in)
	if err == nil {
		in.apply(&sch)
		err = s.saveSchedule(r, &sch, true)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	created(w, "/api/v1/schedules/"+strconv.FormatInt(sch.ID, 10), toScheduleJSON(&sch))
}

func (s *Server) apiScheduleUpdate(w http.ResponseWriter, r *http.Request) {
	sch, err := s.scheduleParam(r) // 404 before a 400 for the body
	var in scheduleBodyJSON
	if err == nil {
		err = readJSON(w, r, &in)
	}
	if err == nil {
		in.apply(sch)
		err = s.saveSchedule(r, sch, false)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toScheduleJSON(sch))
}

// didHoursJSON is an inbound number that follows a schedule.
type didHoursJSON struct {
	Number     string `json:"number"`
	ScheduleID int64  `json:"schedule_id"`
	Schedule   string `json:"schedule"`
	Outside    string `json:"outside"`
}

func (s *Server) apiDIDHoursList(w http.ResponseWriter, r *http.Request) {
	err := forbidden(s.canHours(r, 0))
	var hs []directory.DIDHours
	if err == nil {
		hs, err = s.store.DIDHoursList(r.Context())
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]didHoursJSON, len(hs))
	for i, h := range hs {
		out[i] = didHoursJSON{Number: h.Number, ScheduleID: h.ScheduleID, Schedule: h.Schedule.Name, Outside: h.Outside}
	}
	writeJSON(w, http.StatusOK, list(out, directory.Page{Number: 1, Size: len(out)}, len(out)))
}

// apiDIDHoursPut makes the number in the path follow a schedule:
// {"schedule_id": 3, "outside": "10020"}.
func (s *Server) apiDIDHoursPut(w http.ResponseWriter, r *http.Request) {
	var in struct {
		ScheduleID int64  `json:"schedule_id"`
		Outside    string `json:"outside"`
	}
	err := readJSON(w, r, &in)
	d := directory.DIDHours{Number: pathParam(r, "number"), ScheduleID: in.ScheduleID, Outside: in.Outside}
	if err == nil {
		err = s.putDIDHours(r, &d)
	}
	var h *directory.DIDHours
	if err == nil {
		h, err = s.store.DIDHours(r.Context(), d.Number)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, didHoursJSON{Number: h.Number, ScheduleID: h.ScheduleID, Schedule: h.Schedule.Name,
		Outside: h.Outside})
}
