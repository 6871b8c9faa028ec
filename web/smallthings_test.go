package web

import (
	"io/fs"
	"regexp"
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/directory"
)

// TestTemplatesHaveNoInlineStyles: the pages' Content-Security-Policy
// refuses inline styles, so one in a template silently does nothing (the
// group tree showed subgroups flat). Layout goes in classes.
func TestTemplatesHaveNoInlineStyles(t *testing.T) {
	re := regexp.MustCompile(`(?i)\sstyle\s*=`)
	err := fs.WalkDir(templateFS, "templates", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := templateFS.ReadFile(path)
		if re.Match(b) {
			t.Errorf("%s has an inline style attribute, which the CSP blocks", path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestNamesInEveryLanguage: the built-in roles, the default group and the
// audit actions are shown in the viewer's language; the group form asks for
// the group's name, not a person's.
func TestNamesInEveryLanguage(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	owner := f.as(t, ts.URL, pOwner)
	if _, body := owner.get("/groups"); !regexp.MustCompile(`<label for="name">Group name</label>`).MatchString(body) ||
		!strings.Contains(body, `class="depth-1"`) {
		t.Error("the group form's name label, or the subgroup's depth class, is missing")
	}
	if resp, _ := owner.post("/users/"+itoa(f.users[pAgent].ID)+"/block", nil); resp.StatusCode != 303 {
		t.Fatalf("block: %d", resp.StatusCode)
	}
	for lang, want := range map[string][]string{
		"vi": {"Chủ sở hữu", "Quản trị viên", "Nhân viên", "Nhóm mặc định", "Khóa người dùng"},
		"pl": {"Właściciel", "Administrator", "Grupa domyślna", "Zablokowanie użytkownika"},
		"en": {"Owner", "Admin", "Default group", "User blocked"},
	} {
		l := lang
		if _, err := st.UpdateUser(t.Context(), f.users[pOwner].ID, directory.UserPatch{Language: &l}); err != nil {
			t.Fatal(err)
		}
		var all strings.Builder
		for _, p := range []string{"/roles", "/groups", "/users/" + itoa(f.users[pAdmin].ID), "/audit"} {
			resp, body := owner.get(p)
			if resp.StatusCode != 200 {
				t.Fatalf("%s in %s: %d", p, lang, resp.StatusCode)
			}
			all.WriteString(body)
		}
		for _, w := range want {
			if !strings.Contains(all.String(), w) {
				t.Errorf("%s pages lack %q", lang, w)
			}
		}
		if lang != "en" {
			for _, en := range []string{">Default group<", ">Owner<", ">user.block<"} {
				if strings.Contains(all.String(), en) {
					t.Errorf("%s pages show the English %q", lang, en)
				}
			}
		}
	}
}
