package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/switchboard-pbx/switchboard/directory"
)

var errNotFound = fmt.Errorf("page: %w", directory.ErrNotFound)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// idParam reads the {id} of the route; a malformed ID is simply not found.
func idParam(r *http.Request) (int64, error) { return idParamNamed(r, "id") }

// idParamNamed reads another ID of the route, such as {user_id}.
func idParamNamed(r *http.Request, name string) (int64, error) {
	id, err := strconv.ParseInt(chi.URLParam(r, name), 10, 64)
	if err != nil || id <= 0 {
		return 0, errNotFound
	}
	return id, nil
}

// pageParam reads ?page= and ?per_page= (default 50, at most 500).
func pageParam(r *http.Request) directory.Page {
	q := r.URL.Query()
	n, _ := strconv.Atoi(q.Get("page"))
	size, _ := strconv.Atoi(q.Get("per_page"))
	if n < 1 {
		n = 1
	}
	if size < 1 {
		size = 50
	}
	if size > 500 {
		size = 500
	}
	return directory.Page{Number: n, Size: size}
}

// idList parses a list of IDs from repeated form values.
func idList(vals []string) []int64 {
	var out []int64
	for _, v := range vals {
		for _, f := range strings.Split(v, ",") {
			if id, err := strconv.ParseInt(strings.TrimSpace(f), 10, 64); err == nil && id > 0 {
				out = append(out, id)
			}
		}
	}
	return out
}

// parseForm reads a bounded form body.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormSize)
	if err := r.ParseForm(); err != nil {
		return &directory.InvalidError{Field: "form", Rule: "could not be read"}
	}
	return nil
}

// done redirects after a successful form (POST, redirect, GET) with a notice.
func done(w http.ResponseWriter, r *http.Request, to, what string) {
	sep := "?"
	if strings.Contains(to, "?") {
		sep = "&"
	}
	http.Redirect(w, r, to+sep+"done="+what, http.StatusSeeOther)
}

// pager is the navigation of a list page.
type pager struct {
	Page, PerPage, Total int
	Prev, Next           string // query strings, "" when none
}

func newPager(r *http.Request, p directory.Page, shown, total int) pager {
	pg := pager{Page: p.Number, PerPage: p.Size, Total: total}
	q := r.URL.Query()
	if p.Number > 1 {
		q.Set("page", strconv.Itoa(p.Number-1))
		pg.Prev = "?" + q.Encode()
	}
	if (total < 0 && shown == p.Size) || (total >= 0 && p.Number*p.Size < total) {
		q.Set("page", strconv.Itoa(p.Number+1))
		pg.Next = "?" + q.Encode()
	}
	return pg
}

func isNotFound(err error) bool { return errors.Is(err, directory.ErrNotFound) }
