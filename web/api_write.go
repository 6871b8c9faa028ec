package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
)

// The API's changes go through the same functions as the forms (createUser,
// updateUser, saveGroup, ...): the same store calls, the same authz
// questions, the same audit entries. The handlers here only read JSON and
// write JSON.

// maxJSONSize bounds an API request body.
const maxJSONSize = 64 << 10

// readJSON decodes the body into v: one JSON value of at most maxJSONSize
// bytes, no field v does not know. A mistake is a *directory.InvalidError
// naming the field, so it answers 400 with field messages like a form.
func readJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if !isJSON(r) {
		return errMediaType
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONSize))
	if err == nil {
		var key string
		if key, err = duplicateKey(body); err == nil && key != "" {
			return &directory.InvalidError{Field: key, Rule: "appears more than once"}
		}
	}
	var dec *json.Decoder
	if err == nil {
		dec = json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		err = dec.Decode(v)
	}
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			err = errors.New("trailing data")
		}
	}
	if err == nil {
		return nil
	}
	var te *json.UnmarshalTypeError
	var me *http.MaxBytesError
	switch {
	case errors.As(err, &me):
		return &directory.InvalidError{Field: "body", Rule: "must be at most 64 KiB"}
	case errors.As(err, &te) && te.Field != "":
		return &directory.InvalidError{Field: te.Field, Rule: "must be " + jsonKind(te.Type)}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &directory.InvalidError{Field: name, Rule: "is not a known field"}
	}
	return &directory.InvalidError{Field: "body", Rule: "must be one JSON object"}
}

// errMediaType is a request body that is not application/json: 415.
var errMediaType = errors.New("the request body must be application/json")

// isJSON reports whether r's Content-Type is application/json (any
// parameters, such as charset, allowed).
func isJSON(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/json"
}

// jsonBodies answers 415 to an API request that carries a body in anything
// but JSON, before the handler runs: a form or text posted to the API is a
// mistake or a cross-site trick, never a change.
func jsonBodies(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength != 0 && r.Body != nil && r.Body != http.NoBody && !isJSON(r) {
			writeJSON(w, http.StatusUnsupportedMediaType, map[string]apiError{"error": {Code: "unsupported_media_type",
				Message: errMediaType.Error()}})
			return
		}
		next.ServeHTTP(w, r)
	})
}

// duplicateKey returns the first key that appears twice in one object of
// the JSON text b (compared as encoding/json matches fields: ignoring
// case), or "". encoding/json would silently keep the last one, so that
// two readers of one request could disagree on what it asked.
func duplicateKey(b []byte) (string, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	type frame struct {
		keys  map[string]bool
		isObj bool
		key   bool // the next string token is a key
	}
	var stack []*frame
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return "", nil
		}
		if err != nil {
			return "", err
		}
		var top *frame
		if len(stack) > 0 {
			top = stack[len(stack)-1]
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{', '[':
				if top != nil && top.isObj {
					top.key = true // this value done once it closes
				}
				stack = append(stack, &frame{keys: map[string]bool{}, isObj: t == '{', key: t == '{'})
				continue
			case '}', ']':
				stack = stack[:len(stack)-1]
				continue
			}
		case string:
			if top != nil && top.isObj && top.key {
				k := strings.ToLower(t)
				if top.keys[k] {
					return t, nil
				}
				top.keys[k] = true
				top.key = false
				continue
			}
		}
		if top != nil && top.isObj {
			top.key = true
		}
	}
}

func jsonKind(t reflect.Type) string {
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int64, reflect.Uint, reflect.Uint64, reflect.Float64:
		return "a number"
	case reflect.Slice:
		return "a list"
	}
	return "an object"
}

// apiDelete answers 204 when del, one of the functions the delete forms
// use too, succeeds.
func (s *Server) apiDelete(del func(*http.Request) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := del(r); err != nil {
			s.fail(w, r, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// created answers 201 with the new object and where it lives.
func created(w http.ResponseWriter, location string, v any) {
	w.Header().Set("Location", location)
	writeJSON(w, http.StatusCreated, v)
}

func trimmed(p *string) *string {
	if p != nil {
		*p = strings.TrimSpace(*p)
	}
	return p
}

// --- users

type userCreateJSON struct {
	Name        string  `json:"name"`
	Email       string  `json:"email"`
	Extension   string  `json:"extension"`
	ExtPassword string  `json:"ext_password"` // empty: generated and answered once
	Password    string  `json:"password"`     // empty: none yet (a reset gives one)
	Mobile      string  `json:"mobile"`
	CallerID    string  `json:"caller_id"`
	HideNumber  bool    `json:"hide_number"`
	Notes       string  `json:"notes"`
	Language    string  `json:"language"`
	RoleIDs     []int64 `json:"role_ids"` // empty: the default role
	GroupIDs    []int64 `json:"group_ids"`
}

// userPatchJSON is PATCH /users/{id}: absent fields are left as they are.
type userPatchJSON struct {
	Name       *string  `json:"name"`
	Email      *string  `json:"email"`
	Mobile     *string  `json:"mobile"`
	CallerID   *string  `json:"caller_id"`
	HideNumber *bool    `json:"hide_number"`
	Notes      *string  `json:"notes"`
	Language   *string  `json:"language"`
	TimeZone   *string  `json:"time_zone"` // "": the company's
	RoleIDs    *[]int64 `json:"role_ids"`
	GroupIDs   *[]int64 `json:"group_ids"`
	// Call forwarding and DND; a target "" clears it.
	DND                *bool   `json:"dnd"`
	ForwardAlways      *string `json:"forward_always"`
	ForwardBusy        *string `json:"forward_busy"`
	ForwardNoAnswer    *string `json:"forward_no_answer"`
	ForwardOffline     *string `json:"forward_offline"`
	ForwardRingSeconds *int    `json:"forward_ring_seconds"` // 0: the PBX ring time
}

func (s *Server) apiUserCreate(w http.ResponseWriter, r *http.Request) {
	var in userCreateJSON
	if err := readJSON(w, r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	n := directory.NewUser{Name: in.Name, Email: in.Email, Password: directory.Password(in.Password),
		Extension: strings.TrimSpace(in.Extension), ExtPassword: directory.Password(in.ExtPassword),
		Mobile: strings.TrimSpace(in.Mobile), CallerID: strings.TrimSpace(in.CallerID), HideNumber: in.HideNumber, Notes: in.Notes,
		Language: in.Language, RoleIDs: in.RoleIDs, GroupIDs: in.GroupIDs}
	generated := n.ExtPassword == ""
	if generated {
		n.ExtPassword = directory.GeneratePassword(16)
	}
	u, err := s.createUser(r, n)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := struct {
		userJSON
		ExtPassword string `json:"ext_password,omitempty"`
	}{userJSON: toUserJSON(u)}
	if generated {
		out.ExtPassword = string(n.ExtPassword) // shown this once; the store keeps digests
	}
	created(w, "/api/v1/users/"+itoa(u.ID), out)
}

func (s *Server) apiUserUpdate(w http.ResponseWriter, r *http.Request) {
	a, err := s.loadUser(r, authz.UsersManage)
	var in userPatchJSON
	if err == nil {
		err = readJSON(w, r, &in)
	}
	var u *directory.User
	if err == nil {
		u, err = s.updateUser(r, a, directory.UserPatch{Name: in.Name, Email: in.Email, Mobile: trimmed(in.Mobile),
			CallerID: trimmed(in.CallerID), HideNumber: in.HideNumber, Notes: in.Notes, Language: in.Language, TimeZone: in.TimeZone,
			RoleIDs: in.RoleIDs, GroupIDs: in.GroupIDs, DND: in.DND, ForwardAlways: in.ForwardAlways,
			ForwardBusy: in.ForwardBusy, ForwardNoAnswer: in.ForwardNoAnswer, ForwardOffline: in.ForwardOffline,
			ForwardRingSeconds: in.ForwardRingSeconds})
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toUserJSON(u))
}

func (s *Server) apiUserBlock(w http.ResponseWriter, r *http.Request) {
	s.apiUserState(w, r, directory.UserBlocked, "user.block")
}

func (s *Server) apiUserUnblock(w http.ResponseWriter, r *http.Request) {
	s.apiUserState(w, r, directory.UserActive, "user.unblock")
}

func (s *Server) apiUserDelete(w http.ResponseWriter, r *http.Request) {
	s.apiUserState(w, r, directory.UserDeleted, "user.delete")
}

func (s *Server) apiUserState(w http.ResponseWriter, r *http.Request, st directory.UserState, action string) {
	a, err := s.changeUserState(r, st, action)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if st == directory.UserDeleted {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	a.User.State = st
	writeJSON(w, http.StatusOK, toUserJSON(&a.User))
}

// apiUserOverrides replaces the user's overrides with the body, a map of
// permission to scope; {} resets the user to their roles.
func (s *Server) apiUserOverrides(w http.ResponseWriter, r *http.Request) {
	a, err := s.loadUser(r, authz.UsersManage)
	var perms map[string]string
	if err == nil {
		err = readJSON(w, r, &perms)
	}
	if err == nil && perms == nil { // a JSON null
		err = &directory.InvalidError{Field: "body", Rule: "must be an object of permission to scope"}
	}
	if err == nil {
		err = s.setUserOverrides(r, a, perms)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"overrides": perms})
}

func (s *Server) apiUserExtPassword(w http.ResponseWriter, r *http.Request) {
	a, err := s.loadUser(r, authz.UsersManage)
	var pw directory.Password
	if err == nil {
		pw, err = s.newExtPassword(r, a)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"ext_password": string(pw)})
}

// --- groups

type groupBodyJSON struct {
	Name      *string `json:"name"`
	ParentID  *int64  `json:"parent_id"`
	Extension *string `json:"extension"`
	Prefix    *string `json:"prefix"`
}

// apply sets on g the fields the body has.
func (in *groupBodyJSON) apply(g *directory.Group) {
	if in.Name != nil {
		g.Name = *in.Name
	}
	if in.ParentID != nil {
		g.ParentID = *in.ParentID
	}
	if in.Extension != nil {
		g.Extension = strings.TrimSpace(*in.Extension)
	}
	if in.Prefix != nil {
		g.Prefix = strings.TrimSpace(*in.Prefix)
	}
}

func (s *Server) apiGroupCreate(w http.ResponseWriter, r *http.Request) {
	var in groupBodyJSON
	var g directory.Group
	err := readJSON(w, r, &in)
	if err == nil {
		in.apply(&g)
		err = s.saveGroup(r, &g, true)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	created(w, "/api/v1/groups/"+itoa(g.ID), toGroupJSON(&g))
}

func (s *Server) apiGroupUpdate(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r)
	var g *directory.Group
	if err == nil {
		g, err = s.store.Group(r.Context(), id)
	}
	var in groupBodyJSON
	if err == nil {
		err = readJSON(w, r, &in)
	}
	if err == nil {
		in.apply(g)
		err = s.saveGroup(r, g, false)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toGroupJSON(g))
}

func (s *Server) apiGroupMemberAdd(w http.ResponseWriter, r *http.Request) {
	s.apiGroupMember(w, r, true)
}

func (s *Server) apiGroupMemberRemove(w http.ResponseWriter, r *http.Request) {
	s.apiGroupMember(w, r, false)
}

// apiGroupMember puts a user into a group or takes them out. It is the
// user page's access form with one group more or less (updateUser): the
// user must be one the viewer manages and whose access they may change.
func (s *Server) apiGroupMember(w http.ResponseWriter, r *http.Request, add bool) {
	id, err := idParam(r)
	if err == nil {
		_, err = s.store.Group(r.Context(), id)
	}
	var uid int64
	if err == nil {
		uid, err = idParamNamed(r, "user_id")
	}
	var a *directory.Access
	if err == nil {
		a, err = s.loadUserID(r, uid, authz.UsersManage)
	}
	var u *directory.User
	if err == nil {
		ids := make([]int64, 0, len(a.User.GroupIDs)+1)
		for _, g := range a.User.GroupIDs {
			if g != id {
				ids = append(ids, g)
			}
		}
		if add {
			ids = append(ids, id)
		}
		u, err = s.updateUser(r, a, directory.UserPatch{GroupIDs: &ids})
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toUserJSON(u))
}

// --- roles

type roleCreateJSON struct {
	Name  string            `json:"name"`
	Perms map[string]string `json:"permissions"`
}

type rolePatchJSON struct {
	Name        *string           `json:"name"`
	Perms       map[string]string `json:"permissions"` // absent: unchanged; given: the whole set
	KeepMembers bool              `json:"keep_members"`
}

// scopedPerms drops "none", as the roles form does: an absent permission
// is none.
func scopedPerms(perms map[string]string) map[string]string {
	out := make(map[string]string, len(perms))
	for k, v := range perms {
		if v != "none" {
			out[k] = v
		}
	}
	return out
}

func (s *Server) apiRoleCreate(w http.ResponseWriter, r *http.Request) {
	var in roleCreateJSON
	var ro directory.Role
	err := readJSON(w, r, &in)
	if err == nil {
		ro = directory.Role{Name: in.Name, Perms: scopedPerms(in.Perms)}
		err = s.createRole(r, &ro)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	created(w, "/api/v1/roles/"+itoa(ro.ID), roleJSON{ro.ID, ro.Name, ro.Builtin, ro.Perms})
}

func (s *Server) apiRoleUpdate(w http.ResponseWriter, r *http.Request) {
	id, err := idParam(r)
	var old *directory.Role
	if err == nil {
		old, err = s.store.Role(r.Context(), id)
	}
	var in rolePatchJSON
	if err == nil {
		err = readJSON(w, r, &in)
	}
	var ro directory.Role
	if err == nil {
		ro = directory.Role{Name: old.Name, Perms: old.Perms}
		if in.Name != nil {
			ro.Name = *in.Name
		}
		if in.Perms != nil {
			ro.Perms = scopedPerms(in.Perms)
		}
		err = s.updateRole(r, old, &ro, in.KeepMembers)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, roleJSON{ro.ID, ro.Name, ro.Builtin, ro.Perms})
}

// --- contacts

type contactBodyJSON struct {
	Name       *string   `json:"name"`
	Company    *string   `json:"company"`
	Phones     *[]string `json:"phones"`
	Email      *string   `json:"email"`
	AssignedTo *int64    `json:"assigned_to"` // 0: nobody; absent on create: you
	Public     *bool     `json:"public"`
	Notes      *string   `json:"notes"`
}

// apply sets on c the fields the body has.
func (in *contactBodyJSON) apply(c *directory.Contact) {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = *src
		}
	}
	set(&c.Name, in.Name)
	set(&c.Company, in.Company)
	set(&c.Email, trimmed(in.Email))
	set(&c.Notes, in.Notes)
	if in.Phones != nil {
		c.Phones = *in.Phones
	}
	if in.AssignedTo != nil {
		c.AssignedTo = *in.AssignedTo
	}
	if in.Public != nil {
		c.Public = *in.Public
	}
}

func (s *Server) apiContactCreate(w http.ResponseWriter, r *http.Request) {
	var in contactBodyJSON
	me := viewerOf(r).user().ID
	c := directory.Contact{CreatedBy: me, AssignedTo: me}
	err := readJSON(w, r, &in)
	if err == nil {
		in.apply(&c)
		err = s.saveContact(r, &c, true)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	created(w, "/api/v1/contacts/"+itoa(c.ID), toContactJSON(&c))
}

func (s *Server) apiContactUpdate(w http.ResponseWriter, r *http.Request) {
	c, err := s.loadContact(r, authz.ContactsManage)
	var in contactBodyJSON
	if err == nil {
		err = readJSON(w, r, &in)
	}
	if err == nil {
		in.apply(c)
		err = s.saveContact(r, c, false)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toContactJSON(c))
}
