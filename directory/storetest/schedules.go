package storetest

import (
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

var scheduleTests = []test{
	{"create, read, update and delete a schedule", func(e *env) {
		sales := e.group("Sales", 0)
		s := &directory.Schedule{Name: " Sales hours ", GroupID: sales.ID, TimeZone: "Europe/Warsaw",
			Hours: "MON-fri 08:00-17:00;sat 09:00-13:00", Holidays: "2026-12-24 12-25"}
		e.ok(e.s.CreateSchedule(e.ctx, s), "create schedule")
		if s.ID == 0 || s.CreatedAt.IsZero() || s.Name != "Sales hours" {
			e.t.Fatalf("CreateSchedule: %+v", s)
		}
		got, err := e.s.Schedule(e.ctx, s.ID)
		e.ok(err, "schedule")
		if got.Name != "Sales hours" || got.GroupID != sales.ID || got.TimeZone != "Europe/Warsaw" ||
			got.Hours != "mon-fri 08:00-17:00; sat 09:00-13:00" || got.Holidays != "12-25, 2026-12-24" || got.Closed {
			e.t.Errorf("schedule read back: %+v", got)
		}
		e.sameTime(got.CreatedAt, s.CreatedAt, "schedule created")
		oh, err := got.Compile()
		e.ok(err, "compile")
		// Thursday 2026-12-10 10:00 in Warsaw is 09:00 UTC.
		if !oh.Open(time.Date(2026, 12, 10, 9, 0, 0, 0, time.UTC)) {
			e.t.Errorf("stored schedule closed on a Thursday morning")
		}

		got.Name, got.GroupID, got.TimeZone, got.Hours, got.Closed = "Night", 0, "Asia/Ho_Chi_Minh", "fri 22:00-06:00", true
		e.ok(e.s.UpdateSchedule(e.ctx, got), "update schedule")
		again, _ := e.s.Schedule(e.ctx, s.ID)
		if again.Name != "Night" || again.GroupID != 0 || again.TimeZone != "Asia/Ho_Chi_Minh" ||
			again.Hours != "fri 22:00-06:00" || !again.Closed {
			e.t.Errorf("schedule after update: %+v", again)
		}
		e.ok(e.s.DeleteSchedule(e.ctx, s.ID), "delete schedule")
		_, err = e.s.Schedule(e.ctx, s.ID)
		e.is(err, directory.ErrNotFound, "deleted schedule")
		e.is(e.s.DeleteSchedule(e.ctx, s.ID), directory.ErrNotFound, "delete again")
		e.is(e.s.UpdateSchedule(e.ctx, again), directory.ErrNotFound, "update deleted")
	}},
	{"schedules are listed by name", func(e *env) {
		for _, n := range []string{"b", "B", "a"} {
			e.ok(e.s.CreateSchedule(e.ctx, &directory.Schedule{Name: n}), "create %s", n)
		}
		list, err := e.s.Schedules(e.ctx)
		e.ok(err, "schedules")
		var names []string
		for _, s := range list {
			names = append(names, s.Name)
		}
		if len(names) != 3 || names[0] != "B" || names[1] != "a" || names[2] != "b" {
			e.t.Errorf("schedules by name: %q, want [B a b]", names)
		}
	}},
	{"unique names, one schedule per department, known departments", func(e *env) {
		g := e.group("Support", 0)
		e.ok(e.s.CreateSchedule(e.ctx, &directory.Schedule{Name: "Support", GroupID: g.ID}), "create")
		e.conflict(e.s.CreateSchedule(e.ctx, &directory.Schedule{Name: "Support"}), "name", "same name")
		e.conflict(e.s.CreateSchedule(e.ctx, &directory.Schedule{Name: "Other", GroupID: g.ID}), "group_id",
			"second schedule of one department")
		e.invalid(e.s.CreateSchedule(e.ctx, &directory.Schedule{Name: "Ghost", GroupID: 999999}), "group_id",
			"unknown department")
		e.invalid(e.s.CreateSchedule(e.ctx, &directory.Schedule{Name: "Zone", TimeZone: "Mars/Olympus"}), "time_zone",
			"unknown zone")
		e.invalid(e.s.CreateSchedule(e.ctx, &directory.Schedule{Name: "Bad", Hours: "mon 8-17"}), "hours", "bad hours")
		e.invalid(e.s.CreateSchedule(e.ctx, &directory.Schedule{Name: "Bad", Holidays: "2026-02-30"}), "holidays",
			"bad holiday")
	}},
	{"a deleted department leaves its schedule without one", func(e *env) {
		g := e.group("Temp", 0)
		s := &directory.Schedule{Name: "Temp hours", GroupID: g.ID}
		e.ok(e.s.CreateSchedule(e.ctx, s), "create")
		e.ok(e.s.DeleteGroup(e.ctx, g.ID), "delete group")
		got, err := e.s.Schedule(e.ctx, s.ID)
		e.ok(err, "schedule")
		if got.GroupID != 0 {
			e.t.Errorf("schedule of a deleted group: group %d, want 0", got.GroupID)
		}
	}},
	{"inbound numbers follow schedules", func(e *env) {
		a := &directory.Schedule{Name: "Office", TimeZone: "Europe/Warsaw", Hours: "mon-fri 08:00-17:00"}
		b := &directory.Schedule{Name: "Weekend"}
		e.ok(e.s.CreateSchedule(e.ctx, a), "create a")
		e.ok(e.s.CreateSchedule(e.ctx, b), "create b")
		_, err := e.s.DIDHours(e.ctx, "+48221234567")
		e.is(err, directory.ErrNotFound, "number without hours")
		e.ok(e.s.SetDIDHours(e.ctx, &directory.DIDHours{Number: "+48221234567", ScheduleID: a.ID, Outside: "20001"}), "set")
		e.ok(e.s.SetDIDHours(e.ctx, &directory.DIDHours{Number: "2400", ScheduleID: a.ID, Outside: "20002"}), "set 2400")
		d, err := e.s.DIDHours(e.ctx, "+48221234567")
		e.ok(err, "did hours")
		if d.ScheduleID != a.ID || d.Outside != "20001" || d.Schedule.Name != "Office" ||
			d.Schedule.Hours != "mon-fri 08:00-17:00" || d.Schedule.TimeZone != "Europe/Warsaw" {
			e.t.Errorf("did hours: %+v", d)
		}
		e.ok(e.s.SetDIDHours(e.ctx, &directory.DIDHours{Number: "+48221234567", ScheduleID: b.ID, Outside: "20003"}),
			"replace")
		list, err := e.s.DIDHoursList(e.ctx)
		e.ok(err, "list")
		if len(list) != 2 || list[0].Number != "+48221234567" || list[0].ScheduleID != b.ID ||
			list[0].Outside != "20003" || list[0].Schedule.Name != "Weekend" || list[1].Number != "2400" {
			e.t.Errorf("did hours list: %+v", list)
		}
		e.invalid(e.s.SetDIDHours(e.ctx, &directory.DIDHours{Number: "+1", ScheduleID: 999999, Outside: "20001"}),
			"schedule_id", "unknown schedule")
		e.invalid(e.s.SetDIDHours(e.ctx, &directory.DIDHours{Number: "abc", ScheduleID: a.ID, Outside: "20001"}),
			"number", "bad number")
		e.invalid(e.s.SetDIDHours(e.ctx, &directory.DIDHours{Number: "+1", ScheduleID: a.ID, Outside: "12"}),
			"outside", "bad target")
		e.conflict(e.s.DeleteSchedule(e.ctx, b.ID), "schedule", "delete a schedule in use")
		e.ok(e.s.DeleteDIDHours(e.ctx, "+48221234567"), "delete did hours")
		e.is(e.s.DeleteDIDHours(e.ctx, "+48221234567"), directory.ErrNotFound, "delete did hours again")
		e.ok(e.s.DeleteSchedule(e.ctx, b.ID), "delete a schedule no longer used")
	}},
}
