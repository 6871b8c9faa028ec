package storetest

import (
	"github.com/switchboard-pbx/switchboard/directory"
)

var ivrTests = []test{
	{"create, read, update and delete a menu", func(e *env) {
		m := &directory.IVRMenu{Number: "80000", Name: " Main ", Greeting: "/tmp/g.wav",
			Options: []directory.IVROption{
				{Digit: "1", Action: directory.IVRExtension, Target: "10001"},
				{Digit: "#", Action: directory.IVRDialByExtension, Target: "ignored"},
				{Digit: "9", Action: directory.IVRMenuAction, Target: "80001"},
			},
			TimeoutAction: directory.IVRVoicemail, TimeoutTarget: "10001"}
		e.ok(e.s.CreateIVRMenu(e.ctx, m), "create menu")
		if m.ID == 0 || m.CreatedAt.IsZero() || m.Name != "Main" || m.DigitTimeout != directory.DefaultIVRDigitTimeout ||
			m.MaxTries != directory.DefaultIVRTries || m.InvalidAction != directory.IVRHangup {
			e.t.Fatalf("CreateIVRMenu: %+v", m)
		}
		got, err := e.s.IVRMenu(e.ctx, m.ID)
		e.ok(err, "menu")
		if got.Number != "80000" || got.Name != "Main" || got.Greeting != "/tmp/g.wav" || len(got.Options) != 3 ||
			got.Options[1] != (directory.IVROption{Digit: "#", Action: directory.IVRDialByExtension}) ||
			got.Options[2].Target != "80001" || got.TimeoutAction != directory.IVRVoicemail || got.TimeoutTarget != "10001" {
			e.t.Errorf("menu read back: %+v", got)
		}
		e.sameTime(got.CreatedAt, m.CreatedAt, "menu created")
		byNum, err := e.s.IVRMenuByNumber(e.ctx, "80000")
		e.ok(err, "menu by number")
		if byNum.ID != m.ID {
			e.t.Errorf("menu by number: %d, want %d", byNum.ID, m.ID)
		}

		got.Number, got.Name, got.Options, got.MaxTries = "80002", "Renamed", nil, 5
		e.ok(e.s.UpdateIVRMenu(e.ctx, got), "update menu")
		again, _ := e.s.IVRMenu(e.ctx, m.ID)
		if again.Number != "80002" || again.Name != "Renamed" || len(again.Options) != 0 || again.MaxTries != 5 {
			e.t.Errorf("menu after update: %+v", again)
		}
		_, err = e.s.IVRMenuByNumber(e.ctx, "80000")
		e.is(err, directory.ErrNotFound, "old number")
		// The old number is free again.
		e.user("80000")

		e.ok(e.s.DeleteIVRMenu(e.ctx, m.ID), "delete menu")
		_, err = e.s.IVRMenu(e.ctx, m.ID)
		e.is(err, directory.ErrNotFound, "deleted menu")
		e.is(e.s.DeleteIVRMenu(e.ctx, m.ID), directory.ErrNotFound, "delete again")
		e.is(e.s.UpdateIVRMenu(e.ctx, again), directory.ErrNotFound, "update deleted")
		// Its number is free too.
		e.ok(e.s.CreateGroup(e.ctx, &directory.Group{Name: "After", Extension: "80002"}), "group on a freed number")
	}},
	{"menu numbers do not clash with extensions, group numbers or each other", func(e *env) {
		e.user("10001")
		e.ok(e.s.CreateGroup(e.ctx, &directory.Group{Name: "Sales", Extension: "20000"}), "group")
		e.is(e.s.CreateIVRMenu(e.ctx, &directory.IVRMenu{Number: "10001", Name: "A"}), directory.ErrExtensionTaken,
			"menu on a user's extension")
		e.is(e.s.CreateIVRMenu(e.ctx, &directory.IVRMenu{Number: "20000", Name: "A"}), directory.ErrExtensionTaken,
			"menu on a group's number")
		m := &directory.IVRMenu{Number: "80000", Name: "A"}
		e.ok(e.s.CreateIVRMenu(e.ctx, m), "menu")
		e.is(e.s.CreateIVRMenu(e.ctx, &directory.IVRMenu{Number: "80000", Name: "B"}), directory.ErrExtensionTaken,
			"second menu on one number")
		e.is(e.s.CreateUser(e.ctx, e.draft("80000")), directory.ErrExtensionTaken, "user on a menu's number")
		e.is(e.s.CreateGroup(e.ctx, &directory.Group{Name: "Support", Extension: "80000"}), directory.ErrExtensionTaken,
			"group on a menu's number")
		m.Number = "10001"
		e.is(e.s.UpdateIVRMenu(e.ctx, m), directory.ErrExtensionTaken, "menu moved onto a user's extension")
		list, err := e.s.IVRMenus(e.ctx)
		e.ok(err, "menus")
		if len(list) != 1 || list[0].Number != "80000" {
			e.t.Errorf("menus after refused writes: %+v", list)
		}
	}},
	{"menus are checked and listed by number", func(e *env) {
		e.invalid(e.s.CreateIVRMenu(e.ctx, &directory.IVRMenu{Number: "12", Name: "A"}), "number", "short number")
		e.invalid(e.s.CreateIVRMenu(e.ctx, &directory.IVRMenu{Number: "80000"}), "name", "no name")
		e.invalid(e.s.CreateIVRMenu(e.ctx, &directory.IVRMenu{Number: "80000", Name: "A", DigitTimeout: 99}),
			"digit_timeout", "long timeout")
		e.invalid(e.s.CreateIVRMenu(e.ctx, &directory.IVRMenu{Number: "80000", Name: "A", MaxTries: -1}),
			"max_tries", "negative tries")
		for _, o := range []directory.IVROption{
			{Digit: "x", Action: directory.IVRHangup},
			{Digit: "1", Action: "dance"},
			{Digit: "1", Action: directory.IVRExtension},
			{Digit: "1", Action: directory.IVRMenuAction, Target: "80000"},
		} {
			e.invalid(e.s.CreateIVRMenu(e.ctx, &directory.IVRMenu{Number: "80000", Name: "A",
				Options: []directory.IVROption{o}}), "options", "option %+v", o)
		}
		e.invalid(e.s.CreateIVRMenu(e.ctx, &directory.IVRMenu{Number: "80000", Name: "A", Options: []directory.IVROption{
			{Digit: "1", Action: directory.IVRHangup}, {Digit: "1", Action: directory.IVRHangup}}}), "options", "one digit twice")
		e.invalid(e.s.CreateIVRMenu(e.ctx, &directory.IVRMenu{Number: "80000", Name: "A",
			TimeoutAction: directory.IVRGroup}), "timeout_action", "group without a number")
		e.invalid(e.s.CreateIVRMenu(e.ctx, &directory.IVRMenu{Number: "80000", Name: "A",
			InvalidAction: "nope"}), "invalid_action", "unknown invalid action")
		for _, n := range []string{"80002", "80000", "80001"} {
			e.ok(e.s.CreateIVRMenu(e.ctx, &directory.IVRMenu{Number: n, Name: "M" + n}), "create %s", n)
		}
		list, err := e.s.IVRMenus(e.ctx)
		e.ok(err, "menus")
		if len(list) != 3 || list[0].Number != "80000" || list[2].Number != "80002" {
			e.t.Errorf("menus by number: %+v", list)
		}
	}},
}
