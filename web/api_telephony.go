package web

import (
	"cmp"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/switchboard-pbx/switchboard/directory"
)

// Trunks (settings.telephony) and inbound numbers (numbers.manage) in the
// JSON API: the same checks, store calls and audit entries as the forms on
// /settings and /numbers (trunksWith, writeTrunks, putDID, ...). A trunk's
// password is write-only: it is never answered, only password_set.

type trunkJSON struct {
	Name         string           `json:"name"`
	Host         string           `json:"host"`
	Port         int              `json:"port,omitempty"`
	Transport    string           `json:"transport,omitempty"`
	Username     string           `json:"username,omitempty"`
	PasswordSet  bool             `json:"password_set"`
	Register     bool             `json:"register"`
	CallerID     string           `json:"caller_id,omitempty"`
	FromUser     string           `json:"from_user"`              // user, company or trunk
	PAI          string           `json:"pai"`                    // none, user, company or trunk
	Privacy      string           `json:"privacy"`                // hidden or always
	Diversion    string           `json:"diversion"`              // none, diversion or history-info
	Prefixes     []string         `json:"prefixes"`               // [] for any number
	Registration *trunkStatusJSON `json:"registration,omitempty"` // when the PBX knows it
}

type trunkStatusJSON struct {
	State   string     `json:"state"` // registering, registered, failed
	Expires *time.Time `json:"expires,omitempty"`
	Error   string     `json:"error,omitempty"`
}

func toTrunkJSON(row *trunkRow) trunkJSON {
	t := row.TrunkSetting
	out := trunkJSON{Name: t.Name, Host: t.Host, Port: t.Port, Transport: t.Transport, Username: t.Username,
		PasswordSet: t.PasswordSet, Register: t.Register, CallerID: t.CallerID, Prefixes: nonNil(t.Prefixes),
		FromUser: cmp.Or(t.FromUser, directory.IdentityUser), PAI: cmp.Or(t.PAI, directory.IdentityNone),
		Privacy: cmp.Or(t.Privacy, directory.PrivacyHidden), Diversion: cmp.Or(t.Diversion, directory.IdentityNone)}
	if st := row.Status; st != nil {
		out.Registration = &trunkStatusJSON{State: st.State, Expires: optTime(st.Expires.UTC()), Error: st.Error}
	}
	return out
}

// trunkBodyJSON is the body of POST and PUT: the whole trunk. An absent or
// empty password keeps the stored one; an absent name (PUT) keeps the name,
// absent prefixes the stored prefixes ([] clears them).
type trunkBodyJSON struct {
	Name      *string   `json:"name"`
	Host      string    `json:"host"`
	Port      int       `json:"port"`
	Transport string    `json:"transport"`
	Username  string    `json:"username"`
	Password  string    `json:"password"`
	Register  bool      `json:"register"`
	CallerID  string    `json:"caller_id"`
	FromUser  string    `json:"from_user"`
	PAI       string    `json:"pai"`
	Privacy   string    `json:"privacy"`
	Diversion string    `json:"diversion"`
	Prefixes  *[]string `json:"prefixes"`
}

func (in *trunkBodyJSON) trunk(name string) directory.TrunkSetting {
	if in.Name != nil {
		name = *in.Name
	}
	t := directory.TrunkSetting{Name: strings.TrimSpace(name), Host: strings.TrimSpace(in.Host), Port: in.Port,
		Transport: in.Transport, Username: strings.TrimSpace(in.Username), Password: directory.Password(in.Password),
		Register: in.Register, CallerID: strings.TrimSpace(in.CallerID), FromUser: in.FromUser, PAI: in.PAI,
		Privacy: in.Privacy, Diversion: in.Diversion}
	if in.Prefixes != nil {
		t.Prefixes = nonNil(*in.Prefixes) // not nil: trunksWith keeps the stored ones for nil
	}
	return t
}

// apiTrunk finds a trunk by name among the rows the settings page shows,
// without its password.
func (s *Server) apiTrunk(r *http.Request, name string) (*trunkRow, error) {
	v, err := s.store.Setting(r.Context(), directory.SettingTrunks)
	if err != nil {
		return nil, err
	}
	rows := s.trunkRows(v)
	i := slices.IndexFunc(rows, func(t trunkRow) bool { return t.Name == name })
	if i < 0 {
		return nil, errNotFound
	}
	return &rows[i], nil
}

func (s *Server) apiTrunks(w http.ResponseWriter, r *http.Request) {
	v, err := s.store.Setting(r.Context(), directory.SettingTrunks)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	rows := s.trunkRows(v)
	out := make([]trunkJSON, len(rows))
	for i := range rows {
		out[i] = toTrunkJSON(&rows[i])
	}
	writeJSON(w, http.StatusOK, list(out, directory.Page{Number: 1, Size: len(out)}, len(out)))
}

func (s *Server) apiTrunkGet(w http.ResponseWriter, r *http.Request) {
	row, err := s.apiTrunk(r, pathParam(r, "name"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toTrunkJSON(row))
}

func (s *Server) apiTrunkCreate(w http.ResponseWriter, r *http.Request) {
	var in trunkBodyJSON
	err := readJSON(w, r, &in)
	var t directory.TrunkSetting
	var ts []directory.TrunkSetting
	if err == nil {
		t = in.trunk("")
		ts, err = s.trunksWith(r, "", t)
	}
	if err == nil {
		err = s.writeTrunks(r, ts, "settings.trunk", t.Name, t.Host)
	}
	var row *trunkRow
	if err == nil {
		row, err = s.apiTrunk(r, t.Name)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	created(w, "/api/v1/trunks/"+url.PathEscape(row.Name), toTrunkJSON(row))
}

// apiTrunkUpdate replaces the trunk named in the path with the body; a
// name in the body renames it.
func (s *Server) apiTrunkUpdate(w http.ResponseWriter, r *http.Request) {
	name := pathParam(r, "name")
	_, err := s.apiTrunk(r, name) // 404 before a 400 for the body
	var in trunkBodyJSON
	if err == nil {
		err = readJSON(w, r, &in)
	}
	var t directory.TrunkSetting
	var ts []directory.TrunkSetting
	if err == nil {
		t = in.trunk(name)
		ts, err = s.trunksWith(r, name, t)
	}
	if err == nil {
		err = s.writeTrunks(r, ts, "settings.trunk", t.Name, t.Host)
	}
	var row *trunkRow
	if err == nil {
		row, err = s.apiTrunk(r, t.Name)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, toTrunkJSON(row))
}

func (s *Server) apiTrunkDelete(w http.ResponseWriter, r *http.Request) {
	if err := s.deleteTrunk(r, pathParam(r, "name")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// pathParam is a route parameter as typed, "%2F" and all: chi matches the
// escaped path when it has escapes a plain path cannot hold.
func pathParam(r *http.Request, name string) string {
	v := chi.URLParam(r, name)
	if r.URL.RawPath != "" {
		if u, err := url.PathUnescape(v); err == nil {
			return u
		}
	}
	return v
}

type didJSON struct {
	Number    string `json:"number"`
	Extension string `json:"extension"`
}

type didBodyJSON struct {
	Number    string `json:"number"` // POST only; PUT takes it from the path
	Extension string `json:"extension"`
}

func (s *Server) apiDIDs(w http.ResponseWriter, r *http.Request) {
	dids, err := s.dids(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]didJSON, 0, len(dids))
	for n, ext := range dids {
		out = append(out, didJSON{n, ext})
	}
	slices.SortFunc(out, func(a, b didJSON) int { return strings.Compare(a.Number, b.Number) })
	writeJSON(w, http.StatusOK, list(out, directory.Page{Number: 1, Size: len(out)}, len(out)))
}

func (s *Server) apiDID(w http.ResponseWriter, r *http.Request) {
	number := pathParam(r, "number")
	dids, err := s.dids(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	ext, ok := dids[number]
	if !ok {
		s.fail(w, r, errNotFound)
		return
	}
	writeJSON(w, http.StatusOK, didJSON{number, ext})
}

func (s *Server) apiDIDCreate(w http.ResponseWriter, r *http.Request) {
	var in didBodyJSON
	err := readJSON(w, r, &in)
	d := didJSON{didNumber(in.Number), strings.TrimSpace(in.Extension)}
	if err == nil {
		err = s.putDID(r, d.Number, d.Extension, didNew)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	created(w, "/api/v1/dids/"+url.PathEscape(d.Number), d)
}

func (s *Server) apiDIDUpdate(w http.ResponseWriter, r *http.Request) {
	number := pathParam(r, "number")
	dids, err := s.dids(r)
	if err == nil {
		if _, ok := dids[number]; !ok { // 404 before a 400 for the body
			err = errNotFound
		}
	}
	var in didBodyJSON
	if err == nil {
		err = readJSON(w, r, &in)
	}
	if err == nil && in.Number != "" && didNumber(in.Number) != number {
		err = &directory.InvalidError{Field: "number", Rule: "must be the number in the path (delete and add to change it)"}
	}
	d := didJSON{number, strings.TrimSpace(in.Extension)}
	if err == nil {
		err = s.putDID(r, d.Number, d.Extension, didExists)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

func (s *Server) apiDIDDelete(w http.ResponseWriter, r *http.Request) {
	if err := s.deleteDID(r, pathParam(r, "number")); err != nil {
		s.fail(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
