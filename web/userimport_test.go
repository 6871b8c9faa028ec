package web

import (
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchboard-pbx/switchboard/directory"
)

// TestImportBrowser uploads a file with mistakes on the Users page, reads
// the problems by line and column (nothing stored), uploads the corrected
// file, reads the preview and commits it: every row stored, in Chromium.
func TestImportBrowser(t *testing.T) {
	ctx := browser(t)
	f := newFixture(t)
	_, st, ts := f.open(t)
	u := ts.URL
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string { // "" when there is no such element (no waiting)
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector(`+strconv.Quote(sel)+`) || {innerText: ""}).innerText`))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return s
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	good := filepath.Join(dir, "good.csv")
	write := func(path, s string) {
		if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(bad, "name,email,extension,ext_password,group,mobile\n"+
		"Trần Thị Ánh,anh@example.vn,40001,k7#Qm2vLx9,Sales,+84 912 345 678\n"+
		"Łukasz Żółć,ANH@example.vn,4000,p9$Lw3zTq1,Nowhere,600 100 200\n")
	write(good, "name,email,extension,ext_password,group,mobile\n"+
		"Trần Thị Ánh,anh@example.vn,40001,k7#Qm2vLx9,Sales,+84 912 345 678\n"+
		"Łukasz Żółć,lukasz@example.pl,40002,p9$Lw3zTq1,Support,600 100 200\n")
	if err := st.SetSetting(t.Context(), directory.SettingDefaultCountry, "PL"); err != nil {
		t.Fatal(err)
	}
	run("login", chromedp.Navigate(u+"/login"), chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), "owner@example.com"), chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Submit(chromedp.CSS("#password")), chromedp.WaitVisible(chromedp.CSS("header.top")))
	run("open import from the users page", chromedp.Navigate(u+"/users"), chromedp.Click(chromedp.CSS(`a[href="/users/import"]`)),
		chromedp.WaitVisible(chromedp.CSS("#import-upload")))
	run("upload a file with mistakes", chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{bad}),
		chromedp.Submit(chromedp.CSS("#file")), chromedp.WaitVisible(chromedp.CSS("#import-problems, #import-preview")))
	problems := text("#import-problems tbody")
	for _, want := range []string{"email", "already on line 2", "extension", "group", `no group named "Nowhere"`} {
		if !strings.Contains(problems, want) {
			t.Errorf("problems lack %q:\n%s", want, problems)
		}
	}
	if n, _ := st.CountUsers(t.Context(), directory.UserFilter{Vis: directory.Visibility{All: true}}); n != len(personaNames) {
		t.Errorf("%d users after a refused file", n)
	}
	run("upload the corrected file", chromedp.Navigate(u+"/users/import"), chromedp.WaitVisible(chromedp.CSS("#file")),
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{good}),
		chromedp.Submit(chromedp.CSS("#file")), chromedp.WaitVisible(chromedp.CSS("#import-preview, #import-problems")))
	preview := text("#import-preview tbody")
	for _, want := range []string{"Trần Thị Ánh", "+84912345678", "Łukasz Żółć", "+48600100200", "Sales", "Support"} {
		if !strings.Contains(preview, want) {
			t.Errorf("preview lacks %q:\n%s", want, preview)
		}
	}
	if n, _ := st.CountUsers(t.Context(), directory.UserFilter{Vis: directory.Visibility{All: true}}); n != len(personaNames) {
		t.Errorf("%d users after the preview; it must store nothing", n)
	}
	run("commit", chromedp.Submit(chromedp.CSS("#import-commit button")), chromedp.WaitVisible(chromedp.CSS("#import-done, #import-problems")))
	if got := text("#import-done"); !strings.Contains(got, "Trần Thị Ánh") || !strings.Contains(got, "40002") {
		t.Errorf("result: %s", got)
	}
	anh, err := st.UserByEmail(t.Context(), "anh@example.vn")
	if err != nil || anh.Mobile != "+84912345678" || len(anh.GroupIDs) != 1 || anh.GroupIDs[0] != f.groups["sales"].ID {
		t.Errorf("imported user %+v %v", anh, err)
	}
}

// TestImportRules: the import needs users.create and the form token, may
// grant only roles the importer may grant, is audited, and the API's dry
// run stores nothing while its problems come by line and column.
func TestImportRules(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	file := "name,email,extension,ext_password,role\nNew One,new1@example.com,40011,k7#Qm2vLx9,Owner\n"
	form := url.Values{"csv": {file}, "name": {"staff.csv"}}
	for _, p := range []string{pAdmin, pAgent, pLead} {
		if resp, _ := f.as(t, ts.URL, p).post("/users/import/commit", form); resp.StatusCode != http.StatusForbidden {
			t.Errorf("%s imports: %d", p, resp.StatusCode)
		}
	}
	noToken := f.as(t, ts.URL, pOwner)
	if resp, _ := noToken.do(http.MethodPost, "/users/import/commit", form, nil); resp.StatusCode != http.StatusForbidden {
		t.Errorf("without the form token: %d", resp.StatusCode)
	}
	// An admin allowed to create accounts still may not make owners.
	if err := st.SetOverrides(t.Context(), f.users[pAdmin].ID, map[string]string{"users.create": "any"}); err != nil {
		t.Fatal(err)
	}
	resp, body := f.as(t, ts.URL, pAdmin).post("/users/import/commit", form)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, "role") {
		t.Errorf("admin grants Owner by import: %d", resp.StatusCode)
	}
	if _, err := st.UserByEmail(t.Context(), "new1@example.com"); err == nil {
		t.Fatal("the refused import stored a user")
	}

	api := f.api(t, ts.URL, pOwner)
	req := func(dry bool, csv string) (*http.Response, map[string]any) {
		b, _ := json.Marshal(map[string]any{"csv": csv, "dry_run": dry, "name": "staff.csv"})
		resp, body := api.json(http.MethodPost, "/api/v1/users/import", string(b))
		var out map[string]any
		_ = json.Unmarshal([]byte(body), &out)
		return resp, out
	}
	resp, out := req(true, file)
	if resp.StatusCode != http.StatusOK || out["count"] != float64(1) {
		t.Errorf("dry run: %d %v", resp.StatusCode, out)
	}
	if _, err := st.UserByEmail(t.Context(), "new1@example.com"); err == nil {
		t.Fatal("the dry run stored a user")
	}
	resp, out = req(false, file+"Bad,bad@,40011,x,\n")
	lines, _ := out["error"].(map[string]any)["lines"].([]any)
	if resp.StatusCode != http.StatusBadRequest || len(lines) < 3 {
		t.Fatalf("problems: %d %v", resp.StatusCode, out)
	}
	first := lines[0].(map[string]any)
	if first["line"] != float64(3) || first["field"] != "email" {
		t.Errorf("first problem %v, want line 3, email", first)
	}
	if resp, out = req(false, file); resp.StatusCode != http.StatusCreated || out["count"] != float64(1) {
		t.Errorf("import: %d %v", resp.StatusCode, out)
	}
	log, _ := st.AuditLog(t.Context(), directory.AuditFilter{})
	found := false
	for _, e := range log {
		found = found || e.Action == "user.import" && strings.Contains(e.Detail, "1 users from staff.csv")
	}
	if !found {
		t.Error("no user.import audit entry")
	}
}

// TestImportExportCSV: the export has the columns an import reads, no
// secrets, cells a spreadsheet cannot run as formulas, only the users the
// viewer may see; what it writes imports again once passwords are added.
func TestImportExportCSV(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	if _, err := directory.AddUser(t.Context(), st, directory.NewUser{Name: "=HYPERLINK(\"http://evil\")", Email: "evil@example.com",
		Extension: "40021", ExtPassword: "k7#Qm2vLx9", Mobile: "600 100 300"}, directory.DefaultPasswordPolicy); err != nil {
		t.Fatal(err)
	}
	resp, body := f.as(t, ts.URL, pOwner).get("/users.csv")
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("export: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	recs, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(recs[0], ",") != "name,email,extension,mobile,role,group" || len(recs) != len(personaNames)+2 {
		t.Errorf("export header %v, %d rows", recs[0], len(recs))
	}
	for _, r := range recs[1:] {
		if r[1] == "evil@example.com" && (r[0] != `'=HYPERLINK("http://evil")` || r[3] != "+48600100300") {
			t.Errorf("row %v: formula not neutralised or mobile changed", r)
		}
		if r[1] == "owner@example.com" && (r[4] != "Owner" || r[5] != "Default group") {
			t.Errorf("owner row %v", r)
		}
	}
	if strings.Contains(body, "Ext-pass-123") || strings.Contains(strings.ToLower(recs[0][len(recs[0])-1]), "password") {
		t.Error("the export holds a secret")
	}
	_, agentCSV := f.as(t, ts.URL, pAgent).get("/users.csv")
	if n := strings.Count(strings.TrimSpace(agentCSV), "\n"); n != 1 || !strings.Contains(agentCSV, "agent@example.com") {
		t.Errorf("the agent's export (users.view own) has %d rows:\n%s", n, agentCSV)
	}
	if resp, body := f.api(t, ts.URL, pOwner).get("/api/v1/users.csv"); resp.StatusCode != http.StatusOK || !strings.Contains(body, "evil@example.com") {
		t.Errorf("API export: %d", resp.StatusCode)
	}

	// Round trip into an empty company: the export plus an ext_password column.
	var b strings.Builder
	w := csv.NewWriter(&b)
	for i, r := range recs {
		if r[1] == "evil@example.com" {
			continue
		}
		pw := "ext_password"
		if i > 0 {
			pw = "k7#Qm2vLx9"
			r[2] = "5" + r[2][1:] // other numbers
			r[1] = "copy." + r[1]
		}
		_ = w.Write(append(r, pw))
	}
	w.Flush()
	if _, err := directory.CheckImport(t.Context(), st, strings.NewReader(b.String()), directory.DefaultPasswordPolicy); err != nil {
		t.Errorf("the export does not import again: %v", err)
	}
}
