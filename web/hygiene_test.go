package web

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// TestAPIBodiesAreJSONOnly: a change in any other type is 415 with the JSON
// error, and a JSON object naming a key twice (which encoding/json would
// resolve silently to the last) is refused with 400 naming it.
func TestAPIBodiesAreJSONOnly(t *testing.T) {
	f := newFixture(t)
	_, _, ts := f.open(t)
	c := f.api(t, ts.URL, pOwner)
	send := func(method, path, ctype, body string) (*http.Response, apiError) {
		t.Helper()
		req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		resp, b := c.send(req)
		var e struct{ Error apiError }
		_ = json.Unmarshal([]byte(b), &e)
		return resp, e.Error
	}
	contact := `{"name":"Acme","phones":["+48221234567"]}`
	for _, ct := range []string{"application/x-www-form-urlencoded", "text/plain", "", "multipart/form-data; boundary=x",
		"application/jsonx", "text/json"} {
		if resp, e := send(http.MethodPost, "/api/v1/contacts", ct, contact); resp.StatusCode != http.StatusUnsupportedMediaType ||
			e.Code != "unsupported_media_type" {
			t.Errorf("POST as %q: %d %+v, want 415", ct, resp.StatusCode, e)
		}
	}
	if resp, _ := send(http.MethodPost, "/api/v1/contacts", "application/json; charset=utf-8", contact); resp.StatusCode != http.StatusCreated {
		t.Errorf("POST as JSON with charset: %d", resp.StatusCode)
	}
	agent := "/api/v1/users/" + itoa(f.users[pAgent].ID)
	for _, tc := range []struct{ body, field string }{
		{`{"email":"agent@example.com","email":"owner2@example.com"}`, "email"},
		{`{"name":"A","Name":"B"}`, "Name"},
		{`{"role_ids":[1],"notes":"x","role_ids":[2]}`, "role_ids"},
	} {
		resp, e := send(http.MethodPatch, agent, "application/json", tc.body)
		if resp.StatusCode != http.StatusBadRequest || e.Code != "invalid" || e.Fields[tc.field] != "appears more than once" {
			t.Errorf("PATCH %s: %d %+v, want 400 naming %s", tc.body, resp.StatusCode, e, tc.field)
		}
	}
	// Keys alike in different objects are no duplicates.
	if resp, e := send(http.MethodPut, agent+"/overrides", "application/json", `{"calls.history":"any","contacts.view":"any"}`); resp.StatusCode != 200 {
		t.Errorf("overrides: %d %+v", resp.StatusCode, e)
	}
	// A change without a body needs no type.
	if resp, _ := send(http.MethodPost, agent+"/ext-password", "", ""); resp.StatusCode != 200 {
		t.Errorf("ext-password without a body: %d", resp.StatusCode)
	}
}

// TestNoStoreNoSniffNoListing: exports and recordings are not cached or
// sniffed; the static files list no directory.
func TestNoStoreNoSniffNoListing(t *testing.T) {
	f := newFixture(t)
	_, _, ts := f.open(t)
	admin := f.as(t, ts.URL, pAdmin)
	for _, path := range []string{"/calls.csv", "/recordings/" + itoa(f.recs["sales"].ID) + "/audio",
		"/recordings/" + itoa(f.recs["sales"].ID) + "/download", "/api/v1/recordings/" + itoa(f.recs["sales"].ID) + "/audio"} {
		c := admin
		if strings.HasPrefix(path, "/api/") {
			c = f.api(t, ts.URL, pAdmin)
		}
		resp, _ := c.get(path)
		if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Cache-Control"), "no-store") ||
			resp.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: %d, Cache-Control %q, X-Content-Type-Options %q", path, resp.StatusCode,
				resp.Header.Get("Cache-Control"), resp.Header.Get("X-Content-Type-Options"))
		}
	}
	anon := newClient(t, ts.URL)
	for _, path := range []string{"/static/", "/static", "/static/./"} {
		if resp, body := anon.get(path); resp.StatusCode == 200 || strings.Contains(body, `href="app.js"`) {
			t.Errorf("%s: %d, lists the directory", path, resp.StatusCode)
		}
	}
	if resp, _ := anon.get("/static/app.css"); resp.StatusCode != 200 || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("/static/app.css: %d", resp.StatusCode)
	}
}
