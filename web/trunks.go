package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

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
			if e.Form.Prefixes == nil { // not sent: the stored ones stay
				e.Form.Prefixes = t.Prefixes
			}
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

// PrefixText is the prefixes as the form's one field shows them.
func (f trunkForm) PrefixText() string { return strings.Join(f.Prefixes, ", ") }

// splitPrefixes reads the form's prefixes field: prefixes separated by
// commas or spaces. It is never nil, so that an emptied field clears them.
func splitPrefixes(v string) []string {
	return nonNil(strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' || unicode.IsSpace(r) }))
}

// prefixErrors folds the mistakes of single prefixes ("prefixes[2]") into
// the form's one prefixes field, naming each prefix at fault.
func prefixErrors(errs map[string]string, prefixes []string) map[string]string {
	var msgs []string
	for i, p := range prefixes {
		k := "prefixes[" + strconv.Itoa(i) + "]"
		if rule, ok := errs[k]; ok {
			msgs = append(msgs, strconv.Quote(p)+": "+rule)
			delete(errs, k)
		}
	}
	if len(msgs) > 0 {
		if prev := errs["prefixes"]; prev != "" {
			msgs = append([]string{prev}, msgs...)
		}
		errs["prefixes"] = strings.Join(msgs, "; ")
	}
	return errs
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
	f := r.PostFormValue
	port, perr := strconv.Atoi(strings.TrimSpace(f("port")))
	if strings.TrimSpace(f("port")) == "" {
		port, perr = 0, nil
	}
	form := trunkForm{Original: strings.TrimSpace(f("original")), TrunkSetting: directory.TrunkSetting{
		Name: strings.TrimSpace(f("name")), Host: strings.TrimSpace(f("host")), Port: port,
		Transport: f("transport"), Username: strings.TrimSpace(f("username")), Password: directory.Password(f("password")),
		Register: f("register") != "", CallerID: strings.TrimSpace(f("caller_id")), FromUser: f("from_user"),
		PAI: f("pai"), Privacy: f("privacy"), Diversion: f("diversion")}}
	if r.PostForm.Has("prefixes") { // a form without the field keeps the stored prefixes
		form.Prefixes = splitPrefixes(f("prefixes"))
	}
	ts, err := s.trunksWith(r, form.Original, form.TrunkSetting)
	if isNotFound(err) {
		s.fail(w, r, &directory.InvalidError{Field: "original", Rule: "no such trunk"})
		return
	}
	errs := prefixErrors(formErrors(err), form.Prefixes)
	if err != nil && errs == nil {
		s.fail(w, r, err)
		return
	}
	if perr != nil {
		if errs == nil {
			errs = map[string]string{}
		}
		errs["port"] = "must be a port number up to 65535"
	}
	if len(errs) > 0 {
		form.Password = "" // never sent back
		form.Errors = errs
		s.renderSettingsWith(w, r, http.StatusBadRequest, nil, nil, &form)
		return
	}
	if err := s.writeTrunks(r, ts, "settings.trunk", form.Name, form.Host); err != nil {
		s.fail(w, r, err)
		return
	}
	done(w, r, "/settings", "saved")
}

// trunksWith returns the stored trunks with t added (original "") or put in
// place of the trunk named original (ErrNotFound when there is none). A
// trunk without a password keeps the stored one: passwords are write-only.
// The result is validated whole; mistakes in t name its own field ("host",
// not "trunks[2].host"), a name another trunk has is a conflict.
func (s *Server) trunksWith(r *http.Request, original string, t directory.TrunkSetting) ([]directory.TrunkSetting, error) {
	cur, err := s.store.Setting(r.Context(), directory.SettingTrunks)
	if err != nil {
		return nil, err
	}
	ts, _ := directory.ParseTrunks(cur)
	i := len(ts)
	if original != "" {
		i = slices.IndexFunc(ts, func(x directory.TrunkSetting) bool { return x.Name == original })
		if i < 0 {
			return nil, fmt.Errorf("trunk %q: %w", original, directory.ErrNotFound)
		}
		if t.Password == "" {
			t.Password = ts[i].Password
		}
		if t.Prefixes == nil { // the form has no prefixes: set through the API, kept
			t.Prefixes = ts[i].Prefixes
		}
	}
	t.PasswordSet = false
	for j := range ts {
		if j != i && ts[j].Name == strings.TrimSpace(t.Name) {
			return nil, &directory.ConflictError{Field: "name", Rule: "is used by another trunk"}
		}
	}
	if i == len(ts) {
		ts = append(ts, t)
	} else {
		ts[i] = t
	}
	err = directory.ValidateSetting(directory.SettingTrunks, directory.MarshalTrunks(ts))
	if err == nil {
		return directory.ParseTrunks(directory.MarshalTrunks(ts)) // trimmed as stored
	}
	fe := directory.Fields(err)
	if len(fe) == 0 {
		return nil, err
	}
	prefix := directory.SettingTrunks + "[" + strconv.Itoa(i) + "]."
	errs := make([]error, len(fe))
	for k, e := range fe {
		errs[k] = &directory.InvalidError{Field: strings.TrimPrefix(e.Field, prefix), Rule: e.Rule}
	}
	return nil, errors.Join(errs...)
}

// writeTrunks stores the trunks and writes the audit entry: action on
// trunk:name, with the host (never a password) as detail.
func (s *Server) writeTrunks(r *http.Request, ts []directory.TrunkSetting, action, name, host string) error {
	cur, err := s.store.Setting(r.Context(), directory.SettingTrunks)
	if err != nil {
		return err
	}
	old, _ := directory.ParseTrunks(cur)
	if err := s.store.SetSetting(r.Context(), directory.SettingTrunks, directory.MarshalTrunks(ts)); err != nil {
		return err
	}
	b, a := changedFields(trunkFields(old, name), trunkFields(ts, name))
	if trunkPassword(old, name) != trunkPassword(ts, name) {
		b["password"], a["password"] = directory.Redacted, directory.Redacted
	}
	s.auditChange(r, viewerOf(r), action, "trunk:"+name, host, b, a)
	return nil
}

// trunkFields are the audited fields of the trunk named name in ts, nil
// when there is none. The password is left out: writeTrunks notes only that
// it changed, as redacted.
func trunkFields(ts []directory.TrunkSetting, name string) map[string]any {
	i := slices.IndexFunc(ts, func(t directory.TrunkSetting) bool { return t.Name == name })
	if i < 0 {
		return nil
	}
	t := ts[i]
	return map[string]any{"host": t.Host, "port": t.Port, "transport": t.Transport, "username": t.Username,
		"register": t.Register, "caller_id": t.CallerID, "prefixes": strings.Join(t.Prefixes, ","),
		"from_user": t.FromUser, "pai": t.PAI, "privacy": t.Privacy, "diversion": t.Diversion}
}

func trunkPassword(ts []directory.TrunkSetting, name string) directory.Password {
	if i := slices.IndexFunc(ts, func(t directory.TrunkSetting) bool { return t.Name == name }); i >= 0 {
		return ts[i].Password
	}
	return ""
}

// deleteTrunk removes the trunk named name (ErrNotFound when there is none).
func (s *Server) deleteTrunk(r *http.Request, name string) error {
	cur, err := s.store.Setting(r.Context(), directory.SettingTrunks)
	if err != nil {
		return err
	}
	ts, _ := directory.ParseTrunks(cur)
	i := slices.IndexFunc(ts, func(t directory.TrunkSetting) bool { return t.Name == name })
	if name == "" || i < 0 {
		return fmt.Errorf("trunk %q: %w", name, directory.ErrNotFound)
	}
	return s.writeTrunks(r, slices.Delete(ts, i, i+1), "settings.trunk.delete", name, "")
}

// trunkDelete removes the trunk named in the form.
func (s *Server) trunkDelete(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.fail(w, r, err)
		return
	}
	err := s.deleteTrunk(r, strings.TrimSpace(r.PostFormValue("name")))
	if isNotFound(err) {
		err = &directory.InvalidError{Field: "name", Rule: "no such trunk"}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
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
	np := numbersPage{Number: didNumber(r.PostFormValue("number")),
		Ext: strings.TrimSpace(r.PostFormValue("extension"))}
	err := s.putDID(r, np.Number, np.Ext, didAny)
	if fe := formErrors(err); fe != nil {
		np.Errors = fe
		s.renderNumbers(w, r, http.StatusBadRequest, np)
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	done(w, r, "/numbers", "saved")
}

// didNumber takes the spaces out of a number as people type it.
func didNumber(n string) string { return strings.Join(strings.Fields(n), "") }

// How putDID treats a number already mapped.
const (
	didAny    = iota // add it or change it (the form)
	didNew           // only add it: a mapped number is a conflict
	didExists        // only change it: an unmapped number is not found
)

// putDID maps number to ext and writes the audit entry. Mistakes name the
// field: number or extension.
func (s *Server) putDID(r *http.Request, number, ext string, mode int) error {
	if err := checkDID(number, ext); err != nil {
		return err
	}
	dids, err := s.dids(r)
	if err != nil {
		return err
	}
	_, ok := dids[number]
	switch {
	case mode == didNew && ok:
		return &directory.ConflictError{Field: "number", Rule: "is already mapped"}
	case mode == didExists && !ok:
		return fmt.Errorf("number %q: %w", number, directory.ErrNotFound)
	}
	was := dids[number]
	dids[number] = ext
	if err := s.store.SetSetting(r.Context(), directory.SettingDIDs, marshalDIDs(dids)); err != nil {
		return err
	}
	s.auditChange(r, viewerOf(r), "numbers.did", "did:"+number, ext, map[string]any{"extension": was}, map[string]any{"extension": ext})
	return nil
}

// checkDID checks one mapping with the dids setting's own rules.
func checkDID(number, ext string) error {
	var errs []error
	if _, err := directory.ParseDIDs(marshalDIDs(map[string]string{number: "10000"})); err != nil || number == "" {
		errs = append(errs, &directory.InvalidError{Field: "number", Rule: "must be a phone number: digits, optionally after a +"})
	}
	errs = append(errs, directory.ValidateExtension("extension", ext))
	return errors.Join(errs...)
}

// deleteDID removes a number (ErrNotFound when it is not mapped).
func (s *Server) deleteDID(r *http.Request, number string) error {
	dids, err := s.dids(r)
	if err != nil {
		return err
	}
	if _, ok := dids[number]; !ok {
		return fmt.Errorf("number %q: %w", number, directory.ErrNotFound)
	}
	delete(dids, number)
	if err := s.store.SetSetting(r.Context(), directory.SettingDIDs, marshalDIDs(dids)); err != nil {
		return err
	}
	s.audit(r, viewerOf(r), "numbers.did.delete", "did:"+number, "")
	return nil
}

// didDelete removes the number named in the form.
func (s *Server) didDelete(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.fail(w, r, err)
		return
	}
	err := s.deleteDID(r, r.PostFormValue("number"))
	if isNotFound(err) {
		err = &directory.InvalidError{Field: "number", Rule: "no such number"}
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	done(w, r, "/numbers", "deleted")
}

func marshalDIDs(m map[string]string) string {
	b, _ := json.Marshal(m) // strings only: cannot fail; keys sorted
	return string(b)
}
