package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/switchboard-pbx/switchboard/directory"
)

// importRequest is the body of POST /api/v1/users/import.
type importRequest struct {
	CSV    string `json:"csv"`     // the file's text, as `switchboard user import` reads it
	Name   string `json:"name"`    // the file's name, for the audit log; optional
	DryRun bool   `json:"dry_run"` // check only: the preview of the Users page
}

type importLineJSON struct {
	Line    int    `json:"line"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

type importRowJSON struct {
	Line        int     `json:"line"`
	Name        string  `json:"name"`
	Email       string  `json:"email"`
	Extension   string  `json:"extension"`
	Mobile      string  `json:"mobile,omitempty"`
	RoleIDs     []int64 `json:"role_ids"`
	GroupIDs    []int64 `json:"group_ids,omitempty"` // empty: the default group
	WebPassword bool    `json:"web_password"`
}

// apiUserImport checks (dry_run) or imports a CSV file of users with the
// rules of the Users page's import: all rows or none, problems by line and
// column (400 with "lines").
func (s *Server) apiUserImport(w http.ResponseWriter, r *http.Request) {
	var in importRequest
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 2*maxImportSize))
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.DisallowUnknownFields()
		err = dec.Decode(&in)
	}
	if err != nil {
		var me *http.MaxBytesError
		rule := "must be a JSON object {\"csv\": \"…\", \"dry_run\": true|false}"
		if errors.As(err, &me) {
			rule = "is too large: at most 8 MiB of CSV"
		}
		s.fail(w, r, &directory.InvalidError{Field: "body", Rule: rule})
		return
	}
	if in.DryRun {
		rows, err := s.checkImport(r, in.CSV)
		if s.importFailed(w, r, err) {
			return
		}
		out := make([]importRowJSON, len(rows))
		for i, row := range rows {
			out[i] = importRowJSON{Line: row.Line, Name: row.User.Name, Email: row.User.Email, Extension: row.User.Extension,
				Mobile: row.User.Mobile, RoleIDs: row.User.RoleIDs, GroupIDs: row.User.GroupIDs, WebPassword: row.User.Password != ""}
		}
		writeJSON(w, http.StatusOK, map[string]any{"dry_run": true, "count": len(out), "rows": out})
		return
	}
	users, err := s.importUsers(r, in.CSV, in.Name)
	if s.importFailed(w, r, err) {
		return
	}
	out := make([]userJSON, len(users))
	for i, u := range users {
		out[i] = toUserJSON(u)
	}
	writeJSON(w, http.StatusCreated, map[string]any{"dry_run": false, "count": len(out), "users": out})
}

// importFailed answers an import's problems, 400 with one entry per line
// and column, or any other error, and reports whether there was one.
func (s *Server) importFailed(w http.ResponseWriter, r *http.Request, err error) bool {
	if err == nil {
		return false
	}
	var pg importPage
	if !fillProblems(&pg, err) {
		s.fail(w, r, err)
		return true
	}
	lines := make([]importLineJSON, len(pg.Problems))
	for i, p := range pg.Problems {
		lines[i] = importLineJSON{Line: p.Line, Field: p.Column, Message: p.Issue}
	}
	writeJSON(w, http.StatusBadRequest, map[string]any{"error": map[string]any{"code": "invalid",
		"message": err.Error() + "\nnothing was imported", "lines": lines, "more": pg.More}})
	return true
}
