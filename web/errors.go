package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
)

// apiError is the body of every JSON error:
// {"error":{"code":"forbidden","message":"…","fields":{"email":"…"}}}.
type apiError struct {
	Code    string            `json:"code"`
	Message string            `json:"message"`
	Fields  map[string]string `json:"fields,omitempty"`
}

// classify is the one mapping from our errors to HTTP: ErrInvalid→400 with
// field messages, ErrDenied→403 (404 when the object lies outside the
// viewer's scope, so guessed IDs reveal nothing), ErrNotFound→404,
// ErrConflict→409, ErrUnavailable and a passed deadline→503, anything else 500.
func classify(err error) (status int, e apiError) {
	var de *authz.DeniedError
	var ce *directory.ConflictError
	switch {
	case errors.Is(err, errMediaType):
		return http.StatusUnsupportedMediaType, apiError{Code: "unsupported_media_type", Message: errMediaType.Error()}
	case errors.Is(err, errTampered):
		return http.StatusGone, apiError{Code: "gone", Message: "the recording's file no longer matches what was recorded"}
	case errors.As(err, &de) && de.OutOfScope, errors.Is(err, directory.ErrNotFound):
		return http.StatusNotFound, apiError{Code: "not_found", Message: "not found"}
	case errors.As(err, &de):
		return http.StatusForbidden, apiError{Code: "forbidden", Message: de.Reason}
	case errors.Is(err, authz.ErrDenied):
		return http.StatusForbidden, apiError{Code: "forbidden", Message: "permission denied"}
	case errors.Is(err, directory.ErrInvalid):
		e = apiError{Code: "invalid", Message: "invalid input", Fields: map[string]string{}}
		for _, fe := range directory.Fields(err) {
			e.Fields[fe.Field] = fe.Rule
		}
		return http.StatusBadRequest, e
	case errors.As(err, &ce):
		return http.StatusConflict, apiError{Code: "conflict", Message: ce.Field + ": " + ce.Rule}
	case errors.Is(err, directory.ErrConflict):
		return http.StatusConflict, apiError{Code: "conflict", Message: "conflict"}
	case errors.Is(err, directory.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, apiError{Code: "unavailable", Message: "the directory is unavailable, try again shortly"}
	}
	return http.StatusInternalServerError, apiError{Code: "internal", Message: "internal error"}
}

// fail answers a request that went wrong, as JSON on the API and as a page
// in the browser. Only 500s are logged: the rest are the user's doing.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, e := classify(err)
	if status == http.StatusInternalServerError {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	if status == http.StatusForbidden || status == http.StatusNotFound {
		s.auditDenied(r, status, e.Message)
	}
	if isAPI(r) {
		if len(e.Fields) > 0 { // the message names the fields too, for clients that show only it
			e.Message = fieldsMessage(e.Fields)
		}
		writeJSON(w, status, map[string]apiError{"error": e})
		return
	}
	p := s.page(r, "error.title")
	p.Data = errorPage{Status: status, Code: e.Code, Message: e.Message, Fields: e.Fields}
	s.render(w, r, status, "error.html", p)
}

// fieldsMessage joins field mistakes in a stable order:
// "host: is required; port: must be a port number up to 65535".
func fieldsMessage(fields map[string]string) string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + ": " + fields[k]
	}
	return strings.Join(parts, "; ")
}

type errorPage struct {
	Status  int
	Code    string
	Message string
	Fields  map[string]string
}

// forbidden turns an out-of-scope refusal into a plain one: for changes to
// an object the viewer may see, "not yours to change" is the honest answer.
func forbidden(err error) error {
	var de *authz.DeniedError
	if errors.As(err, &de) && de.OutOfScope {
		return &authz.DeniedError{Permission: de.Permission, Reason: de.Reason}
	}
	return err
}

// formErrors returns the field messages of an invalid or conflicting input,
// or nil when err is of another kind (which the caller passes to fail).
func formErrors(err error) map[string]string {
	var ce *directory.ConflictError
	switch {
	case errors.Is(err, directory.ErrInvalid):
		m := map[string]string{}
		for _, fe := range directory.Fields(err) {
			m[fe.Field] = fe.Rule
		}
		if len(m) == 0 {
			m["form"] = err.Error()
		}
		return m
	case errors.As(err, &ce):
		return map[string]string{ce.Field: ce.Rule}
	}
	return nil
}

func isAPI(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/") }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// hidden makes a refused view answer "not found": an object the viewer may
// not see does not exist for them (routes already answered 403 to those who
// hold the permission at no scope, alike for every ID).
func hidden(err error) error {
	var de *authz.DeniedError
	if errors.As(err, &de) {
		return &authz.DeniedError{Permission: de.Permission, Reason: de.Reason, OutOfScope: true}
	}
	return err
}
