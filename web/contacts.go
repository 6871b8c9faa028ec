package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
)

type contactListPage struct {
	Contacts []directory.Contact
	Search   string
	Pager    pager
}

func (s *Server) contactList(w http.ResponseWriter, r *http.Request) {
	f := directory.ContactFilter{Search: strings.TrimSpace(r.URL.Query().Get("q")),
		Vis: authz.Visibility(subject(r), authz.ContactsView), Page: pageParam(r)}
	cs, err := s.store.Contacts(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.page(r, "contacts.title")
	p.Data = contactListPage{Contacts: cs, Search: f.Search, Pager: newPager(r, f.Page, len(cs), -1)}
	s.render(w, r, http.StatusOK, "contacts.html", p)
}

type contactPage struct {
	Contact   directory.Contact
	Phones    string
	New       bool
	Users     []directory.User
	CanEdit   bool
	CanDelete bool
	Errors    map[string]string
}

func (s *Server) renderContact(w http.ResponseWriter, r *http.Request, status int, c directory.Contact, isNew bool,
	phones string, errs map[string]string) {
	users, err := s.store.Users(r.Context(), directory.UserFilter{Vis: authz.Visibility(subject(r), authz.UsersView),
		Page: directory.Page{Size: 500}})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if phones == "" {
		phones = strings.Join(c.Phones, "\n")
	}
	res := authz.ContactResource(&c)
	cp := contactPage{Contact: c, Phones: phones, New: isNew, Users: users, Errors: errs,
		CanEdit:   isNew || authz.Can(subject(r), authz.ContactsManage, res) == nil,
		CanDelete: !isNew && authz.Can(subject(r), authz.ContactsDelete, res) == nil}
	title := "contacts.edit.title"
	if isNew {
		title = "contacts.new.title"
	}
	p := s.page(r, title)
	p.Data = cp
	s.render(w, r, status, "contact.html", p)
}

func (s *Server) contactNew(w http.ResponseWriter, r *http.Request) {
	s.renderContact(w, r, http.StatusOK, directory.Contact{AssignedTo: viewerOf(r).user().ID}, true, "", nil)
}

func (s *Server) contactFromForm(r *http.Request, c *directory.Contact) string {
	phones := r.PostFormValue("phones")
	c.Name, c.Company, c.Email = r.PostFormValue("name"), r.PostFormValue("company"), strings.TrimSpace(r.PostFormValue("email"))
	c.Notes, c.Public = r.PostFormValue("notes"), r.PostFormValue("public") == "on"
	c.AssignedTo, _ = strconv.ParseInt(r.PostFormValue("assigned_to"), 10, 64)
	c.Phones = strings.FieldsFunc(phones, func(r rune) bool { return r == '\n' || r == '\r' || r == ',' })
	return phones
}

func (s *Server) contactCreate(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.fail(w, r, err)
		return
	}
	c := directory.Contact{CreatedBy: viewerOf(r).user().ID}
	phones := s.contactFromForm(r, &c)
	err := s.saveContact(r, &c, true)
	if fe := formErrors(err); fe != nil {
		s.renderContact(w, r, http.StatusBadRequest, c, true, phones, fe)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	done(w, r, "/contacts/"+itoa(c.ID), "created")
}

// loadContact loads the contact of the route if the viewer may see it
// (404 otherwise) and, for p other than contacts.view, do p to it (403).
func (s *Server) loadContact(r *http.Request, p authz.Permission) (*directory.Contact, error) {
	id, err := idParam(r)
	if err != nil {
		return nil, err
	}
	c, err := s.store.Contact(r.Context(), id)
	if err != nil {
		return nil, err
	}
	if err := authz.Can(subject(r), authz.ContactsView, authz.ContactResource(c)); err != nil {
		return nil, hidden(err)
	}
	if p != authz.ContactsView {
		if err := authz.Can(subject(r), p, authz.ContactResource(c)); err != nil {
			return nil, forbidden(err)
		}
	}
	return c, nil
}

func (s *Server) contactShow(w http.ResponseWriter, r *http.Request) {
	c, err := s.loadContact(r, authz.ContactsView)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderContact(w, r, http.StatusOK, *c, false, "", nil)
}

func (s *Server) contactUpdate(w http.ResponseWriter, r *http.Request) {
	old, err := s.loadContact(r, authz.ContactsManage)
	if err == nil {
		err = parseForm(w, r)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	c := *old
	phones := s.contactFromForm(r, &c)
	err = s.saveContact(r, &c, false)
	if fe := formErrors(err); fe != nil {
		s.renderContact(w, r, http.StatusBadRequest, c, false, phones, fe)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	done(w, r, "/contacts/"+itoa(c.ID), "saved")
}

func (s *Server) contactDelete(w http.ResponseWriter, r *http.Request) {
	if err := s.deleteContact(r); err != nil {
		s.fail(w, r, err)
		return
	}
	done(w, r, "/contacts", "deleted")
}

// saveContact validates a new or changed contact, its phone numbers
// normalized to E.164 with the numbers.default_country setting, and stores
// it, for the form and the API alike. The contact as saved must be within
// the viewer's contacts.manage scope: creating for, or reassigning to,
// someone outside it is refused.
func (s *Server) saveContact(r *http.Request, c *directory.Contact, isNew bool) error {
	country, err := s.store.Setting(r.Context(), directory.SettingDefaultCountry)
	if err == nil {
		err = c.Validate(country)
	}
	if err == nil {
		err = forbidden(authz.Can(subject(r), authz.ContactsManage, authz.ContactResource(c)))
	}
	action := "contact.update"
	var old *directory.Contact
	if err == nil && isNew {
		action = "contact.create"
		err = s.store.CreateContact(r.Context(), c)
	} else if err == nil {
		if old, err = s.store.Contact(r.Context(), c.ID); err == nil {
			err = s.store.UpdateContact(r.Context(), c)
		}
	}
	if err != nil {
		return err
	}
	var before map[string]any
	if old != nil {
		before = contactFields(old)
	}
	b, a := changedFields(before, contactFields(c))
	s.auditChange(r, viewerOf(r), action, "contact:"+itoa(c.ID), c.Name, b, a)
	return nil
}

// contactFields are a contact's audited fields.
func contactFields(c *directory.Contact) map[string]any {
	return map[string]any{"name": c.Name, "company": c.Company, "phones": strings.Join(c.Phones, ","), "email": c.Email,
		"assigned_to": c.AssignedTo, "public": c.Public, "notes": c.Notes}
}

// deleteContact deletes the route's contact if the viewer may see it
// (404 otherwise) and holds contacts.delete over it (403).
func (s *Server) deleteContact(r *http.Request) error {
	c, err := s.loadContact(r, authz.ContactsDelete)
	if err == nil {
		err = s.store.DeleteContact(r.Context(), c.ID)
	}
	if err != nil {
		return err
	}
	s.audit(r, viewerOf(r), "contact.delete", "contact:"+itoa(c.ID), c.Name)
	return nil
}
