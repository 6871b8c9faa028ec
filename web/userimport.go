package web

import (
	"bytes"
	"encoding/csv"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
)

// maxImportSize bounds an uploaded import file (and the preview form that
// carries it back): some 50,000 users.
const maxImportSize = 8 << 20

// importPage is the import form, its preview and its result.
type importPage struct {
	Step     string // "upload", "preview", "done"
	FileName string
	CSV      string // the file, carried from the preview to the commit
	Rows     []importRowView
	Problems []importProblem
	More     bool // more problems than listed
	Created  []*directory.User
}

type importRowView struct {
	Line                           int
	Name, Email, Extension, Mobile string
	Roles, Groups                  string
	WebPassword                    bool
}

type importProblem struct {
	Line          int
	Column, Issue string
}

func (s *Server) userImportForm(w http.ResponseWriter, r *http.Request) {
	p := s.page(r, "users.import.title")
	p.Data = importPage{Step: "upload"}
	s.render(w, r, http.StatusOK, "users_import.html", p)
}

// userImportPreview reads the uploaded file and shows what an import would
// do, or every problem by line and column; nothing is stored.
func (s *Server) userImportPreview(w http.ResponseWriter, r *http.Request) {
	f, hdr, err := r.FormFile("file")
	if err != nil {
		s.renderImport(w, r, http.StatusBadRequest, importPage{Step: "upload",
			Problems: []importProblem{{Column: "file", Issue: s.page(r, "").T("users.import.nofile")}}})
		return
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxImportSize+1))
	if err == nil && len(data) > maxImportSize {
		err = &directory.InvalidError{Field: "file", Rule: "is larger than 8 MiB; split it into several files"}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.previewImport(w, r, hdr.Filename, string(data))
}

func (s *Server) previewImport(w http.ResponseWriter, r *http.Request, name, data string) {
	rows, err := s.checkImport(r, data)
	pg := importPage{Step: "preview", FileName: name, CSV: data}
	if fillProblems(&pg, err) {
		s.renderImport(w, r, http.StatusBadRequest, pg)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	roles, groups, err := s.rolesAndGroups(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	p := s.page(r, "")
	for _, row := range rows {
		v := importRowView{Line: row.Line, Name: row.User.Name, Email: row.User.Email, Extension: row.User.Extension,
			Mobile: row.User.Mobile, WebPassword: row.User.Password != ""}
		v.Roles = joinNames(row.User.RoleIDs, func(id int64) string { return p.RoleName(roles[id].Builtin, roles[id].Name) })
		v.Groups = joinNames(row.User.GroupIDs, func(id int64) string { return groups[id] })
		pg.Rows = append(pg.Rows, v)
	}
	s.renderImport(w, r, http.StatusOK, pg)
}

// userImportCommit stores every user of the previewed file, or none.
func (s *Server) userImportCommit(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.fail(w, r, &directory.InvalidError{Field: "form", Rule: "could not be read"})
		return
	}
	data, name := r.PostFormValue("csv"), r.PostFormValue("name")
	users, err := s.importUsers(r, data, name)
	pg := importPage{Step: "preview", FileName: name, CSV: data}
	if fillProblems(&pg, err) {
		s.renderImport(w, r, http.StatusBadRequest, pg)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderImport(w, r, http.StatusOK, importPage{Step: "done", FileName: name, Created: users})
}

// checkImport is directory.CheckImport plus what the viewer may grant:
// each row's roles (the default role when it names none) must pass
// authz.CanAssignRoles for a new account, as on the new-user form.
func (s *Server) checkImport(r *http.Request, data string) ([]directory.ImportRow, error) {
	rows, err := directory.CheckImport(r.Context(), s.store, strings.NewReader(data), directory.DefaultPasswordPolicy)
	if err != nil {
		return nil, err
	}
	all, err := s.store.Roles(r.Context())
	if err != nil {
		return nil, err
	}
	def, err := s.store.Setting(r.Context(), directory.SettingDefaultRole)
	if err != nil {
		return nil, err
	}
	var denied []*directory.LineError
	for i := range rows {
		ids := rows[i].User.RoleIDs
		if len(ids) == 0 {
			ids = idList([]string{def})
			rows[i].User.RoleIDs = ids
		}
		var roles []directory.Role
		for _, x := range all {
			for _, id := range ids {
				if x.ID == id {
					roles = append(roles, x)
				}
			}
		}
		if err := authz.CanAssignRoles(subject(r), &directory.Access{}, roles); err != nil {
			denied = append(denied, &directory.LineError{Line: rows[i].Line,
				Err: &directory.InvalidError{Field: "role", Rule: err.Error()}})
		}
	}
	if err := directory.AddImportErrors(nil, denied...); err != nil {
		return nil, err
	}
	return rows, nil
}

// importUsers checks the file as the preview did and stores its users in
// one transaction, audited; the same for the page and the API.
func (s *Server) importUsers(r *http.Request, data, name string) ([]*directory.User, error) {
	if _, err := s.checkImport(r, data); err != nil {
		return nil, err
	}
	users, err := directory.ImportUsers(r.Context(), s.store, strings.NewReader(data), directory.DefaultPasswordPolicy)
	if err != nil {
		return nil, err
	}
	detail := itoa(int64(len(users))) + " users"
	if name != "" {
		detail += " from " + truncate(name, 100)
	}
	s.audit(r, viewerOf(r), "user.import", "users", detail)
	return users, nil
}

// fillProblems copies the problems of an *ImportError into pg and reports
// whether there were any.
func fillProblems(pg *importPage, err error) bool {
	var ie *directory.ImportError
	if !errors.As(err, &ie) {
		return false
	}
	for _, l := range ie.Lines {
		pr := importProblem{Line: l.Line, Issue: l.Err.Error()}
		var inv *directory.InvalidError
		var con *directory.ConflictError
		switch {
		case errors.As(l.Err, &inv):
			pr.Column, pr.Issue = inv.Field, inv.Rule
		case errors.As(l.Err, &con):
			pr.Column, pr.Issue = con.Field, con.Rule
		}
		pg.Problems = append(pg.Problems, pr)
	}
	pg.More = ie.More
	return true
}

func (s *Server) renderImport(w http.ResponseWriter, r *http.Request, status int, pg importPage) {
	p := s.page(r, "users.import.title")
	p.Data = pg
	s.render(w, r, status, "users_import.html", p)
}

// rolesAndGroups maps IDs to roles and group names.
func (s *Server) rolesAndGroups(r *http.Request) (map[int64]directory.Role, map[int64]string, error) {
	rs, err := s.store.Roles(r.Context())
	if err != nil {
		return nil, nil, err
	}
	gs, err := s.store.Groups(r.Context())
	if err != nil {
		return nil, nil, err
	}
	roles := make(map[int64]directory.Role, len(rs))
	for _, x := range rs {
		roles[x.ID] = x
	}
	groups := make(map[int64]string, len(gs))
	for _, g := range gs {
		groups[g.ID] = g.Name
	}
	return roles, groups, nil
}

func joinNames(ids []int64, name func(int64) string) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = name(id)
	}
	return strings.Join(parts, "; ")
}

// userExport writes the users the viewer may see as CSV, in the columns
// an import reads (name, email, extension, mobile, role, group; roles and
// groups by name, several separated by ";") and never a password: to
// import the file elsewhere, add an ext_password column. Cells are
// formula-neutralised (csvCell). Audited.
func (s *Server) userExport(w http.ResponseWriter, r *http.Request) {
	f := directory.UserFilter{Vis: authz.Visibility(subject(r), authz.UsersView), Page: directory.Page{Number: 1, Size: 500}}
	roles, groups, err := s.rolesAndGroups(r)
	var users []directory.User
	if err == nil {
		users, err = s.store.Users(r.Context(), f)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	_ = cw.Write([]string{"name", "email", "extension", "mobile", "role", "group"})
	n := 0
	for len(users) > 0 {
		for _, u := range users {
			_ = cw.Write([]string{csvCell(u.Name), csvCell(u.Email), csvCell(u.Extension), csvCell(u.Mobile),
				csvCell(joinNames(u.RoleIDs, func(id int64) string { return roles[id].Name })),
				csvCell(joinNames(u.GroupIDs, func(id int64) string { return groups[id] }))})
		}
		n += len(users)
		if len(users) < f.Page.Size {
			break
		}
		f.Page.Number++
		ctx, cancel := s.moreTime(r)
		users, err = s.store.Users(ctx, f)
		cancel()
		if err != nil {
			s.fail(w, r, err)
			return
		}
	}
	cw.Flush()
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="users.csv"`)
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(buf.Bytes())
	s.audit(r, viewerOf(r), "users.export", "users", itoa(int64(n))+" rows")
}
