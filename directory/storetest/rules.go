package storetest

import (
	"fmt"

	"github.com/switchboard-pbx/switchboard/directory"
)

// ruleTests pin the arguments whose meaning a backend could otherwise
// choose (the two stores once answered the same calls differently where
// the suite was silent). Each names the rule of directory it pins.
var ruleTests = []test{
	{"CheckNew: a user is created active or blocked, never deleted", func(e *env) {
		u := e.draft("10001")
		u.State = directory.UserDeleted
		e.invalid(e.s.CreateUser(e.ctx, u), "state", "CreateUser deleted")
		u = e.draft("10002")
		u.State = "gone"
		e.invalid(e.s.CreateUser(e.ctx, u), "state", "CreateUser with an unknown state")
		u = e.draft("10003")
		u.State = directory.UserDeleted
		e.invalid(e.s.CreateUsers(e.ctx, []*directory.User{e.draft("10004"), u}), "state", "CreateUsers deleted")
		e.listUsers(directory.UserFilter{States: []directory.UserState{directory.UserActive, directory.UserBlocked,
			directory.UserDeleted}, Vis: all}, nil, "nothing stored")

		u = e.draft("10005")
		u.State = ""
		e.create(u)
		if got := e.get(u.ID).State; got != directory.UserActive || u.State != directory.UserActive {
			e.t.Errorf("empty state stored as %q (returned %q), want active", got, u.State)
		}
		u = e.draft("10006")
		u.State = directory.UserBlocked
		e.create(u)
		if got := e.get(u.ID).State; got != directory.UserBlocked {
			e.t.Errorf("blocked stored as %q", got)
		}
	}},
	{"CheckNew: the extension is required and the email normalized", func(e *env) {
		u := e.draft("10001")
		u.Extension = ""
		e.invalid(e.s.CreateUser(e.ctx, u), "extension", "CreateUser without extension")
		u = e.draft("10002")
		u.Email = "  Anh.Nguyen@Example.COM "
		e.create(u)
		if got := e.get(u.ID).Email; got != "anh.nguyen@example.com" {
			e.t.Errorf("email stored as %q", got)
		}
		_, err := e.s.UserByEmail(e.ctx, "ANH.nguyen@example.com")
		e.check(err, "UserByEmail compares normalized")
	}},
	{"CheckNew: empty roles and groups are the defaults; unknown IDs are refused", func(e *env) {
		u := e.draft("10001")
		u.RoleIDs, u.GroupIDs = []int64{}, []int64{}
		e.create(u)
		got := e.get(u.ID)
		e.ids(got.RoleIDs, []int64{e.role(directory.BuiltinAgent).ID}, "empty roles: the default role")
		e.ids(got.GroupIDs, []int64{e.defaultGroup().ID}, "empty groups: the default group")

		agent := e.role(directory.BuiltinAgent).ID
		admin := e.role(directory.BuiltinAdmin).ID
		u = e.draft("10002")
		u.RoleIDs = []int64{admin, agent, admin}
		e.create(u)
		e.ids(e.get(u.ID).RoleIDs, sorted([]int64{admin, agent}), "duplicates dropped, sorted")

		for _, c := range []struct {
			name          string
			roles, groups []int64
			field         string
		}{
			{"role 0", []int64{0}, nil, "roles"},
			{"negative role", []int64{-1}, nil, "roles"},
			{"unknown role", []int64{agent + 1000}, nil, "roles"},
			{"group 0", nil, []int64{0}, "groups"},
			{"unknown group", nil, []int64{e.defaultGroup().ID + 1000}, "groups"},
		} {
			u := e.draft("10003")
			u.RoleIDs, u.GroupIDs = c.roles, c.groups
			err := e.s.CreateUser(e.ctx, u)
			e.invalid(err, c.field, "CreateUser with %s", c.name)
			e.is(err, map[string]error{"roles": directory.ErrUnknownRole, "groups": directory.ErrUnknownGroup}[c.field],
				"CreateUser with %s", c.name)
			u = e.draft("10003")
			u.RoleIDs, u.GroupIDs = c.roles, c.groups
			e.invalid(e.s.CreateUsers(e.ctx, []*directory.User{u}), c.field, "CreateUsers with %s", c.name)
		}
	}},
	{"UpdateUser: an empty list of roles or groups is refused and changes nothing", func(e *env) {
		sales := e.group("Sales", 0)
		admin := e.role(directory.BuiltinAdmin).ID
		u := e.draft("10001")
		u.RoleIDs, u.GroupIDs = []int64{admin}, []int64{sales.ID}
		e.create(u)
		name := "Renamed"
		_, err := e.s.UpdateUser(e.ctx, u.ID, directory.UserPatch{Name: &name, RoleIDs: &[]int64{}})
		e.invalid(err, "roles", "no roles")
		_, err = e.s.UpdateUser(e.ctx, u.ID, directory.UserPatch{Name: &name, GroupIDs: &[]int64{}})
		e.invalid(err, "groups", "no groups")
		_, err = e.s.UpdateUser(e.ctx, u.ID, directory.UserPatch{RoleIDs: &[]int64{0}})
		e.invalid(err, "roles", "role 0")
		_, err = e.s.UpdateUser(e.ctx, u.ID, directory.UserPatch{GroupIDs: &[]int64{sales.ID + 1000}})
		e.invalid(err, "groups", "unknown group")
		got := e.get(u.ID)
		e.ids(got.RoleIDs, []int64{admin}, "roles after refusals")
		e.ids(got.GroupIDs, []int64{sales.ID}, "groups after refusals")
		if got.Name != u.Name {
			e.t.Errorf("name %q after refusals, want %q", got.Name, u.Name)
		}
		agent := e.role(directory.BuiltinAgent).ID
		got, err = e.s.UpdateUser(e.ctx, u.ID, directory.UserPatch{RoleIDs: &[]int64{agent, admin, agent}})
		e.ok(err, "two roles")
		e.ids(got.RoleIDs, sorted([]int64{admin, agent}), "roles set")
		got, err = e.s.UpdateUser(e.ctx, u.ID, directory.UserPatch{RoleIDs: nil, GroupIDs: nil, Name: &name})
		e.ok(err, "no lists")
		e.ids(got.RoleIDs, sorted([]int64{admin, agent}), "nil RoleIDs keep the roles")
		e.ids(got.GroupIDs, []int64{sales.ID}, "nil GroupIDs keep the groups")
	}},
	{"Users: search folds case, diacritics, ł and đ, and spaces", func(e *env) {
		anh := e.named("Nguyễn Thị Ánh", "anh@example.vn", "10001")
		lukasz := e.named("Łukasz Żółć", "lukasz@example.pl", "10002")
		dang := e.named("Đặng Văn Đức", "DUC@Example.vn", "10003")
		anna := e.named("Anna  Nowak", "anna@example.pl", "10004")
		for _, c := range []struct {
			search string
			want   []int64
		}{
			{"anh", []int64{anh.ID}},
			{"ánh", []int64{anh.ID}},
			{"ÁNH", []int64{anh.ID}},
			{"A\u0301nh", []int64{anh.ID}}, // decomposed, as some keyboards send it
			{"nguyen thi", []int64{anh.ID}},
			{"  Nguyễn   Thị ", []int64{anh.ID}},
			{"lukasz", []int64{lukasz.ID}},
			{"Łukasz", []int64{lukasz.ID}},
			{"ŁUKASZ", []int64{lukasz.ID}},
			{"zolc", []int64{lukasz.ID}},
			{"dang", []int64{dang.ID}},
			{"đức", []int64{dang.ID}},
			{"duc@example", []int64{dang.ID}},
			{"anna nowak", []int64{anna.ID}}, // two spaces stored, one searched
			{"10003", []int64{dang.ID}},
			{"an", []int64{anh.ID, anna.ID, dang.ID}}, // "văn"
			{"nowak\nanna", nil},                      // never across two fields
			{"ak anna", nil},
			{"%", nil},
			{"_", nil},
		} {
			got, err := e.s.Users(e.ctx, directory.UserFilter{Search: c.search, Vis: all})
			e.ok(err, "users")
			e.set(userIDs(got), c.want, "search %q", c.search)
			n, err := e.s.CountUsers(e.ctx, directory.UserFilter{Search: c.search, Vis: all})
			e.ok(err, "count users")
			if n != len(c.want) {
				e.t.Errorf("CountUsers search %q: %d, want %d", c.search, n, len(c.want))
			}
		}
		name := "Trần Ánh"
		_, err := e.s.UpdateUser(e.ctx, lukasz.ID, directory.UserPatch{Name: &name})
		e.ok(err, "rename")
		e.set(userIDs(e.listUsers(directory.UserFilter{Search: "tran anh", Vis: all}, nil, "")), []int64{lukasz.ID},
			"search after a rename")
		e.listUsers(directory.UserFilter{Search: "zolc", Vis: all}, nil, "the old name after a rename")
	}},
	{"Users and Contacts: lists are ordered by the folded name", func(e *env) {
		for i, name := range []string{"Łukasz", "Anna", "Ánh", "Zofia", "Lena", "ánh"} {
			e.named(name, fmt.Sprintf("p%d@example.com", i), fmt.Sprintf("1000%d", i))
		}
		var names []string
		for _, u := range e.listUsers(directory.UserFilter{Vis: all}, nil, "") {
			names = append(names, u.Name)
		}
		// "Ánh" (p2@) and "ánh" (p5@) fold alike: the email decides.
		if fmt.Sprint(names) != "[Ánh ánh Anna Lena Łukasz Zofia]" {
			e.t.Errorf("users by folded name, then email: %q", names)
		}
		for _, name := range []string{"Łukasz", "Anna", "Zofia", "Lena"} {
			e.ok(e.s.CreateContact(e.ctx, &directory.Contact{Name: name}), "create contact")
		}
		cs, err := e.s.Contacts(e.ctx, directory.ContactFilter{Vis: all})
		e.ok(err, "contacts")
		names = nil
		for _, c := range cs {
			names = append(names, c.Name)
		}
		if fmt.Sprint(names) != "[Anna Lena Łukasz Zofia]" {
			e.t.Errorf("contacts by folded name: %q", names)
		}
	}},
	{"Contacts: search folds names and companies and reads numbers in any spacing", func(e *env) {
		u := e.user("10001")
		mk := func(c *directory.Contact) *directory.Contact {
			e.t.Helper()
			c.CreatedBy = u.ID
			e.ok(c.Validate("PL"), "validate contact")
			e.ok(e.s.CreateContact(e.ctx, c), "create contact")
			return c
		}
		anh := mk(&directory.Contact{Name: "Phạm Ánh", Company: "Công ty Đông Á", Phones: []string{"+84 28 3822 1234"}})
		lukasz := mk(&directory.Contact{Name: "Łukasz", Company: "Acme", Phones: []string{"22 123 45 67"}})
		acme := mk(&directory.Contact{Company: "Acme Sp. z o.o.", Phones: []string{"601 000 200"}})
		for _, c := range []struct {
			search string
			want   []*directory.Contact
		}{
			{"anh", []*directory.Contact{anh}},
			{"ÁNH", []*directory.Contact{anh}},
			{"dong a", []*directory.Contact{anh}},
			{"lukasz", []*directory.Contact{lukasz}},
			{" Acme ", []*directory.Contact{lukasz, acme}},
			{"ACME SP", []*directory.Contact{acme}},
			{"+48 22-123", []*directory.Contact{lukasz}},
			{"+48221234567", []*directory.Contact{lukasz}},
			{"22 123 45 67", []*directory.Contact{lukasz}},
			{"(601) 000-200", []*directory.Contact{acme}},
			{"601.000.200", []*directory.Contact{acme}},
			{"+84 28", []*directory.Contact{anh}},
			{"1234", []*directory.Contact{anh, lukasz}},
			{"%", nil},
		} {
			e.set(contactIDsOf(e, directory.ContactFilter{Search: c.search, Vis: all}), contactIDs(c.want),
				"search %q", c.search)
		}
		e.set(contactIDsOf(e, directory.ContactFilter{Phone: "+48221234567", Vis: all}),
			contactIDs([]*directory.Contact{lukasz}), "Phone is an exact E.164 number")
		e.set(contactIDsOf(e, directory.ContactFilter{Phone: "+4822123", Vis: all}), nil, "Phone is not a substring")

		lukasz.Name = "Łucja"
		e.ok(e.s.UpdateContact(e.ctx, lukasz), "update contact")
		e.set(contactIDsOf(e, directory.ContactFilter{Search: "lucja", Vis: all}),
			contactIDs([]*directory.Contact{lukasz}), "search after an update")
	}},
	{"UpdateContact keeps the creator and creation time", func(e *env) {
		u1, u2 := e.user("10001"), e.user("10002")
		c := &directory.Contact{Name: "Anna", CreatedBy: u1.ID}
		e.ok(e.s.CreateContact(e.ctx, c), "create contact")
		created := c.CreatedAt
		upd := *c
		upd.CreatedBy, upd.CreatedAt, upd.Name = u2.ID, created.Add(-1e9*3600), "Anna Nowak"
		e.ok(e.s.UpdateContact(e.ctx, &upd), "update contact")
		if upd.CreatedBy != u1.ID {
			e.t.Errorf("UpdateContact filled in creator %d, want %d", upd.CreatedBy, u1.ID)
		}
		got, err := e.s.Contact(e.ctx, c.ID)
		e.ok(err, "contact")
		if got.CreatedBy != u1.ID || got.Name != "Anna Nowak" {
			e.t.Errorf("stored creator %d, name %q; want %d, Anna Nowak", got.CreatedBy, got.Name, u1.ID)
		}
		e.sameTime(got.CreatedAt, created, "creation time")
		e.sameTime(upd.CreatedAt, created, "creation time filled in")
	}},
	{"CreateContact: an unknown assignee or creator is invalid", func(e *env) {
		u := e.user("10001")
		e.invalid(e.s.CreateContact(e.ctx, &directory.Contact{Name: "A", AssignedTo: u.ID + 1000}), "assigned_to",
			"unknown assignee")
		e.invalid(e.s.CreateContact(e.ctx, &directory.Contact{Name: "A", CreatedBy: u.ID + 1000}), "created_by",
			"unknown creator")
	}},
	{"Calls: a number is searched in any spacing", func(e *env) {
		t0 := fixedTime()
		mk := func(from, to, dialed string) *directory.Call {
			c := &directory.Call{From: from, To: to, Dialed: dialed, Direction: directory.Outbound,
				StartedAt: t0, Disposition: directory.Answered}
			e.ok(e.s.CreateCall(e.ctx, c), "create call")
			return c
		}
		out := mk("10001", "+48221234567", "0221234567")
		in := mk("+84283822123", "10002", "10002")
		for _, c := range []struct {
			number string
			want   []*directory.Call
		}{
			{"+48 22-123", []*directory.Call{out}},
			{"(022) 123", []*directory.Call{out}},
			{" 10002 ", []*directory.Call{in}},
			{"+84 28 3822", []*directory.Call{in}},
			{"123", []*directory.Call{out, in}},
			{"+48 99", nil},
		} {
			cs, err := e.s.Calls(e.ctx, directory.CallFilter{Number: c.number, Vis: all})
			e.ok(err, "calls")
			var want []int64
			for _, w := range c.want {
				want = append(want, w.ID)
			}
			e.set(callIDs(cs), want, "number %q", c.number)
			n, err := e.s.CountCalls(e.ctx, directory.CallFilter{Number: c.number, Vis: all})
			e.ok(err, "count calls")
			if n != len(c.want) {
				e.t.Errorf("CountCalls number %q: %d, want %d", c.number, n, len(c.want))
			}
		}
	}},
	{"Calls and Users: GroupID is the group's direct members, not its subgroups'", func(e *env) {
		parent := e.group("Sales", 0)
		child := e.group("Sales north", parent.ID)
		u := e.user("10001", child.ID)
		c := &directory.Call{CallerID: u.ID, From: "10001", To: "+48221234567", Direction: directory.Outbound,
			StartedAt: fixedTime(), Disposition: directory.Answered}
		e.ok(e.s.CreateCall(e.ctx, c), "create call")
		cs, err := e.s.Calls(e.ctx, directory.CallFilter{GroupID: child.ID, Vis: all})
		e.ok(err, "calls")
		e.ids(callIDs(cs), []int64{c.ID}, "the member's group")
		cs, err = e.s.Calls(e.ctx, directory.CallFilter{GroupID: parent.ID, Vis: all})
		e.ok(err, "calls")
		e.ids(callIDs(cs), nil, "the parent group")
		e.listUsers(directory.UserFilter{GroupID: child.ID, Vis: all}, []int64{u.ID}, "GroupID: the member's group")
		e.listUsers(directory.UserFilter{GroupID: parent.ID, Vis: all}, nil, "GroupID: the parent group")
	}},
	{"Recording.Check: states, sizes and unknown calls are refused alike", func(e *env) {
		c := &directory.Call{From: "10001", To: "10002", Direction: directory.Internal, StartedAt: fixedTime(),
			Disposition: directory.Answered}
		e.ok(e.s.CreateCall(e.ctx, c), "create call")
		e.invalid(e.s.CreateRecording(e.ctx, &directory.Recording{CallID: c.ID, State: "lost"}), "state", "unknown state")
		e.invalid(e.s.CreateRecording(e.ctx, &directory.Recording{CallID: c.ID, Size: -1}), "size", "negative size")
		err := e.s.CreateRecording(e.ctx, &directory.Recording{CallID: c.ID + 1000})
		e.invalid(err, "call_id", "unknown call")
		e.is(err, directory.ErrUnknownCall, "unknown call")
		r := &directory.Recording{CallID: c.ID, Path: "a.wav"}
		e.ok(e.s.CreateRecording(e.ctx, r), "create recording")
		if r.State != directory.RecordingActive {
			e.t.Errorf("empty state stored as %q, want recording", r.State)
		}
		bad := *r
		bad.State = "lost"
		e.invalid(e.s.UpdateRecording(e.ctx, &bad), "state", "update to an unknown state")
		got, err := e.s.Recording(e.ctx, r.ID)
		e.ok(err, "recording")
		if got.State != directory.RecordingActive {
			e.t.Errorf("state %q after a refused update", got.State)
		}
	}},
	{"SIPUsers and Employees list by ID", func(e *env) {
		a := e.named("Zofia", "z@example.com", "10003")
		b := e.named("Anna", "a@example.com", "10001")
		m := "+48601000200"
		for _, u := range []*directory.User{a, b} {
			_, err := e.s.UpdateUser(e.ctx, u.ID, directory.UserPatch{Mobile: &m})
			e.ok(err, "set mobile")
		}
		us, err := e.s.SIPUsers(e.ctx)
		e.ok(err, "sip users")
		e.ids(userIDs(us), []int64{a.ID, b.ID}, "SIPUsers by ID")
		us, err = e.s.Employees(e.ctx, m)
		e.ok(err, "employees")
		e.ids(userIDs(us), []int64{a.ID, b.ID}, "Employees by ID")
		us, err = e.s.Employees(e.ctx, "+48 601 000 200")
		e.ok(err, "employees")
		e.ids(userIDs(us), nil, "Employees compares the number exactly")
		us, err = e.s.Employees(e.ctx, "")
		e.ok(err, "employees")
		e.ids(userIDs(us), nil, "an empty number finds nobody")
	}},
}

// contactIDsOf lists the IDs of the contacts f selects.
func contactIDsOf(e *env, f directory.ContactFilter) []int64 {
	e.t.Helper()
	cs, err := e.s.Contacts(e.ctx, f)
	e.ok(err, "contacts")
	return contactIDs(cs)
}
