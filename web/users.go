package web

import (
	"net/http"
	"slices"
	"strings"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
)

type userListPage struct {
	Users  []directory.User
	Roles  map[int64]string
	Search string
	State  string
	Pager  pager
}

func (s *Server) userList(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	f := directory.UserFilter{Search: strings.TrimSpace(q.Get("q")), Vis: authz.Visibility(subject(r), authz.UsersView),
		Page: pageParam(r)}
	switch q.Get("state") {
	case "active", "blocked", "deleted":
		f.States = []directory.UserState{directory.UserState(q.Get("state"))}
	}
	users, err := s.store.Users(ctx, f)
	var total int
	if err == nil {
		total, err = s.store.CountUsers(ctx, f)
	}
	var roles []directory.Role
	if err == nil {
		roles, err = s.store.Roles(ctx)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.page(r, "users.title")
	p.Data = userListPage{Users: users, Roles: roleNames(p, roles), Search: f.Search, State: q.Get("state"),
		Pager: newPager(r, f.Page, len(users), total)}
	s.render(w, r, http.StatusOK, "users.html", p)
}

func roleNames(p *page, roles []directory.Role) map[int64]string {
	m := make(map[int64]string, len(roles))
	for _, r := range roles {
		m[r.ID] = p.RoleName(r.Builtin, r.Name)
	}
	return m
}

// userForm is the new-user form and the edit form of the user page.
type userForm struct {
	User        directory.User
	ExtPassword string
	Roles       []directory.Role
	Groups      []treeGroup
	Errors      map[string]string
}

func (s *Server) userNew(w http.ResponseWriter, r *http.Request) {
	f, err := s.newUserForm(r, nil)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.page(r, "users.new.title")
	p.Data = f
	s.render(w, r, http.StatusOK, "user_new.html", p)
}

// newUserForm fills the choices of the new-user form; u is what was typed,
// nil for a fresh form with the default role and group preselected.
func (s *Server) newUserForm(r *http.Request, u *directory.User) (*userForm, error) {
	ctx := r.Context()
	roles, err := s.store.Roles(ctx)
	if err != nil {
		return nil, err
	}
	groups, err := s.store.Groups(ctx)
	if err != nil {
		return nil, err
	}
	f := &userForm{Roles: roles, Groups: groupTree(groups)}
	if u != nil {
		f.User = *u
		return f, nil
	}
	f.ExtPassword = string(directory.GeneratePassword(16))
	if id, err := s.store.Setting(ctx, directory.SettingDefaultRole); err == nil {
		f.User.RoleIDs = idList([]string{id})
	}
	for _, g := range groups {
		if g.Default {
			f.User.GroupIDs = []int64{g.ID}
		}
	}
	return f, nil
}

func (s *Server) userCreate(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.fail(w, r, err)
		return
	}
	n := directory.NewUser{Name: r.PostFormValue("name"), Email: r.PostFormValue("email"),
		Password: directory.Password(r.PostFormValue("password")), Extension: strings.TrimSpace(r.PostFormValue("extension")),
		ExtPassword: directory.Password(r.PostFormValue("ext_password")), Mobile: strings.TrimSpace(r.PostFormValue("mobile")),
		Language: r.PostFormValue("language"), RoleIDs: idList(r.PostForm["role"]), GroupIDs: idList(r.PostForm["group"])}
	u, err := s.createUser(r, n)
	if fe := formErrors(err); fe != nil {
		f, ferr := s.newUserForm(r, &directory.User{Name: n.Name, Email: n.Email, Extension: n.Extension,
			Mobile: n.Mobile, Language: n.Language, RoleIDs: n.RoleIDs, GroupIDs: n.GroupIDs})
		if ferr != nil {
			s.fail(w, r, ferr)
			return
		}
		f.ExtPassword, f.Errors = string(n.ExtPassword), fe
		p := s.page(r, "users.new.title")
		p.Data = f
		s.render(w, r, http.StatusBadRequest, "user_new.html", p)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	done(w, r, "/users/"+itoa(u.ID), "created")
}

// createUser makes an account, for the form and the API alike. The roles
// (the default role when none are given, as the store would) must each be
// grantable by the viewer: authz.CanAssignRoles on a new account also asks
// for users.create.
func (s *Server) createUser(r *http.Request, n directory.NewUser) (*directory.User, error) {
	ctx := r.Context()
	if len(n.RoleIDs) == 0 {
		id, err := s.store.Setting(ctx, directory.SettingDefaultRole)
		if err != nil {
			return nil, err
		}
		n.RoleIDs = idList([]string{id})
	}
	roles, err := s.rolesByID(r, n.RoleIDs)
	if err == nil {
		err = authz.CanAssignRoles(subject(r), &directory.Access{}, roles)
	}
	var u *directory.User
	if err == nil {
		u, err = directory.AddUser(ctx, s.store, n, directory.DefaultPasswordPolicy)
	}
	if err != nil {
		return nil, err
	}
	s.audit(r, viewerOf(r), "user.create", "user:"+itoa(u.ID), u.Email+" ext "+u.Extension)
	return u, nil
}

// rolesByID returns the roles with the given IDs; an unknown ID is invalid.
func (s *Server) rolesByID(r *http.Request, ids []int64) ([]directory.Role, error) {
	all, err := s.store.Roles(r.Context())
	if err != nil {
		return nil, err
	}
	var out []directory.Role
	for _, id := range ids {
		i := slices.IndexFunc(all, func(x directory.Role) bool { return x.ID == id })
		if i < 0 {
			return nil, &directory.InvalidError{Field: "roles", Rule: "does not exist"}
		}
		out = append(out, all[i])
	}
	return out, nil
}

// loadUser loads the user of the route and checks that the viewer may see
// them (404 otherwise) and, when p is not users.view, that they may do p to
// them (403). It returns the user's access too.
func (s *Server) loadUser(r *http.Request, p authz.Permission) (*directory.Access, error) {
	id, err := idParam(r)
	if err != nil {
		return nil, err
	}
	return s.loadUserID(r, id, p)
}

// loadUserID is loadUser for a user ID that is not the route's {id}.
func (s *Server) loadUserID(r *http.Request, id int64, p authz.Permission) (*directory.Access, error) {
	a, err := s.store.Access(r.Context(), id)
	if err != nil {
		return nil, err
	}
	res := authz.UserResource(&a.User)
	if err := authz.Can(subject(r), authz.UsersView, res); err != nil {
		return nil, hidden(err)
	}
	if p != authz.UsersView {
		// Nobody manages someone who outranks them: authz.CanManageUser.
		if err := authz.CanManageUser(subject(r), p, a); err != nil {
			return nil, forbidden(err)
		}
	}
	return a, nil
}

type permRow struct {
	Info     authz.PermissionInfo
	Decision authz.Decision
	Override string // "" when the role decides
}

type userPage struct {
	userForm
	Access     *directory.Access
	Perms      []permRow
	CanManage  bool
	CanCreate  bool
	CanGroups  bool
	Secret     string   // a password shown once
	SecretKind string   // locale key saying which
	Company    string   // the company's time zone, for the time zone input
	Zones      []string // time zones offered

	// Phones: registrations and manual setup.
	Phones *userPhones
}

func (s *Server) userShow(w http.ResponseWriter, r *http.Request) {
	a, err := s.loadUser(r, authz.UsersView)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderUser(w, r, http.StatusOK, a, nil, "", "")
}

func (s *Server) renderUser(w http.ResponseWriter, r *http.Request, status int, a *directory.Access,
	errs map[string]string, secret, secretKind string) {
	ctx := r.Context()
	roles, err := s.store.Roles(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	groups, err := s.store.Groups(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	subj := authz.NewSubject(a)
	cat := authz.Catalog()
	rows := make([]permRow, len(cat))
	for i, info := range cat {
		rows[i] = permRow{Info: info, Decision: subj.Effective(info.Permission), Override: a.Overrides[string(info.Permission)]}
	}
	company, err := s.companyZone(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	up := userPage{Company: s.zone(company).String(), Zones: zoneSuggestions, userForm: userForm{User: a.User, Roles: roles, Groups: groupTree(groups), Errors: errs},
		Access: a, Perms: rows, Secret: secret, SecretKind: secretKind,
		CanManage: authz.CanManageUser(subject(r), authz.UsersManage, a) == nil,
		CanCreate: authz.CanDo(subject(r), authz.UsersCreate) == nil,
		CanGroups: authz.CanDo(subject(r), authz.GroupsManage) == nil}
	if up.Phones, err = s.userPhones(r, &a.User); err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.page(r, "users.edit.title")
	p.Data = up
	s.render(w, r, status, "user.html", p)
}

func (s *Server) userUpdate(w http.ResponseWriter, r *http.Request) {
	a, err := s.loadUser(r, authz.UsersManage)
	if err == nil {
		err = parseForm(w, r)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	f := r.PostForm
	str := func(k string) *string { v := strings.TrimSpace(f.Get(k)); return &v }
	patch := directory.UserPatch{Name: str("name"), Email: str("email"), Mobile: str("mobile"),
		CallerID: str("caller_id"), Notes: str("notes"), Language: str("language")}
	if f.Has("caller_id") { // the form's checkbox: absent when not ticked
		hide := f.Get("hide_number") != ""
		patch.HideNumber = &hide
	}
	if f.Has("time_zone") { // checked as on the account page; "" is the company's
		patch.TimeZone = str("time_zone")
	}
	s.saveUser(w, r, a, patch)
}

// saveUser applies a form's patch and answers: the page again with the
// field errors, or back to the user with "saved".
func (s *Server) saveUser(w http.ResponseWriter, r *http.Request, a *directory.Access, patch directory.UserPatch) {
	_, err := s.updateUser(r, a, patch)
	if fe := formErrors(err); fe != nil {
		s.renderUser(w, r, http.StatusBadRequest, a, fe, "", "")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	done(w, r, "/users/"+itoa(a.User.ID), "saved")
}

// updateUser changes an account, for the forms and the API alike; a was
// loaded with users.manage. Roles and groups are access: they need
// authz.CanAssignRoles (not one's own, an owner only by an owner, no role
// above the viewer's scopes) even when only the groups change, since a
// group decides a department, and groups.manage when the groups change.
func (s *Server) updateUser(r *http.Request, a *directory.Access, patch directory.UserPatch) (*directory.User, error) {
	if patch.Mobile != nil {
		cc, err := directory.DefaultCountry(r.Context(), s.store)
		if err != nil {
			return nil, err
		}
		patch.NormalizeMobile(cc)
	}
	if err := patch.Validate(); err != nil {
		return nil, err
	}
	access := patch.RoleIDs != nil || patch.GroupIDs != nil
	if access {
		roles := a.Roles
		var err error
		if patch.RoleIDs != nil {
			roles, err = s.rolesByID(r, *patch.RoleIDs)
		}
		if err == nil {
			err = forbidden(authz.CanAssignRoles(subject(r), a, roles))
		}
		if err == nil && patch.GroupIDs != nil {
			if sameIDs(*patch.GroupIDs, a.User.GroupIDs) {
				patch.GroupIDs = nil
			} else {
				err = authz.CanDo(subject(r), authz.GroupsManage)
			}
		}
		if err != nil {
			return nil, err
		}
	}
	u, err := s.store.UpdateUser(r.Context(), a.User.ID, patch)
	if err != nil {
		return nil, err
	}
	obj := "user:" + itoa(a.User.ID)
	if before, after := userChanges(&a.User, u); len(after) > 0 {
		s.auditChange(r, viewerOf(r), "user.update", obj, "", before, after)
	}
	if access {
		s.auditChange(r, viewerOf(r), "user.access", obj, "roles "+joinIDs(u.RoleIDs)+"; groups "+joinIDs(u.GroupIDs),
			map[string]any{"roles": joinIDs(a.User.RoleIDs), "groups": joinIDs(a.User.GroupIDs)},
			map[string]any{"roles": joinIDs(u.RoleIDs), "groups": joinIDs(u.GroupIDs)})
	}
	if forwardChanged(patch) {
		s.auditChange(r, viewerOf(r), "user.forwarding", obj, forwardSummary(u.Forward),
			map[string]any{"forwarding": forwardSummary(a.User.Forward)}, map[string]any{"forwarding": forwardSummary(u.Forward)})
	}
	return u, nil
}

// userAccess sets a user's roles (authz.CanAssignRoles) and groups
// (groups.manage).
func (s *Server) userAccess(w http.ResponseWriter, r *http.Request) {
	a, err := s.loadUser(r, authz.UsersManage)
	if err == nil {
		err = parseForm(w, r)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	roleIDs, groupIDs := idList(r.PostForm["role"]), idList(r.PostForm["group"])
	s.saveUser(w, r, a, directory.UserPatch{RoleIDs: &roleIDs, GroupIDs: &groupIDs})
}

// userChanges returns the account fields that differ between old and new,
// for the audit entry's before and after.
func userChanges(old, new *directory.User) (before, after map[string]any) {
	before, after = map[string]any{}, map[string]any{}
	for _, f := range []struct {
		name     string
		was, now string
	}{{"name", old.Name, new.Name}, {"email", old.Email, new.Email}, {"mobile", old.Mobile, new.Mobile},
		{"caller_id", old.CallerID, new.CallerID}, {"notes", old.Notes, new.Notes}, {"language", old.Language, new.Language},
		{"time_zone", old.TimeZone, new.TimeZone}} {
		if f.was != f.now {
			before[f.name], after[f.name] = f.was, f.now
		}
	}
	if old.HideNumber != new.HideNumber {
		before["hide_number"], after["hide_number"] = old.HideNumber, new.HideNumber
	}
	return before, after
}

func sameIDs(a, b []int64) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(slices.Compact(a), slices.Compact(b))
}

func joinIDs(ids []int64) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = itoa(id)
	}
	return strings.Join(parts, ",")
}
