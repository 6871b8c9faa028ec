package web

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchboard-pbx/switchboard/directory"
)

// responsivePages is every HTML page a GET reaches, with the fixture's
// objects in place of {id}: what TestResponsive opens.
func responsivePages(s *Server, f *fixture) []string {
	var out []string
	seen := map[string]bool{}
	for _, rt := range s.Routes() {
		p := rt.Pattern
		if rt.API || rt.Method != http.MethodGet || strings.HasPrefix(p, "/static/") || p == "/healthz" ||
			strings.HasPrefix(p, "/provision/") || // phones' files, not pages
			strings.HasSuffix(p, ".csv") || strings.HasSuffix(p, "/audio") || strings.HasSuffix(p, "/download") {
			continue
		}
		if tg := f.targetOf(p); tg != nil {
			p = strings.Replace(p, "{id}", itoa(tg.id), 1)
		}
		p = strings.Replace(p, "{token}", "not-a-token", 1) // the setup and invitation pages' refusals
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// TestResponsive opens every page in every language at a phone's width
// (390 px) and a laptop's (1366 px): the page never scrolls sideways (wide
// tables scroll inside their card), and on the phone the navigation is
// folded behind a menu button that opens it. Screenshots go to a temporary
// directory (kept with SWITCHBOARD_SCREENSHOTS=DIR for people to look at).
func TestResponsive(t *testing.T) {
	ctx := browser(t)
	f := newFixture(t)
	s, st, ts := f.open(t)
	seedTelephony(t, st)
	shots := t.TempDir()
	if d := os.Getenv("SWITCHBOARD_SCREENSHOTS"); d != "" {
		shots = d
	}
	pages := responsivePages(s, f)
	if len(pages) < 20 {
		t.Fatalf("only %d pages: %v", len(pages), pages)
	}
	do := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(js string) []float64 {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[[]float64](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return v
	}
	shot := func(name string) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			buf, err := chromedp.FullScreenshot(60)(ctx, tg)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(shots, name+".png"), buf, 0o644)
		})
	}
	const overflow = `[document.scrollingElement.scrollWidth, window.innerWidth]`
	do("login", chromedp.Navigate(ts.URL+"/login"), chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), "owner@example.com"), chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Submit(chromedp.CSS("#password")), chromedp.WaitVisible(chromedp.CSS("header.top")))
	for _, lang := range languages {
		l := lang
		if _, err := st.UpdateUser(t.Context(), f.users[pOwner].ID, directory.UserPatch{Language: &l}); err != nil {
			t.Fatal(err)
		}
		for _, width := range []int64{390, 1366} {
			do("viewport", chromedp.EmulateViewport(width, 844))
			for _, p := range pages {
				name := fmt.Sprintf("%s-%d%s", lang, width, strings.NewReplacer("/", "_", "{", "", "}", "").Replace(p))
				do(name, chromedp.Navigate(ts.URL+p), chromedp.WaitReady(chromedp.CSS("main")), shot(name))
				if v := eval(overflow); v[0] > v[1] {
					t.Errorf("%s %dpx %s: the page is %v px wide in a %v px window", lang, width, p, v[0], v[1])
				}
			}
			// The navigation: folded behind the button on the phone, open on the laptop.
			do("dashboard", chromedp.Navigate(ts.URL+"/"), chromedp.WaitReady(chromedp.CSS("main")))
			state := `[document.querySelector(".nav-toggle").offsetParent ? 1 : 0, document.querySelector("#menu").offsetHeight > 0 ? 1 : 0,
				document.querySelector(".nav-toggle").getAttribute("aria-expanded") === "true" ? 1 : 0]`
			v := eval(state)
			if width == 1366 {
				if v[0] != 0 || v[1] != 1 {
					t.Errorf("%s 1366px: menu button shown %v, navigation shown %v; want no button and the navigation", lang, v[0], v[1])
				}
				continue
			}
			if v[0] != 1 || v[1] != 0 {
				t.Errorf("%s 390px: menu button shown %v, navigation shown %v; want the button and the navigation folded", lang, v[0], v[1])
				continue // a click on a hidden button would wait for ever
			}
			do("open the menu", chromedp.Click(chromedp.CSS(".nav-toggle")), shot(lang+"-390-menu-open"))
			if v := eval(state); v[1] != 1 || v[2] != 1 {
				t.Errorf("%s 390px: after a tap the navigation shown %v, aria-expanded %v", lang, v[1], v[2])
				continue
			}
			if v := eval(overflow); v[0] > v[1] {
				t.Errorf("%s 390px: the open menu makes the page %v px wide", lang, v[0])
			}
			do("follow a menu link", chromedp.Click(chromedp.CSS(`#menu a[href="/users"]`)), chromedp.WaitReady(chromedp.CSS(`a[href="/users/import"]`)))
			if loc, _ := chromedp.Run(ctx, chromedp.Location()); !strings.HasSuffix(loc, "/users") {
				t.Errorf("%s 390px: the menu's Users link led to %s", lang, loc)
			}
			do("close the menu", chromedp.Navigate(ts.URL+"/"), chromedp.WaitReady(chromedp.CSS("main")),
				chromedp.Click(chromedp.CSS(".nav-toggle")), chromedp.Click(chromedp.CSS(".nav-toggle")))
			if v := eval(state); v[1] != 0 || v[2] != 0 {
				t.Errorf("%s 390px: a second tap leaves the navigation shown %v, aria-expanded %v", lang, v[1], v[2])
			}
		}
	}
	// The import preview, a wide table, on the phone.
	file := filepath.Join(t.TempDir(), "staff.csv")
	if err := os.WriteFile(file, []byte("name,email,extension,ext_password,role,group,mobile\n"+
		"Nguyễn Văn Một Hai Ba Bốn Năm,very.long.address.of.someone@subdomain.example.com,40001,k7#Qm2vLx9,Agent,Sales North,600 100 200\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	do("import preview at 390px", chromedp.EmulateViewport(390, 844), chromedp.Navigate(ts.URL+"/users/import"),
		chromedp.WaitVisible(chromedp.CSS("#file")), chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{file}),
		chromedp.Submit(chromedp.CSS("#file")), chromedp.WaitVisible(chromedp.CSS("#import-preview")), shot("import-preview-390"))
	if v := eval(overflow); v[0] > v[1] {
		t.Errorf("import preview 390px: %v px wide", v[0])
	}
}
