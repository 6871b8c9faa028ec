package web

import (
	"bytes"
	_ "embed"
	"html/template"
	"net/http"
	"strconv"
	"strings"
)

//go:embed unavailable.html
var unavailableHTML string

var unavailableTmpl = template.Must(template.New("unavailable").Parse(unavailableHTML))

// Unavailable answers every request while the PBX waits for its database at
// start: 503 with Retry-After, the JSON error "unavailable" under /api/,
// else a page that says so and reloads itself.
func Unavailable(retryAfter int) http.Handler {
	var page bytes.Buffer
	_ = unavailableTmpl.Execute(&page, struct{ RetryAfter int }{retryAfter})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfter))
		w.Header().Set("Cache-Control", "no-store")
		if strings.HasPrefix(r.URL.Path, "/api/") {
			writeJSON(w, http.StatusServiceUnavailable, map[string]apiError{"error": {Code: "unavailable",
				Message: "the directory is unavailable, try again shortly"}})
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write(page.Bytes())
	})
}
