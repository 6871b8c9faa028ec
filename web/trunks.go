package web

import (
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// TrunkStatus is the state of the PBX's registration to the carrier of a
// trunk, shown next to it on the settings page.
type TrunkStatus struct {
	Trunk   string
	State   string // "registering", "registered", "failed"
	Expires time.Time
	Error   string
}

// TrunkLive is offered by a Live that also knows the registrations to
// carriers; the settings page shows them when it does.
type TrunkLive interface {
	TrunkRegistrations() []TrunkStatus
}

// trunkRow is a trunk as the settings page shows it: never its password.
type trunkRow struct {
	directory.TrunkSetting
	Status *TrunkStatus
	Live   bool // the registration states are known
	Edit   trunkEdit
}

// trunkEdit is what the trunk form template needs: the page for its
// messages, the values and the mistakes.
type trunkEdit struct {
	P    *page
	ID   string // prefix of the inputs' ids
	Form trunkForm
	Open bool // shown unfolded: it holds a mistake
}

// trunkEdits fills the edit form of each row and the add form; typed is
// the form sent back after a mistake.
func trunkEdits(p *page, rows []trunkRow, typed *trunkForm) trunkEdit {
	for i := range rows {
		t := rows[i].TrunkSetting
		e := trunkEdit{P: p, ID: "trunk" + strconv.Itoa(i), Form: trunkForm{Original: t.Name, TrunkSetting: t}}
		if typed != nil && typed.Original == t.Name {
			e.Form, e.Open = *typed, true
			e.Form.PasswordSet = t.PasswordSet
		}
		rows[i].Edit = e
	}
	add := trunkEdit{P: p, ID: "trunk-new"}
	if typed != nil && typed.Original == "" {
		add.Form, add.Open = *typed, true
	}
	return add
}

// trunkForm is the add or edit form of a trunk typed back after a mistake.
type trunkForm struct {
	Original string // the trunk edited, "" for a new one
	directory.TrunkSetting
	Errors map[string]string
}

// trunkRows returns the stored trunks without their passwords, with the
// registration state of each when known.
func (s *Server) trunkRows(value string) []trunkRow {
	ts, err := directory.ParseTrunks(value)
	if err != nil {
		return nil
	}
	var status []TrunkStatus
	tl, live := s.live.(TrunkLive)
	if live {
		status = tl.TrunkRegistrations()
	}
	rows := make([]trunkRow, 0, len(ts))
	for _, t := range ts {
		t.PasswordSet, t.Password = t.Password != "", ""
		row := trunkRow{TrunkSetting: t, Live: live}
		for i := range status {
			if status[i].Trunk == t.Name {
				row.Status = &status[i]
			}
		}
		rows = append(rows, row)
	}
	return rows
}

// trunkSave adds a trunk or changes one (Original names it). The password
// is write-only: left empty, the stored one stays.
func (s *Server) trunkSave(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.fail(w, r, err)
		return
	}
	cur, err := s.store.Setting(r.Context(), directory.SettingTrunks)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ts, _ := directory.ParseTrunks(cur)
	f := r.PostFormValue
	port, perr := strconv.Atoi(strings.TrimSpace(f("port")))
	if strings.TrimSpace(f("port")) == "" {
		port, perr = 0, nil
	}
	form := trunkForm{Original: strings.TrimSpace(f("original")), TrunkSetting: directory.TrunkSetting{
		Name: strings.TrimSpace(f("name")), Host: strings.TrimSpace(f("host")), Port: port,
		Transport: f("transport"), Username: strings.TrimSpace(f("username")), Password: directory.Password(f("password")),
		Register: f("register") != "", CallerID: strings.TrimSpace(f("caller_id"))}}
	i := len(ts)
	if form.Original != "" {
		i = slices.IndexFunc(ts, func(t directory.TrunkSetting) bool { return t.Name == form.Original })
		if i < 0 {
			s.fail(w, r, &directory.InvalidError{Field: "original", Rule: "no such trunk"})
			return
		}
		if form.Password == "" {
			form.Password = ts[i].Password
		}
		ts[i] = form.TrunkSetting
	} else {
		ts = append(ts, form.TrunkSetting)
	}
	errs := map[string]string{}
	if perr != nil {
		errs["port"] = "must be a port number up to 65535"
	}
	v := directory.MarshalTrunks(ts)
	if err := directory.ValidateSetting(directory.SettingTrunks, v); err != nil {
		fe := formErrors(err)
		if fe == nil {
			s.fail(w, r, err)
			return
		}
		prefix := directory.SettingTrunks + "[" + strconv.Itoa(i) + "]."
		for k, m := range fe {
			errs[strings.TrimPrefix(k, prefix)] = m
		}
	}
	if len(errs) > 0 {
		form.Password = "" // never sent back
		form.Errors = errs
		s.renderSettingsWith(w, r, http.StatusBadRequest, nil, nil, &form)
		return
	}
	if err := s.store.SetSetting(r.Context(), directory.SettingTrunks, v); err != nil {
		s.fail(w, r, err)
		return
	}
	s.audit(r, viewerOf(r), "settings.trunk", "trunk:"+form.Name, form.Host)
	done(w, r, "/settings", "saved")
}

// trunkDelete removes the trunk named in the form.
func (s *Server) trunkDelete(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.fail(w, r, err)
		return
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	cur, err := s.store.Setting(r.Context(), directory.SettingTrunks)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ts, _ := directory.ParseTrunks(cur)
	i := slices.IndexFunc(ts, func(t directory.TrunkSetting) bool { return t.Name == name })
	if name == "" || i < 0 {
		s.fail(w, r, &directory.InvalidError{Field: "name", Rule: "no such trunk"})
		return
	}
	ts = slices.Delete(ts, i, i+1)
	if err := s.store.SetSetting(r.Context(), directory.SettingTrunks, directory.MarshalTrunks(ts)); err != nil {
		s.fail(w, r, err)
		return
	}
	s.audit(r, viewerOf(r), "settings.trunk.delete", "trunk:"+name, "")
	done(w, r, "/settings", "deleted")
}

// didRow is one inbound number and where it rings.
type didRow struct{ Number, Extension string }

type numbersPage struct {
	DIDs   []didRow
	Number string // typed back after a mistake
	Ext    string
	Errors map[string]string
}

func (s *Server) numbersShow(w http.ResponseWriter, r *http.Request) {
	s.renderNumbers(w, r, http.StatusOK, numbersPage{})
}

func (s *Server) renderNumbers(w http.ResponseWriter, r *http.Request, status int, np numbersPage) {
	dids, err := s.dids(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for n, ext := range dids {
		np.DIDs = append(np.DIDs, didRow{n, ext})
	}
	slices.SortFunc(np.DIDs, func(a, b didRow) int { return strings.Compare(a.Number, b.Number) })
	p := s.page(r, "numbers.title")
	p.Data = np
	s.render(w, r, status, "numbers.html", p)
}

func (s *Server) dids(r *http.Request) (map[string]string, error) {
	v, err := s.store.Setting(r.Context(), directory.SettingDIDs)
	if err != nil {
		return nil, err
	}
	m, _ := directory.ParseDIDs(v)
	if m == nil {
		m = map[string]string{}
	}
	return m, nil
}

// didSave maps a number to an extension (a new one, or a new target).
func (s *Server) didSave(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.fail(w, r, err)
		return
	}
	np := numbersPage{Number: strings.Join(strings.Fields(r.PostFormValue("number")), ""),
		Ext: strings.TrimSpace(r.PostFormValue("extension"))}
	dids, err := s.dids(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	dids[np.Number] = np.Ext
	v := marshalDIDs(dids)
	if err := directory.ValidateSetting(directory.SettingDIDs, v); err != nil {
		fe := formErrors(err)
		if fe == nil {
			s.fail(w, r, err)
			return
		}
		np.Errors = map[string]string{}
		for _, m := range fe {
			np.Errors["number"] = m
		}
		s.renderNumbers(w, r, http.StatusBadRequest, np)
		return
	}
	if err := s.store.SetSetting(r.Context(), directory.SettingDIDs, v); err != nil {
		s.fail(w, r, err)
		return
	}
	s.audit(r, viewerOf(r), "numbers.did", "did:"+np.Number, np.Ext)
	done(w, r, "/numbers", "saved")
}

// didDelete removes the number named in the form.
func (s *Server) didDelete(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.fail(w, r, err)
		return
	}
	num := r.PostFormValue("number")
	dids, err := s.dids(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if _, ok := dids[num]; !ok {
		s.fail(w, r, &directory.InvalidError{Field: "number", Rule: "no such number"})
		return
	}
	delete(dids, num)
	if err := s.store.SetSetting(r.Context(), directory.SettingDIDs, marshalDIDs(dids)); err != nil {
		s.fail(w, r, err)
		return
	}
	s.audit(r, viewerOf(r), "numbers.did.delete", "did:"+num, "")
	done(w, r, "/numbers", "deleted")
}

func marshalDIDs(m map[string]string) string {
	b, _ := json.Marshal(m) // strings only: cannot fail; keys sorted
	return string(b)
}
