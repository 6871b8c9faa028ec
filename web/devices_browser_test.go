package web

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/switchboard-pbx/switchboard/directory"
)

// TestBrowserDevicesAndRecordings: an admin adds a desk phone on the
// Devices page, the phone fetches its configuration from the URL shown
// once, and the page then shows the fetch; the recordings page finds
// yesterday's outbound call by its filters.
func TestBrowserDevicesAndRecordings(t *testing.T) {
	ctx := browser(t)
	f := newFixture(t)
	_, st, ts := f.open(t)
	_, out := addOutboundRecording(t, f, st)
	u := ts.URL
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return s
	}
	run("login", chromedp.Navigate(u+"/login"), chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), "admin@example.com"), chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Submit(chromedp.CSS("#password")), chromedp.WaitVisible(chromedp.CSS("header.top")))
	run("add a phone", chromedp.Navigate(u+"/devices"), chromedp.WaitVisible(chromedp.CSS("#device-user")),
		chromedp.SendKeys(chromedp.CSS("#device-user"), "20004"),
		chromedp.SetValue(chromedp.CSS("#device-vendor"), "yealink"),
		chromedp.SendKeys(chromedp.CSS("#device-mac"), "00:15:65:12:34:56"),
		chromedp.SendKeys(chromedp.CSS("#device-model"), "T54W"),
		chromedp.SendKeys(chromedp.CSS("#device-label"), "Front desk"),
		chromedp.SendKeys(chromedp.CSS("#device-ext-password"), fixtureExtPassword),
		chromedp.Submit(chromedp.CSS("#device-user")), chromedp.WaitVisible(chromedp.CSS("#provision-file")),
		shot("18-device-added"))
	file := strings.TrimSpace(text("#provision-file"))
	if !strings.HasPrefix(file, u+"/provision/") || !strings.HasSuffix(file, "/001565123456.cfg") {
		t.Fatalf("provisioning URL %q", file)
	}
	if got := text("#devices"); !strings.Contains(got, "001565123456") || !strings.Contains(got, "never") {
		t.Errorf("the new phone is not listed as never fetched: %q", got)
	}
	// The phone fetches its file (no session, only the secret in the URL).
	resp, err := http.Get(file)
	if err != nil {
		t.Fatal(err)
	}
	cfg, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(cfg), "account.1.user_name = 20004") {
		t.Fatalf("fetch: %d\n%s", resp.StatusCode, cfg)
	}
	// Without the secret, nothing.
	if resp, err := http.Get(u + "/provision/nope/001565123456.cfg"); err != nil || resp.StatusCode != 404 {
		t.Errorf("fetch without the secret: %v %v", resp.StatusCode, err)
	}
	run("see the fetch", chromedp.Navigate(u+"/devices"), chromedp.WaitVisible(chromedp.CSS("#devices")), shot("19-device-fetched"))
	ds, err := st.Devices(t.Context(), directory.DeviceFilter{Vis: directory.Visibility{All: true}})
	if err != nil {
		t.Fatal(err)
	}
	var id int64
	for _, d := range ds {
		if d.MAC == "001565123456" {
			id = d.ID
		}
	}
	if got := text("#device-" + itoa(id) + " .last-fetch"); strings.Contains(got, "never") || !strings.Contains(got, "127.0.0.1") {
		t.Errorf("last fetch not shown: %q", got)
	}
	// Yesterday's recorded outbound call, found by its filters.
	run("filter recordings", chromedp.Navigate(u+"/recordings"), chromedp.WaitVisible(chromedp.CSS("#recording-filters")),
		chromedp.SendKeys(chromedp.CSS(`#recording-filters input[name="from"]`), "03132025"),
		chromedp.SendKeys(chromedp.CSS(`#recording-filters input[name="to"]`), "03132025"),
		chromedp.SetValue(chromedp.CSS(`#recording-filters select[name="direction"]`), "outbound"),
		chromedp.SendKeys(chromedp.CSS(`#recording-filters input[name="min_duration"]`), "1:00"),
		chromedp.Submit(chromedp.CSS(`#recording-filters input[name="number"]`)))
	// The unfiltered page lists the call too: wait for the filtered one to
	// have loaded, not only for the row (a screenshot of a page still
	// navigating has no width).
	// Evaluating while the page navigates fails (its context is gone):
	// ask again until the new page answers.
	for {
		loaded, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`location.search.includes("direction=outbound") && document.readyState === "complete"`))
		if err == nil && loaded {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the filtered recordings page never loaded: %v", err)
		}
		time.Sleep(50 * time.Millisecond) // a poll interval, not a limit
	}
	run("filtered recordings", chromedp.WaitVisible(chromedp.CSS("#rec-"+itoa(out.ID))), shot("20-recordings-filtered"))
	got := text("#recordings tbody")
	if !strings.Contains(got, "+48225550100") || !strings.Contains(got, "Agent Person") || strings.Contains(got, "Lead Person") {
		t.Errorf("filtered recordings: %q", got)
	}
	if n := strings.Count(got, "Agent Person"); n != 1 {
		t.Errorf("%d rows, want the one outbound call: %q", n, got)
	}
}
