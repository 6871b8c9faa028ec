package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
)

// Office hours: schedules, each optionally a department's, and
// the inbound numbers that ring elsewhere outside them. Viewing and editing
// them is ivr.control, like the IVR menus the issue names with them: at
// department scope the hours of one's groups and their subgroups, at any
// also company-wide hours and the inbound numbers' routing (the handlers
// ask authz about the schedule, or about company-wide hours).
func (s *Server) registerHours(web, api *router) {
	web.get("/hours", need(authz.IVRControl), s.hoursShow) // lists what the scope covers
	web.post("/hours", need(authz.IVRControl), s.hoursCreate)
	web.get("/hours/{id}", perResource(authz.IVRControl), s.hoursEdit)
	web.post("/hours/{id}", perResource(authz.IVRControl), s.hoursUpdate)
	web.post("/hours/{id}/delete", perResource(authz.IVRControl), s.hoursDelete)
	web.post("/hours/numbers", need(authz.IVRControl), s.didHoursSave) // company-wide: any
	web.post("/hours/numbers/delete", need(authz.IVRControl), s.didHoursDelete)

	api.get("/schedules", need(authz.IVRControl), s.apiSchedules)
	api.post("/schedules", need(authz.IVRControl), s.apiScheduleCreate)
	api.get("/schedules/{id}", perResource(authz.IVRControl), s.apiSchedule)
	api.put("/schedules/{id}", perResource(authz.IVRControl), s.apiScheduleUpdate)
	api.delete("/schedules/{id}", perResource(authz.IVRControl), s.apiDelete(s.deleteSchedule))
	api.get("/did-hours", need(authz.IVRControl), s.apiDIDHoursList)
	api.put("/did-hours/{number}", need(authz.IVRControl), s.apiDIDHoursPut)
	api.delete("/did-hours/{number}", need(authz.IVRControl), s.apiDelete(s.deleteDIDHours))
}

// groupPath is the group id and its parents up to the top, as
// authz.ScheduleResource takes them; none for 0.
func groupPath(groups []directory.Group, id int64) []int64 {
	parent := make(map[int64]int64, len(groups))
	for _, g := range groups {
		parent[g.ID] = g.ParentID
	}
	var out []int64
	for id != 0 && len(out) <= len(groups) { // the bound stops a cycle the stores refuse anyway
		out = append(out, id)
		id = parent[id]
	}
	return out
}

// canHours asks authz whether the viewer may work on office hours of the
// department groupID (0: company-wide).
func (s *Server) canHours(r *http.Request, groupID int64) error {
	groups, err := s.store.Groups(r.Context())
	if err != nil {
		return err
	}
	return authz.Can(subject(r), authz.IVRControl, authz.ScheduleResource(groupPath(groups, groupID)))
}

type hoursPage struct {
	Schedules []directory.Schedule
	Groups    []directory.Group
	DIDHours  []directory.DIDHours
	DIDs      []string // inbound numbers of the dids setting, for the form
	Company   bool     // the viewer may change company-wide hours and numbers (ivr.control any)
	Edit      bool
	Form      directory.Schedule
	Hours     directory.DIDHours // the numbers form typed back
	Errors    map[string]string
	NumErrors map[string]string
}

// OpenNow says whether a schedule is open as the page is drawn, so that
// whoever sets it up sees the zone does what they meant.
func (hoursPage) OpenNow(sch directory.Schedule) bool {
	oh, err := sch.Compile()
	return err == nil && oh.Open(time.Now())
}

// GroupLabel names the department of a schedule.
func (hp hoursPage) GroupLabel(id int64) string {
	for _, g := range hp.Groups {
		if g.ID == id {
			return g.Name
		}
	}
	return ""
}

func (s *Server) hoursShow(w http.ResponseWriter, r *http.Request) {
	s.renderHours(w, r, http.StatusOK, hoursPage{Form: directory.Schedule{TimeZone: s.newScheduleZone(r)}})
}

// newScheduleZone is the zone a new schedule starts in: the company's
// (web.timezone).
func (s *Server) newScheduleZone(r *http.Request) string {
	if tz, err := s.companyZone(r); err == nil && tz != "" {
		return tz
	}
	return directory.SettingDefaults[directory.SettingTimeZone]
}

func (s *Server) renderHours(w http.ResponseWriter, r *http.Request, status int, hp hoursPage) {
	ctx := r.Context()
	subj := subject(r)
	var err error
	var all []directory.Schedule
	if all, err = s.store.Schedules(ctx); err == nil {
		hp.Groups, err = s.store.Groups(ctx)
	}
	hp.Company = err == nil && authz.Can(subj, authz.IVRControl, authz.ScheduleResource(nil)) == nil
	if err == nil && hp.Company {
		hp.DIDHours, err = s.store.DIDHoursList(ctx)
	}
	var dids map[string]string
	if err == nil && hp.Company {
		dids, err = s.dids(r)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	// A company has a few dozen schedules at most: filtered here, by the
	// same question each schedule's page asks.
	for _, sch := range all {
		if authz.Can(subj, authz.IVRControl, authz.ScheduleResource(groupPath(hp.Groups, sch.GroupID))) == nil {
			hp.Schedules = append(hp.Schedules, sch)
		}
	}
	if !hp.Company { // the department choices: those the viewer may use
		hp.Groups = slices.DeleteFunc(hp.Groups, func(g directory.Group) bool {
			return authz.Can(subj, authz.IVRControl, authz.ScheduleResource(groupPath(hp.Groups, g.ID))) != nil
		})
	}
	for n := range dids {
		hp.DIDs = append(hp.DIDs, n)
	}
	slices.Sort(hp.DIDs)
	p := s.page(r, "hours.title")
	p.Data = hp
	s.render(w, r, status, "hours.html", p)
}

// scheduleForm reads the schedule fields of the form into sch.
func scheduleForm(r *http.Request, sch *directory.Schedule) {
	sch.Name = r.PostFormValue("name")
	sch.TimeZone = r.PostFormValue("time_zone")
	sch.Hours = r.PostFormValue("hours")
	sch.Holidays = r.PostFormValue("holidays")
	sch.Closed = r.PostFormValue("closed") != ""
	sch.GroupID, _ = strconv.ParseInt(r.PostFormValue("group_id"), 10, 64)
}

func (s *Server) hoursCreate(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.fail(w, r, err)
		return
	}
	var sch directory.Schedule
	scheduleForm(r, &sch)
	err := s.saveSchedule(r, &sch, true)
	if fe := formErrors(err); fe != nil {
		s.renderHours(w, r, http.StatusBadRequest, hoursPage{Form: sch, Errors: fe})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	done(w, r, "/hours", "created")
}

func (s *Server) hoursEdit(w http.ResponseWriter, r *http.Request) {
	sch, err := s.scheduleParam(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderHours(w, r, http.StatusOK, hoursPage{Edit: true, Form: *sch})
}

func (s *Server) hoursUpdate(w http.ResponseWriter, r *http.Request) {
	sch, err := s.scheduleParam(r)
	if err == nil {
		err = parseForm(w, r)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	scheduleForm(r, sch)
	err = s.saveSchedule(r, sch, false)
	if fe := formErrors(err); fe != nil {
		s.renderHours(w, r, http.StatusBadRequest, hoursPage{Edit: true, Form: *sch, Errors: fe})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	done(w, r, "/hours", "saved")
}

func (s *Server) hoursDelete(w http.ResponseWriter, r *http.Request) {
	if err := s.deleteSchedule(r); err != nil {
		s.fail(w, r, err)
		return
	}
	done(w, r, "/hours", "deleted")
}

// scheduleParam loads the schedule of the path, if the viewer's scope
// covers it (else it does not exist for them).
func (s *Server) scheduleParam(r *http.Request) (*directory.Schedule, error) {
	id, err := idParam(r)
	if err != nil {
		return nil, err
	}
	sch, err := s.store.Schedule(r.Context(), id)
	if err == nil {
		err = s.canHours(r, sch.GroupID)
	}
	if err != nil {
		return nil, err
	}
	return sch, nil
}

// saveSchedule creates or updates sch and writes the audit entry; the
// department it is (now) in must be within the viewer's scope.
func (s *Server) saveSchedule(r *http.Request, sch *directory.Schedule, create bool) error {
	if err := s.canHours(r, sch.GroupID); err != nil {
		return forbidden(err)
	}
	var err error
	action := "hours.schedule"
	if create {
		err = s.store.CreateSchedule(r.Context(), sch)
		action = "hours.schedule.create"
	} else {
		err = s.store.UpdateSchedule(r.Context(), sch)
	}
	if err != nil {
		return err
	}
	s.audit(r, viewerOf(r), action, "schedule:"+strconv.FormatInt(sch.ID, 10),
		sch.Name+" "+sch.TimeZone+" "+sch.Hours)
	return nil
}

func (s *Server) deleteSchedule(r *http.Request) error {
	sch, err := s.scheduleParam(r)
	if err != nil {
		return err
	}
	if err := s.store.DeleteSchedule(r.Context(), sch.ID); err != nil {
		return err
	}
	s.audit(r, viewerOf(r), "hours.schedule.delete", "schedule:"+strconv.FormatInt(sch.ID, 10), sch.Name)
	return nil
}

// didHoursSave makes a number follow a schedule.
func (s *Server) didHoursSave(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.fail(w, r, err)
		return
	}
	d := directory.DIDHours{Number: didNumber(r.PostFormValue("number")),
		Outside: strings.TrimSpace(r.PostFormValue("outside"))}
	d.ScheduleID, _ = strconv.ParseInt(r.PostFormValue("schedule_id"), 10, 64)
	err := s.putDIDHours(r, &d)
	if fe := formErrors(err); fe != nil {
		s.renderHours(w, r, http.StatusBadRequest, hoursPage{Hours: d, NumErrors: fe,
			Form: directory.Schedule{TimeZone: s.newScheduleZone(r)}})
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	done(w, r, "/hours", "saved")
}

func (s *Server) putDIDHours(r *http.Request, d *directory.DIDHours) error {
	if err := s.canHours(r, 0); err != nil {
		return forbidden(err)
	}
	if err := s.store.SetDIDHours(r.Context(), d); err != nil {
		return err
	}
	s.audit(r, viewerOf(r), "hours.did", "did:"+d.Number,
		"schedule "+strconv.FormatInt(d.ScheduleID, 10)+", outside hours "+d.Outside)
	return nil
}

func (s *Server) didHoursDelete(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.fail(w, r, err)
		return
	}
	err := s.removeDIDHours(r, r.PostFormValue("number"))
	if isNotFound(err) {
		err = &directory.InvalidError{Field: "number", Rule: "has no office hours"}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	done(w, r, "/hours", "deleted")
}

func (s *Server) deleteDIDHours(r *http.Request) error {
	return s.removeDIDHours(r, pathParam(r, "number"))
}

func (s *Server) removeDIDHours(r *http.Request, number string) error {
	if err := s.canHours(r, 0); err != nil {
		return forbidden(err)
	}
	if err := s.store.DeleteDIDHours(r.Context(), number); err != nil {
		return err
	}
	s.audit(r, viewerOf(r), "hours.did.delete", "did:"+number, "")
	return nil
}
