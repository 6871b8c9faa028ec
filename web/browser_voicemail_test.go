package web

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/switchboard-pbx/switchboard/media"
)

// TestBrowserGreetingUpload: in Chromium, the agent picks a 44.1 kHz
// stereo WAV on the Voicemail page and uploads it: it becomes the
// mailbox's greeting at 8 kHz mono. A file that is not audio shows the
// reason on a 400 page and the greeting stays.
func TestBrowserGreetingUpload(t *testing.T) {
	ctx := browser(t)
	f := newFixture(t)
	_, st, ts := f.open(t)
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "hello.wav"), filepath.Join(dir, "notes.wav")
	if err := os.WriteFile(good, anyWAV(44100, 2, 16, 2), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("these are my notes, not audio"), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	run("login", chromedp.Navigate(ts.URL+"/login"), chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), "agent@example.com"), chromedp.SendKeys(chromedp.CSS("#password"), testPassword),
		chromedp.Submit(chromedp.CSS("#password")), chromedp.WaitVisible(chromedp.CSS("nav")))
	run("upload", chromedp.Navigate(ts.URL+"/voicemail"), chromedp.WaitVisible(chromedp.CSS("#greeting-form")),
		chromedp.SetUploadFiles(chromedp.CSS("#wav"), []string{good}), chromedp.Submit(chromedp.CSS("#wav")),
		chromedp.WaitVisible(chromedp.CSS("p.flash")), shot("voicemail-greeting"))
	m, err := st.Mailbox(t.Context(), f.users[pAgent].ID, 0)
	if err != nil || m.Greeting == "" {
		t.Fatalf("mailbox after the upload: %+v %v", m, err)
	}
	if c, err := media.LoadWAV(m.Greeting); err != nil || c.Len() != 16000 {
		t.Fatalf("the stored greeting: %v", err)
	}
	run("bad upload", chromedp.Navigate(ts.URL+"/voicemail"), chromedp.WaitVisible(chromedp.CSS("#greeting-form")),
		chromedp.SetUploadFiles(chromedp.CSS("#wav"), []string{bad}), chromedp.Submit(chromedp.CSS("#wav")),
		chromedp.WaitVisible(chromedp.CSS("p.err")), shot("voicemail-greeting-refused"))
	msg, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("main")))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(msg, "400") || !strings.Contains(msg, "RIFF") {
		t.Fatalf("the refusal page says:\n%s", msg)
	}
	if m2, _ := st.Mailbox(t.Context(), f.users[pAgent].ID, 0); m2.Greeting != m.Greeting {
		t.Fatal("a refused upload changed the greeting")
	}
}
