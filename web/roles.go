package web

import (
	"net/http"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
)

type roleRow struct {
	directory.Role
	Members int
}

func (s *Server) roleList(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	roles, err := s.store.Roles(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rows := make([]roleRow, len(roles))
	for i, ro := range roles {
		m, err := s.store.RoleMembers(ctx, ro.ID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		rows[i] = roleRow{Role: ro, Members: len(m)}
	}
	p := s.page(r, "roles.title")
	p.Data = rows
	s.render(w, r, http.StatusOK, "roles.html", p)
}

// matrixRow is one permission of the roles matrix: every scope it allows,
// and the one the role gives.
type matrixRow struct {
	Info  authz.PermissionInfo
	Value string
	Pad   []struct{} // empty cells after the scopes, so rows line up
}

type rolePage struct {
	Role    directory.Role
	New     bool
	Matrix  []matrixRow
	Members int
	Errors  map[string]string
}

func (s *Server) renderRole(w http.ResponseWriter, r *http.Request, status int, ro directory.Role, isNew bool,
	errs map[string]string) {
	rp := rolePage{Role: ro, New: isNew, Errors: errs}
	for _, info := range authz.Catalog() {
		v := ro.Perms[string(info.Permission)]
		if v == "" {
			v = "none"
		}
		rp.Matrix = append(rp.Matrix, matrixRow{Info: info, Value: v, Pad: make([]struct{}, 4-min(4, len(info.Scopes)))})
	}
	if !isNew {
		m, err := s.store.RoleMembers(r.Context(), ro.ID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		rp.Members = len(m)
	}
	title := "roles.edit.title"
	if isNew {
		title = "roles.new.title"
	}
	p := s.page(r, title)
	p.Data = rp
	s.render(w, r, status, "role.html", p)
}

func (s *Server) roleNew(w http.ResponseWriter, r *http.Request) {
	s.renderRole(w, r, http.StatusOK, directory.Role{Perms: map[string]string{}}, true, nil)
}

func (s *Server) roleShow(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r)
	var ro *directory.Role
	if err == nil {
		ro, err = s.store.Role(r.Context(), id)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderRole(w, r, http.StatusOK, *ro, false, nil)
}

// permsFromForm reads the matrix: a field perm.<name> per permission.
func permsFromForm(r *http.Request) map[string]string {
	perms := map[string]string{}
	for _, info := range authz.Catalog() {
		if v := r.PostFormValue("perm." + string(info.Permission)); v != "" && v != "none" {
			perms[string(info.Permission)] = v
		}
	}
	return perms
}

func (s *Server) roleCreate(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.fail(w, r, err)
		return
	}
	ro := directory.Role{Name: r.PostFormValue("name"), Perms: permsFromForm(r)}
	err := s.createRole(r, &ro)
	if fe := formErrors(err); fe != nil {
		s.renderRole(w, r, http.StatusBadRequest, ro, true, fe)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	done(w, r, "/roles/"+itoa(ro.ID), "created")
}

// roleUpdate changes a role. With apply=keep, the members keep what they
// have now: authz.KeepMembers computes the overrides that pin their present
// scopes and the store writes them with the change.
func (s *Server) roleUpdate(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r)
	var old *directory.Role
	if err == nil {
		old, err = s.store.Role(r.Context(), id)
	}
	if err == nil {
		err = parseForm(w, r)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ro := directory.Role{ID: id, Name: r.PostFormValue("name"), Perms: permsFromForm(r)}
	err = s.updateRole(r, old, &ro, r.PostFormValue("apply") == "keep")
	if fe := formErrors(err); fe != nil {
		s.renderRole(w, r, http.StatusBadRequest, ro, false, fe)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	done(w, r, "/roles/"+itoa(id), "saved")
}

// createRole validates and stores a new role, for the form and the API
// alike: authz.CanEditRole keeps every scope within the viewer's own.
func (s *Server) createRole(r *http.Request, ro *directory.Role) error {
	err := ro.Validate()
	if err == nil {
		err = authz.CanEditRole(subject(r), nil, ro.Perms)
	}
	if err == nil {
		err = s.store.CreateRole(r.Context(), ro)
	}
	if err != nil {
		return err
	}
	s.audit(r, viewerOf(r), "role.create", "role:"+itoa(ro.ID), ro.Name+" "+overridesDetail(ro.Perms))
	return nil
}

// updateRole gives the role old the name and permissions of ro, for the
// form and the API alike; a built-in keeps its name. With keep the members
// keep what they have now: authz.KeepMembers computes the overrides that
// pin their present scopes and the store writes them with the change.
func (s *Server) updateRole(r *http.Request, old, ro *directory.Role, keep bool) error {
	ro.ID, ro.Builtin = old.ID, old.Builtin
	if old.Builtin != "" {
		ro.Name = old.Name
	}
	err := ro.Validate()
	if err == nil {
		err = authz.CanEditRole(subject(r), old, ro.Perms)
	}
	var kept map[int64]map[string]string
	if err == nil && keep {
		kept, err = s.keepMembers(r, ro.ID, ro.Perms)
	}
	if err == nil {
		err = s.store.UpdateRole(r.Context(), ro, kept)
	}
	if err != nil {
		return err
	}
	detail := overridesDetail(ro.Perms)
	if kept != nil {
		detail += "; members kept as they were"
	}
	b, a := changedFields(map[string]any{"name": old.Name, "permissions": overridesDetail(old.Perms)},
		map[string]any{"name": ro.Name, "permissions": overridesDetail(ro.Perms)})
	s.auditChange(r, viewerOf(r), "role.update", "role:"+itoa(ro.ID), detail, b, a)
	return nil
}

func (s *Server) keepMembers(r *http.Request, roleID int64, perms map[string]string) (map[int64]map[string]string, error) {
	ids, err := s.store.RoleMembers(r.Context(), roleID)
	if err != nil {
		return nil, err
	}
	members := make([]*authz.Subject, 0, len(ids))
	for _, id := range ids {
		a, err := s.store.Access(r.Context(), id)
		if err != nil {
			return nil, err
		}
		members = append(members, authz.NewSubject(a))
	}
	return authz.KeepMembers(members, perms, roleID), nil
}

func (s *Server) roleDelete(w http.ResponseWriter, r *http.Request) {
	if err := s.deleteRole(r); err != nil {
		s.fail(w, r, err)
		return
	}
	done(w, r, "/roles", "deleted")
}

// deleteRole deletes the route's role if the viewer may edit it; the store
// refuses built-ins, the default role and roles someone holds.
func (s *Server) deleteRole(r *http.Request) error {
	id, err := idParam(r)
	var ro *directory.Role
	if err == nil {
		ro, err = s.store.Role(r.Context(), id)
	}
	if err == nil {
		err = authz.CanEditRole(subject(r), ro, ro.Perms)
	}
	if err == nil {
		err = s.store.DeleteRole(r.Context(), id)
	}
	if err != nil {
		return err
	}
	s.audit(r, viewerOf(r), "role.delete", "role:"+itoa(id), ro.Name)
	return nil
}
