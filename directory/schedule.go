package directory

import (
	"context"
	"strings"
	"time"
	"unicode/utf8"
)

// Schedule is a named set of office hours, as 3CX calls them:
// weekly intervals on the wall clock of a time zone, and holidays that are
// closed all day. A schedule may belong to a department (a group): that
// department's office hours, in the department's own zone; a company-wide
// one belongs to none. Inbound numbers use a schedule by name (DIDHours):
// in hours a number rings its usual target, outside hours another one,
// like FusionPBX's time conditions.
type Schedule struct {
	ID       int64
	Name     string
	GroupID  int64  // the department whose office hours these are; 0: none
	TimeZone string // IANA name, such as Europe/Warsaw
	Hours    string // the weekly intervals (ParseHours), stored as Week.String writes them
	Holidays string // dates closed all day (ParseHolidays), stored as Holidays.String writes them
	// Closed is closed all the time whatever Hours says: a shop shut for
	// a while, without losing its hours.
	Closed    bool
	CreatedAt time.Time
}

// Validate normalizes and checks s: the name, the zone (which must load),
// the hours and the holidays, which it rewrites in their canonical form.
func (s *Schedule) Validate() error {
	var errs fieldErrors
	s.Name = strings.TrimSpace(s.Name)
	switch {
	case s.Name == "":
		errs.add(invalid("name", "is required"))
	case utf8.RuneCountInString(s.Name) > 100:
		errs.add(invalid("name", "must be at most 100 characters"))
	}
	s.TimeZone = strings.TrimSpace(s.TimeZone)
	if s.TimeZone == "" {
		s.TimeZone = "UTC"
	}
	if err := ValidateTimeZone("time_zone", s.TimeZone); err != nil {
		errs.add(err)
	}
	if w, err := ParseHours(s.Hours); err != nil {
		errs.add(err)
	} else {
		s.Hours = w.String()
	}
	if h, err := ParseHolidays(s.Holidays); err != nil {
		errs.add(err)
	} else {
		s.Holidays = h.String()
	}
	if s.GroupID < 0 {
		errs.add(invalid("group_id", "must be a group ID"))
	}
	return errs.err()
}

// Compile parses s into the OfficeHours that answer Open.
func (s *Schedule) Compile() (*OfficeHours, error) {
	if err := ValidateTimeZone("time_zone", s.TimeZone); err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation(s.TimeZone)
	if err != nil {
		return nil, invalid("time_zone", "must be a time zone name such as Europe/Warsaw or Asia/Ho_Chi_Minh")
	}
	w, err := ParseHours(s.Hours)
	if err != nil {
		return nil, err
	}
	h, err := ParseHolidays(s.Holidays)
	if err != nil {
		return nil, err
	}
	if s.Closed {
		w = Week{}
	}
	return &OfficeHours{loc: loc, week: w, holidays: h}, nil
}

// DIDHours makes an inbound number depend on a schedule: while it is open
// the number rings what the dids setting maps it to, otherwise Outside
// (the extension of a user or group).
type DIDHours struct {
	Number     string // as in the dids setting
	ScheduleID int64
	Outside    string
	// Schedule is the schedule itself, filled in by the stores' reads.
	Schedule Schedule
}

// Validate checks the number and the outside target.
func (d *DIDHours) Validate() error {
	var errs fieldErrors
	d.Number = strings.TrimSpace(d.Number)
	if !isDIDNumber(d.Number) {
		errs.add(invalid("number", "must be a phone number: digits, optionally after a +"))
	}
	if d.ScheduleID <= 0 {
		errs.add(invalid("schedule_id", "is required"))
	}
	d.Outside = strings.TrimSpace(d.Outside)
	if ValidateExtension("outside", d.Outside) != nil {
		errs.add(invalid("outside", "must be the extension of a user or group"))
	}
	return errs.err()
}

// Errors of schedules.
var (
	ErrScheduleInUse   = Conflict("schedule", "is used by inbound numbers")
	ErrScheduleName    = Conflict("name", "already in use")
	ErrGroupHasHours   = Conflict("group_id", "the department already has office hours")
	ErrUnknownSchedule = &InvalidError{Field: "schedule_id", Rule: "unknown schedule"}
	ErrUnknownDept     = &InvalidError{Field: "group_id", Rule: "unknown group"}
)

// ScheduleStore keeps office hours and the inbound numbers that follow
// them.
type ScheduleStore interface {
	// CreateSchedule stores s after Schedule.Validate and sets s.ID and
	// s.CreatedAt. Names are unique (ErrScheduleName), a department has
	// at most one schedule (ErrGroupHasHours), and a group that does not
	// exist is ErrUnknownDept.
	CreateSchedule(ctx context.Context, s *Schedule) error
	Schedule(ctx context.Context, id int64) (*Schedule, error)
	// Schedules lists every schedule by name, then ID.
	Schedules(ctx context.Context) ([]Schedule, error)
	// UpdateSchedule writes every field of s.ID but its creation time,
	// with CreateSchedule's rules.
	UpdateSchedule(ctx context.Context, s *Schedule) error
	// DeleteSchedule deletes a schedule no inbound number uses
	// (ErrScheduleInUse otherwise). Deleting a group leaves its schedule
	// without a department.
	DeleteSchedule(ctx context.Context, id int64) error
	// SetDIDHours makes d.Number follow d.ScheduleID, replacing what it
	// followed; an unknown schedule is ErrUnknownSchedule.
	SetDIDHours(ctx context.Context, d *DIDHours) error
	// DIDHours returns the hours of one number with its schedule;
	// ErrNotFound when the number rings its target at all hours.
	DIDHours(ctx context.Context, number string) (*DIDHours, error)
	// DIDHoursList lists every number that has hours, by number.
	DIDHoursList(ctx context.Context) ([]DIDHours, error)
	DeleteDIDHours(ctx context.Context, number string) error
}
