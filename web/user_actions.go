package web

import (
	"net/http"
	"slices"
	"strings"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
)

// What an administrator does to one user besides editing the profile:
// permission overrides, password resets, blocking and deleting.

// userOverrides replaces the user's permission overrides (seeds 002, 003):
// a field perm.<name> holding a scope sets one, an empty field leaves the
// permission to the roles.
func (s *Server) userOverrides(w http.ResponseWriter, r *http.Request) {
	s.setOverrides(w, r, false)
}

// userOverridesReset is "reset to role": every override cleared.
func (s *Server) userOverridesReset(w http.ResponseWriter, r *http.Request) {
	s.setOverrides(w, r, true)
}

func (s *Server) setOverrides(w http.ResponseWriter, r *http.Request, reset bool) {
	a, err := s.loadUser(r, authz.UsersManage)
	if err == nil {
		err = parseForm(w, r)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	perms := map[string]string{}
	if !reset {
		for _, info := range authz.Catalog() {
			if v := r.PostFormValue("perm." + string(info.Permission)); v != "" {
				perms[string(info.Permission)] = v
			}
		}
	}
	err = s.setUserOverrides(r, a, perms)
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

// setUserOverrides replaces a's overrides with perms, for the form and the
// API alike; an empty perms is "reset to role". authz.CanSetOverrides keeps
// every changed scope within the viewer's own.
func (s *Server) setUserOverrides(r *http.Request, a *directory.Access, perms map[string]string) error {
	err := forbidden(authz.CanSetOverrides(subject(r), a, perms))
	if err == nil {
		err = s.store.SetOverrides(r.Context(), a.User.ID, perms)
	}
	if err != nil {
		return err
	}
	action := "user.overrides"
	if len(perms) == 0 {
		action = "user.overrides.reset"
	}
	s.auditChange(r, viewerOf(r), action, "user:"+itoa(a.User.ID), overridesDetail(perms),
		map[string]any{"overrides": overridesDetail(a.Overrides)}, map[string]any{"overrides": overridesDetail(perms)})
	return nil
}

func overridesDetail(perms map[string]string) string {
	keys := make([]string, 0, len(perms))
	for k := range perms {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		keys[i] = k + "=" + perms[k]
	}
	return strings.Join(keys, " ")
}

// userResetPassword gives the user a new generated web password, shown
// once, and signs them out everywhere.
func (s *Server) userResetPassword(w http.ResponseWriter, r *http.Request) {
	a, err := s.loadUser(r, authz.UsersManage)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pw := directory.GeneratePassword(16)
	hash, err := directory.HashPassword(pw)
	if err == nil {
		err = s.store.SetPasswordHash(r.Context(), a.User.ID, hash)
	}
	if err == nil && a.User.ID != viewerOf(r).user().ID {
		err = s.store.DeleteUserSessions(r.Context(), a.User.ID)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.auditChange(r, viewerOf(r), "user.password.reset", "user:"+itoa(a.User.ID), "",
		map[string]any{"password": directory.Redacted}, map[string]any{"password": directory.Redacted})
	s.renderUser(w, r, http.StatusOK, a, nil, string(pw), "users.secret.password")
}

// userResetExtPassword generates a new extension password, shown once; the
// store keeps only its digests.
func (s *Server) userResetExtPassword(w http.ResponseWriter, r *http.Request) {
	a, err := s.loadUser(r, authz.UsersManage)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	pw, err := s.newExtPassword(r, a)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderUser(w, r, http.StatusOK, a, nil, string(pw), "users.secret.ext_password")
}

// newExtPassword gives a's extension a new generated password, for the page
// and the API alike; the caller shows it once.
func (s *Server) newExtPassword(r *http.Request, a *directory.Access) (directory.Password, error) {
	realm, err := s.store.Setting(r.Context(), directory.SettingDomain)
	pw := directory.GeneratePassword(16)
	if err == nil {
		err = s.store.SetSIPSecret(r.Context(), a.User.ID, directory.NewSIPSecret(a.User.Extension, realm, pw))
	}
	if err != nil {
		return "", err
	}
	s.auditChange(r, viewerOf(r), "user.ext_password.reset", "user:"+itoa(a.User.ID), "",
		map[string]any{"ext_password": directory.Redacted}, map[string]any{"ext_password": directory.Redacted})
	return pw, nil
}

func (s *Server) userBlock(w http.ResponseWriter, r *http.Request) {
	s.setState(w, r, directory.UserBlocked, "user.block", "blocked")
}

func (s *Server) userUnblock(w http.ResponseWriter, r *http.Request) {
	s.setState(w, r, directory.UserActive, "user.unblock", "unblocked")
}

func (s *Server) userDelete(w http.ResponseWriter, r *http.Request) {
	s.setState(w, r, directory.UserDeleted, "user.delete", "deleted")
}

// setState blocks, unblocks or deletes an account. The route needs
// users.create; the account must be one the viewer sees and
// whose access they may change (not their own, an owner only by an owner:
// authz.CanAssignRoles with the roles unchanged asks exactly that).
func (s *Server) setState(w http.ResponseWriter, r *http.Request, st directory.UserState, action, what string) {
	a, err := s.changeUserState(r, st, action)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	to := "/users/" + itoa(a.User.ID)
	if st == directory.UserDeleted {
		to = "/users"
	}
	done(w, r, to, what)
}

// changeUserState is setState's work, shared with the API: it loads the
// route's user, asks authz, changes the state, ends the sessions of a
// blocked or deleted account and writes the audit entry.
func (s *Server) changeUserState(r *http.Request, st directory.UserState, action string) (*directory.Access, error) {
	a, err := s.loadUser(r, authz.UsersView)
	if err == nil {
		err = forbidden(authz.CanManageUser(subject(r), authz.UsersCreate, a))
	}
	if err == nil {
		err = forbidden(authz.CanAssignRoles(subject(r), a, a.Roles))
	}
	if err == nil {
		err = s.store.SetUserState(r.Context(), a.User.ID, st)
	}
	if err == nil && st != directory.UserActive {
		err = s.store.DeleteUserSessions(r.Context(), a.User.ID)
	}
	if err != nil {
		return nil, err
	}
	s.auditChange(r, viewerOf(r), action, "user:"+itoa(a.User.ID), a.User.Email,
		map[string]any{"state": string(a.User.State)}, map[string]any{"state": string(st)})
	return a, nil
}
