package storetest

import (
	"slices"

	"github.com/switchboard-pbx/switchboard/directory"
)

var contactTests = []test{
	{"create a contact with phones and read it back", func(e *env) {
		u := e.user("10001")
		v := e.user("10002")
		c := &directory.Contact{Name: " Jan Kowalski ", Company: "Acme Sp. z o.o.", Email: "Jan@Acme.example",
			Phones: []string{"22 123 45 67", "+48 601 000 200", "0048221234567"}, AssignedTo: u.ID, CreatedBy: v.ID,
			Public: true, Notes: "prefers mornings"}
		e.ok(c.Validate("PL"), "validate")
		e.ok(e.s.CreateContact(e.ctx, c), "create contact")
		if c.ID == 0 || c.CreatedAt.IsZero() {
			e.t.Fatalf("created contact: ID %d, created %v", c.ID, c.CreatedAt)
		}
		got := e.contact(c.ID)
		e.sameContact(got, c)
		if !slices.Equal(sortedStrings(got.Phones), []string{"+48221234567", "+48601000200"}) {
			e.t.Errorf("phones %q, want +48221234567 and +48601000200", got.Phones)
		}

		bare := &directory.Contact{Company: "Nobody Inc."}
		e.ok(bare.Validate("PL"), "validate")
		e.ok(e.s.CreateContact(e.ctx, bare), "create contact without phones, user or creator")
		e.sameContact(e.contact(bare.ID), bare)
	}},
	{"UpdateContact replaces the fields and the phones", func(e *env) {
		u := e.user("10001")
		c := &directory.Contact{Name: "Jan", Phones: []string{"22 123 45 67", "601 000 200"}, AssignedTo: u.ID}
		e.ok(c.Validate("PL"), "validate")
		e.ok(e.s.CreateContact(e.ctx, c), "create contact")
		c.Name, c.Company, c.Email, c.Notes, c.Public, c.AssignedTo = "Jan K.", "Acme", "jan@acme.example", "n", true, 0
		c.Phones = []string{"601 000 200", "22 765 43 21"}
		e.ok(c.Validate("PL"), "validate")
		e.ok(e.s.UpdateContact(e.ctx, c), "update contact")
		got := e.contact(c.ID)
		e.sameContact(got, c)
		e.byPhone("+48221234567", nil, "the dropped number")
		e.byPhone("+48227654321", []int64{c.ID}, "the new number")
		e.byPhone("+48601000200", []int64{c.ID}, "the kept number")
		c.Phones = nil
		e.ok(e.s.UpdateContact(e.ctx, c), "update contact without phones")
		if got := e.contact(c.ID); len(got.Phones) != 0 {
			e.t.Errorf("phones after removing all: %q", got.Phones)
		}
	}},
	{"DeleteContact", func(e *env) {
		c := &directory.Contact{Name: "Jan", Phones: []string{"22 123 45 67"}}
		e.ok(c.Validate("PL"), "validate")
		e.ok(e.s.CreateContact(e.ctx, c), "create contact")
		e.ok(e.s.DeleteContact(e.ctx, c.ID), "delete contact")
		_, err := e.s.Contact(e.ctx, c.ID)
		e.is(err, directory.ErrNotFound, "a deleted contact")
		e.is(e.s.DeleteContact(e.ctx, c.ID), directory.ErrNotFound, "delete twice")
		e.byPhone("+48221234567", nil, "the deleted contact's number")
	}},
	{"ContactsByPhone returns every contact with the number", func(e *env) {
		a := &directory.Contact{Name: "Jan", Phones: []string{"22 123 45 67"}}
		b := &directory.Contact{Name: "Reception", Company: "Acme", Phones: []string{"+48 22 123 45 67", "601 000 200"}}
		c := &directory.Contact{Name: "Other", Phones: []string{"22 765 43 21"}}
		for _, x := range []*directory.Contact{a, b, c} {
			e.ok(x.Validate("PL"), "validate")
			e.ok(e.s.CreateContact(e.ctx, x), "create contact")
		}
		e.byPhone("+48221234567", []int64{a.ID, b.ID}, "shared number")
		e.byPhone("+48601000200", []int64{b.ID}, "second number of one contact")
		e.byPhone("+48221111111", nil, "unknown number")
		cs, err := e.s.ContactsByPhone(e.ctx, "+48601000200")
		e.ok(err, "contacts by phone")
		if len(cs) == 1 && len(cs[0].Phones) != 2 {
			e.t.Errorf("ContactsByPhone returns phones %q, want both of the contact's numbers", cs[0].Phones)
		}
	}},
	{"Contacts visibility: every combination", func(e *env) {
		f := newContactFixture(e)
		u1, u2 := f.u1.ID, f.u2.ID
		for _, c := range []struct {
			name string
			vis  directory.Visibility
			want []*directory.Contact
		}{
			{"zero shows nothing", directory.Visibility{}, nil},
			{"All", directory.Visibility{All: true}, []*directory.Contact{f.assigned, f.created, f.unassigned, f.public, f.system}},
			{"000: assigned to or created by u1", directory.Visibility{UserIDs: []int64{u1}},
				[]*directory.Contact{f.assigned, f.created}},
			{"assigned to or created by u2", directory.Visibility{UserIDs: []int64{u2}},
				[]*directory.Contact{f.created, f.unassigned, f.public}},
			{"003: unassigned", directory.Visibility{Unassigned: true}, []*directory.Contact{f.unassigned, f.system}},
			{"003: public", directory.Visibility{Public: true}, []*directory.Contact{f.public, f.system}},
			{"u1 and unassigned", directory.Visibility{UserIDs: []int64{u1}, Unassigned: true},
				[]*directory.Contact{f.assigned, f.created, f.unassigned, f.system}},
			{"u1 and public", directory.Visibility{UserIDs: []int64{u1}, Public: true},
				[]*directory.Contact{f.assigned, f.created, f.public, f.system}},
			{"unassigned and public", directory.Visibility{Unassigned: true, Public: true},
				[]*directory.Contact{f.unassigned, f.public, f.system}},
			{"u1, unassigned and public", directory.Visibility{UserIDs: []int64{u1}, Unassigned: true, Public: true},
				[]*directory.Contact{f.assigned, f.created, f.unassigned, f.public, f.system}},
			{"u1 and u2", directory.Visibility{UserIDs: []int64{u1, u2}},
				[]*directory.Contact{f.assigned, f.created, f.unassigned, f.public}},
			{"a user with no contacts", directory.Visibility{UserIDs: []int64{f.u3.ID}}, nil},
		} {
			e.listContacts(directory.ContactFilter{Vis: c.vis}, contactIDs(c.want), "visibility %s", c.name)
		}
	}},
	{"Contacts searches name, company and phone", func(e *env) {
		f := newContactFixture(e)
		for _, c := range []struct {
			search string
			want   []*directory.Contact
		}{
			{"Nowak", []*directory.Contact{f.assigned}},
			{"Globex", []*directory.Contact{f.created, f.public}},
			{"Initech", []*directory.Contact{f.system}},
			{"+48221234567", []*directory.Contact{f.assigned}},
			{"+48601000200", []*directory.Contact{f.created, f.public}},
			{"nothing like it", nil},
			{"%", nil}, // literal, not a pattern
			{"_", nil},
		} {
			e.listContacts(directory.ContactFilter{Search: c.search, Vis: all}, contactIDs(c.want), "search %q", c.search)
		}
		e.listContacts(directory.ContactFilter{Phone: "+48601000200", Vis: all},
			contactIDs([]*directory.Contact{f.created, f.public}), "phone filter")
		e.listContacts(directory.ContactFilter{Search: "Globex", Vis: directory.Visibility{UserIDs: []int64{f.u1.ID}}},
			contactIDs([]*directory.Contact{f.created}), "search within visibility")
	}},
	{"Contacts lists by name then ID, in pages", func(e *env) {
		var want []int64
		for _, name := range []string{"Eve", "Ben", "Ann", "Ben", "Cid"} {
			c := &directory.Contact{Name: name}
			e.ok(e.s.CreateContact(e.ctx, c), "create contact")
		}
		cs, err := e.s.Contacts(e.ctx, directory.ContactFilter{Vis: all})
		e.ok(err, "contacts")
		var names []string
		for _, c := range cs {
			names = append(names, c.Name)
			want = append(want, c.ID)
		}
		if !slices.Equal(names, []string{"Ann", "Ben", "Ben", "Cid", "Eve"}) {
			e.t.Errorf("order by name: %q", names)
		}
		if len(cs) == 5 && cs[1].ID > cs[2].ID {
			e.t.Errorf("two contacts named Ben listed as %d, %d; want ID order", cs[1].ID, cs[2].ID)
		}
		var paged []int64
		for n := 1; n <= 3; n++ {
			page, err := e.s.Contacts(e.ctx, directory.ContactFilter{Vis: all, Page: directory.Page{Number: n, Size: 2}})
			e.ok(err, "contacts page %d", n)
			for _, c := range page {
				paged = append(paged, c.ID)
			}
		}
		e.ids(paged, want, "pages put together")
	}},
}

// contactFixture: u1 and u2 are agents, u3 has no contacts.
//
//	assigned    assigned to u1, created by the system
//	created     created by u1, assigned to u2
//	unassigned  created by u2, not assigned
//	public      assigned to and created by u2, public
//	system      created by the system, unassigned and public
type contactFixture struct {
	u1, u2, u3                                    *directory.User
	assigned, created, unassigned, public, system *directory.Contact
}

func newContactFixture(e *env) contactFixture {
	e.t.Helper()
	var f contactFixture
	f.u1, f.u2, f.u3 = e.user("10001"), e.user("10002"), e.user("10003")
	f.assigned = &directory.Contact{Name: "Anna Nowak", Phones: []string{"22 123 45 67"}, AssignedTo: f.u1.ID}
	f.created = &directory.Contact{Name: "Bartek", Company: "Globex", Phones: []string{"601 000 200"},
		CreatedBy: f.u1.ID, AssignedTo: f.u2.ID}
	f.unassigned = &directory.Contact{Name: "Celina", CreatedBy: f.u2.ID}
	f.public = &directory.Contact{Name: "Dorota", Company: "Globex Reception", Phones: []string{"601 000 200"},
		AssignedTo: f.u2.ID, CreatedBy: f.u2.ID, Public: true}
	f.system = &directory.Contact{Name: "Edward", Company: "Initech", Public: true}
	for _, c := range []*directory.Contact{f.assigned, f.created, f.unassigned, f.public, f.system} {
		e.ok(c.Validate("PL"), "validate %s", c.Name)
		e.ok(e.s.CreateContact(e.ctx, c), "create contact %s", c.Name)
	}
	return f
}

func contactIDs[T directory.Contact | *directory.Contact](cs []T) []int64 {
	out := make([]int64, 0, len(cs))
	for _, c := range cs {
		switch c := any(c).(type) {
		case directory.Contact:
			out = append(out, c.ID)
		case *directory.Contact:
			out = append(out, c.ID)
		}
	}
	return out
}

func (e *env) contact(id int64) *directory.Contact {
	e.t.Helper()
	c, err := e.s.Contact(e.ctx, id)
	e.ok(err, "contact %d", id)
	return c
}

func (e *env) sameContact(got, want *directory.Contact) {
	e.t.Helper()
	if got.ID != want.ID || got.Name != want.Name || got.Company != want.Company || got.Email != want.Email ||
		got.AssignedTo != want.AssignedTo || got.CreatedBy != want.CreatedBy || got.Public != want.Public ||
		got.Notes != want.Notes || !slices.Equal(sortedStrings(got.Phones), sortedStrings(want.Phones)) {
		e.t.Errorf("contact read back\n got %+v\nwant %+v", got, want)
	}
}

func (e *env) byPhone(phone string, want []int64, what string) {
	e.t.Helper()
	cs, err := e.s.ContactsByPhone(e.ctx, phone)
	e.ok(err, "contacts by phone")
	e.set(contactIDs(cs), want, "ContactsByPhone %s: %s", phone, what)
}

// listContacts checks the IDs Contacts lists, in order (by name, then ID).
func (e *env) listContacts(f directory.ContactFilter, want []int64, format string, args ...any) {
	e.t.Helper()
	cs, err := e.s.Contacts(e.ctx, f)
	e.ok(err, "contacts")
	e.ids(contactIDs(cs), want, "Contacts "+format, args...)
}
