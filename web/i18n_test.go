package web

import (
	"io/fs"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/authz"
	"github.com/switchboard-pbx/switchboard/directory"
)

// Every key the templates use, and every key built from a known set of
// values (states, dispositions, scopes, permissions…), exists in every
// locale, and no locale carries keys English lacks.
func TestLocalesHaveEveryKey(t *testing.T) {
	cat, err := loadCatalogs()
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	re := regexp.MustCompile(`\.T "([a-z0-9_.]+)"`)
	err = fs.WalkDir(templateFS, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := templateFS.ReadFile(path)
		for _, m := range re.FindAllStringSubmatch(string(b), -1) {
			keys[m[1]] = true
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) < 100 {
		t.Fatalf("found only %d keys in the templates", len(keys))
	}
	add := func(prefix string, vals ...string) {
		for _, v := range vals {
			keys[prefix+v] = true
		}
	}
	add("state.", "active", "blocked", "deleted")
	add("lang.", languages...)
	add("error.", "not_found", "forbidden", "invalid", "conflict", "unavailable", "internal", "unauthorized", "method_not_allowed", "gone", "unsupported_media_type")
	for _, d := range dispositions {
		add("disposition.", string(d))
	}
	add("direction.", "internal", "outbound", "inbound")
	add("recording.", "recording", "done", "failed", "repaired", "deleted")
	add("settings.recording.policy.", "off", "all", "selected")
	add("settings.trunk.state.", "registering", "registered", "failed")
	add("dashboard.call.", "ringing", "talking", "held")
	add("flash.", "saved", "created", "deleted", "blocked", "unblocked", "revoked", "reset")
	add("login.", "failed", "throttled")
	add("users.secret.", "password", "ext_password")
	add("audit.action.", auditActions...)
	add("role.builtin.", directory.BuiltinOwner, directory.BuiltinAdmin, directory.BuiltinAgent)
	add("groups.", "default_name")
	for _, info := range authz.Catalog() {
		add("perm.", string(info.Permission))
		for _, sc := range info.Scopes {
			add("scope.", sc.String())
		}
	}
	for _, n := range (&page{}).navAll() {
		keys[n.Key] = true
	}
	for _, lang := range languages {
		for k := range keys {
			if strings.TrimSpace(cat[lang][k]) == "" {
				t.Errorf("locale %s lacks %q", lang, k)
			}
		}
		for k := range cat[lang] {
			if _, ok := cat["en"][k]; !ok {
				t.Errorf("locale %s has %q, which English lacks", lang, k)
			}
		}
	}
}

func TestFormatsPerLanguage(t *testing.T) {
	at := time.Date(2025, 3, 14, 9, 26, 0, 0, time.UTC)
	for _, tc := range []struct{ lang, time, num string }{
		{"en", "Mar 14, 2025 09:26", "1,234,567"},
		{"vi", "14/03/2025 09:26", "1.234.567"},
		{"pl", "14.03.2025 09:26", "1\u00a0234\u00a0567"},
	} {
		if got := formatTime(tc.lang, at, nil); got != tc.time {
			t.Errorf("%s time: %q, want %q", tc.lang, got, tc.time)
		}
		if got := formatNumber(tc.lang, 1234567); got != tc.num {
			t.Errorf("%s number: %q, want %q", tc.lang, got, tc.num)
		}
	}
	if got := formatNumber("en", -1000); got != "-1,000" {
		t.Errorf("negative: %q", got)
	}
	if got := formatDuration(3723 * time.Second); got != "1:02:03" {
		t.Errorf("duration: %q", got)
	}
}

// Every page renders for the owner in every language, and the user's
// language choice is used.
func TestPagesRenderInEveryLanguage(t *testing.T) {
	f := newFixture(t)
	s, st, ts := f.open(t)
	c := f.as(t, ts.URL, pOwner)
	want := map[string]string{"en": "Call history", "vi": "Lịch sử cuộc gọi", "pl": "Historia połączeń"}
	for _, lang := range languages {
		l := lang
		if _, err := st.UpdateUser(t.Context(), f.users[pOwner].ID, directory.UserPatch{Language: &l}); err != nil {
			t.Fatal(err)
		}
		for _, rt := range s.Routes() {
			if rt.API || rt.Method != http.MethodGet || rt.Rule.kind == rulePublic {
				continue
			}
			path := rt.Pattern
			if tg := f.targetOf(path); tg != nil {
				path = strings.Replace(path, "{id}", itoa(tg.id), 1)
			}
			resp, body := c.get(path)
			if resp.StatusCode != 200 {
				t.Errorf("%s GET %s: %d\n%.400s", lang, path, resp.StatusCode, body)
				continue
			}
			if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") && !strings.Contains(body, want[lang]) {
				t.Errorf("%s GET %s: the navigation is not in %s", lang, path, lang)
			}
		}
	}
}
