package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/switchboard-pbx/switchboard/directory"
)

// treeGroup is a group in tree order with its depth, for indented lists.
type treeGroup struct {
	directory.Group
	Depth   int
	Members int
}

// groupTree orders groups depth-first, children under their parent.
func groupTree(groups []directory.Group) []treeGroup {
	children := map[int64][]directory.Group{}
	ids := map[int64]bool{}
	for _, g := range groups {
		ids[g.ID] = true
	}
	var roots []directory.Group
	for _, g := range groups {
		if g.ParentID == 0 || !ids[g.ParentID] {
			roots = append(roots, g)
		} else {
			children[g.ParentID] = append(children[g.ParentID], g)
		}
	}
	var out []treeGroup
	seen := map[int64]bool{}
	var walk func(g directory.Group, depth int)
	walk = func(g directory.Group, depth int) {
		if seen[g.ID] {
			return
		}
		seen[g.ID] = true
		out = append(out, treeGroup{Group: g, Depth: depth})
		for _, c := range children[g.ID] {
			walk(c, depth+1)
		}
	}
	for _, g := range roots {
		walk(g, 0)
	}
	return out
}

// Indent is the left padding of the group in a tree list.
// DepthClass is the CSS class that indents the group under its parent
// (depth-0 … depth-8, deeper ones as 8). A class, not an inline style: the
// page's Content-Security-Policy allows no inline styles.
func (g treeGroup) DepthClass() string { return "depth-" + strconv.Itoa(min(g.Depth, 8)) }

type groupsPage struct {
	Groups []treeGroup
	Form   directory.Group
	Edit   bool
	Users  []directory.User // members of the group being edited
	Errors map[string]string
}

func (s *Server) groupList(w http.ResponseWriter, r *http.Request) {
	s.renderGroups(w, r, http.StatusOK, nil, directory.Group{}, nil)
}

func (s *Server) renderGroups(w http.ResponseWriter, r *http.Request, status int, edit *directory.Group,
	form directory.Group, errs map[string]string) {
	ctx := r.Context()
	groups, err := s.store.Groups(ctx)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	tree := groupTree(groups)
	for i := range tree {
		m, err := s.store.GroupMembers(ctx, tree[i].ID)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		tree[i].Members = len(m)
	}
	gp := groupsPage{Groups: tree, Form: form, Errors: errs}
	title := "groups.title"
	if edit != nil {
		gp.Edit, title = true, "groups.edit.title"
		if errs == nil {
			gp.Form = *edit
		}
		ids, err := s.store.GroupMembers(ctx, edit.ID)
		if err == nil && len(ids) > 0 {
			gp.Users, err = s.store.Users(ctx, directory.UserFilter{GroupID: edit.ID,
				Vis: directory.Visibility{All: true}, Page: directory.Page{Size: 500}})
		}
		if err != nil {
			s.fail(w, r, err)
			return
		}
	}
	p := s.page(r, title)
	p.Data = gp
	s.render(w, r, status, "groups.html", p)
}

func groupFromForm(r *http.Request) directory.Group {
	parent, _ := strconv.ParseInt(r.PostFormValue("parent"), 10, 64)
	return directory.Group{Name: r.PostFormValue("name"), ParentID: parent,
		Extension: strings.TrimSpace(r.PostFormValue("extension")), Prefix: strings.TrimSpace(r.PostFormValue("prefix"))}
}

func (s *Server) groupCreate(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.fail(w, r, err)
		return
	}
	g := groupFromForm(r)
	err := s.saveGroup(r, &g, true)
	if fe := formErrors(err); fe != nil {
		s.renderGroups(w, r, http.StatusBadRequest, nil, g, fe)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	done(w, r, "/groups", "created")
}

func (s *Server) groupShow(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r)
	var g *directory.Group
	if err == nil {
		g, err = s.store.Group(r.Context(), id)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.renderGroups(w, r, http.StatusOK, g, directory.Group{}, nil)
}

func (s *Server) groupUpdate(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r)
	var old *directory.Group
	if err == nil {
		old, err = s.store.Group(r.Context(), id)
	}
	if err == nil {
		err = parseForm(w, r)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	g := groupFromForm(r)
	g.ID, g.Default = id, old.Default
	err = s.saveGroup(r, &g, false)
	if fe := formErrors(err); fe != nil {
		s.renderGroups(w, r, http.StatusBadRequest, old, g, fe)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	done(w, r, "/groups/"+itoa(id), "saved")
}

func (s *Server) groupDelete(w http.ResponseWriter, r *http.Request) {
	if err := s.deleteGroup(r); err != nil {
		s.fail(w, r, err)
		return
	}
	done(w, r, "/groups", "deleted")
}

// saveGroup validates and stores a new or changed group, for the form and
// the API alike (the routes asked for groups.manage).
func (s *Server) saveGroup(r *http.Request, g *directory.Group, isNew bool) error {
	err := g.Validate()
	action := "group.update"
	var old *directory.Group
	if err == nil && isNew {
		action = "group.create"
		err = s.store.CreateGroup(r.Context(), g)
	} else if err == nil {
		if old, err = s.store.Group(r.Context(), g.ID); err == nil {
			err = s.store.UpdateGroup(r.Context(), g)
		}
	}
	if err != nil {
		return err
	}
	var before map[string]any
	if old != nil {
		before = groupFields(old)
	}
	b, a := changedFields(before, groupFields(g))
	s.auditChange(r, viewerOf(r), action, "group:"+itoa(g.ID), g.Name, b, a)
	return nil
}

// groupFields are a group's audited fields.
func groupFields(g *directory.Group) map[string]any {
	return map[string]any{"name": g.Name, "parent_id": g.ParentID, "extension": g.Extension, "prefix": g.Prefix}
}

// deleteGroup deletes the route's group; the store refuses one with
// members or subgroups, and the default group.
func (s *Server) deleteGroup(r *http.Request) error {
	id, err := idParam(r)
	if err == nil {
		err = s.store.DeleteGroup(r.Context(), id)
	}
	if err != nil {
		return err
	}
	s.audit(r, viewerOf(r), "group.delete", "group:"+itoa(id), "")
	return nil
}
