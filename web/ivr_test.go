package web

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"math"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/media"
)

// fixtureIVR gives the fixture a menu, ID 1 in its fresh store.
func fixtureIVR(t testing.TB, st directory.Store) {
	t.Helper()
	m := &directory.IVRMenu{Number: "70000", Name: "Reception menu",
		Options: []directory.IVROption{{Digit: "1", Action: directory.IVRExtension, Target: "20001"}}}
	if err := st.CreateIVRMenu(t.Context(), m); err != nil {
		t.Fatal(err)
	}
}

// stereoWAV is a WAV of a 440 Hz tone: 44.1 kHz, 16-bit, two channels.
func stereoWAV(secs float64) []byte {
	le := binary.LittleEndian
	frames := int(secs * 44100)
	b := []byte("RIFF\x00\x00\x00\x00WAVEfmt ")
	b = le.AppendUint32(b, 16)
	b = le.AppendUint16(b, 1)
	b = le.AppendUint16(b, 2)
	b = le.AppendUint32(b, 44100)
	b = le.AppendUint32(b, 44100*4)
	b = le.AppendUint16(b, 4)
	b = le.AppendUint16(b, 16)
	b = append(b, "data"...)
	b = le.AppendUint32(b, uint32(4*frames))
	for i := range frames {
		v := uint16(int16(12000 * math.Sin(2*math.Pi*440*float64(i)/44100)))
		b = le.AppendUint16(le.AppendUint16(b, v), v)
	}
	le.PutUint32(b[4:], uint32(len(b)-8))
	return b
}

// upload posts a greeting file through the page's multipart form.
func (c *client) upload(path string, file []byte) (*http.Response, string) {
	c.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrf", csrfToken(c.sid))
	fw, _ := mw.CreateFormFile("wav", "greeting.wav")
	fw.Write(file)
	mw.Close()
	req, err := http.NewRequest(http.MethodPost, c.base+path, &buf)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.send(req)
}

// checkGreetingFile checks a stored greeting is 8 kHz mono and still the
// 440 Hz tone.
func checkGreetingFile(t *testing.T, path string, secs float64) {
	t.Helper()
	clip, err := media.LoadWAV(path)
	if err != nil {
		t.Fatalf("stored greeting %s: %v", path, err)
	}
	s := clip.Samples()
	if want := int(secs * 8000); len(s) < want-10 || len(s) > want {
		t.Errorf("greeting of %d samples, want %d at 8 kHz", len(s), want)
	}
	n := 0
	for i := 1; i < len(s); i++ {
		if (s[i-1] < 0) != (s[i] < 0) {
			n++
		}
	}
	if f := float64(n) / 2 / (float64(len(s)) / 8000); math.Abs(f-440) > 10 {
		t.Errorf("greeting tone at %.0f Hz, want 440", f)
	}
}

// TestIVRMenusPage: the owner creates, edits, uploads a greeting for and
// deletes a menu; mistakes answer 400 naming the field and store nothing.
func TestIVRMenusPage(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	c := f.as(t, ts.URL, pOwner)
	form := url.Values{"number": {"70001"}, "name": {"Sales line"}, "digit_timeout": {"4"}, "max_tries": {"2"},
		"opt_1_action": {"extension"}, "opt_1_target": {"20001"}, "opt_#_action": {"dial_by_extension"},
		"opt_9_action": {"menu"}, "opt_9_target": {"70000"}, "timeout_action": {"voicemail"}, "timeout_target": {"20001"},
		"invalid_action": {"hangup"}}
	resp, body := c.post("/ivr", form)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("create: %d\n%.500s", resp.StatusCode, body)
	}
	m, err := st.IVRMenuByNumber(t.Context(), "70001")
	if err != nil || m.Name != "Sales line" || m.DigitTimeout != 4 || m.MaxTries != 2 || len(m.Options) != 3 ||
		m.TimeoutAction != directory.IVRVoicemail || m.TimeoutTarget != "20001" {
		t.Fatalf("stored menu %+v, %v", m, err)
	}
	if o, _ := m.Option("#"); o.Action != directory.IVRDialByExtension {
		t.Errorf("option # %+v", o)
	}
	_, page := c.get("/ivr")
	for _, want := range []string{"Sales line", "70001", "Reception menu", "Dial by extension", "Auto attendant"} {
		if !strings.Contains(page, want) {
			t.Errorf("menus page lacks %q", want)
		}
	}
	for name, bad := range map[string]struct {
		form url.Values
		want string
	}{
		"a user's extension": {url.Values{"number": {"20001"}, "name": {"X"}}, "already in use"},
		"no target":          {url.Values{"number": {"70002"}, "name": {"X"}, "opt_1_action": {"extension"}}, "needs a target number"},
		"unknown action":     {url.Values{"number": {"70002"}, "name": {"X"}, "timeout_action": {"dance"}}, "unknown action"},
		"short number":       {url.Values{"number": {"7"}, "name": {"X"}}, "5 or 6 digits"},
	} {
		resp, body := c.post("/ivr", bad.form)
		if resp.StatusCode != http.StatusBadRequest || !strings.Contains(body, bad.want) {
			t.Errorf("%s: %d, want 400 with %q\n%.600s", name, resp.StatusCode, bad.want, body)
		}
	}
	if list, _ := st.IVRMenus(t.Context()); len(list) != 2 {
		t.Errorf("refused menus were stored: %+v", list)
	}

	id := itoa(m.ID)
	form.Set("name", "Sales")
	form.Del("opt_9_action")
	if resp, body := c.post("/ivr/"+id, form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("update: %d\n%.500s", resp.StatusCode, body)
	}
	if got, _ := st.IVRMenu(t.Context(), m.ID); got.Name != "Sales" || len(got.Options) != 2 {
		t.Errorf("after update %+v", got)
	}

	if resp, body := c.upload("/ivr/"+id+"/greeting", stereoWAV(1)); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("greeting upload: %d\n%.500s", resp.StatusCode, body)
	}
	got, _ := st.IVRMenu(t.Context(), m.ID)
	checkGreetingFile(t, got.Greeting, 1)
	if resp, body := c.upload("/ivr/"+id+"/greeting", []byte("ID3 an mp3")); resp.StatusCode != http.StatusBadRequest ||
		!strings.Contains(body, "must be a WAV file") {
		t.Errorf("mp3 upload: %d\n%.500s", resp.StatusCode, body)
	}
	if resp, _ := c.post("/ivr/"+id+"/delete", nil); resp.StatusCode != http.StatusSeeOther {
		t.Errorf("delete: %d", resp.StatusCode)
	}
	if _, err := st.IVRMenu(t.Context(), m.ID); err == nil {
		t.Errorf("menu still there after delete")
	}
	for _, a := range []string{"ivr.menu.create", "ivr.menu", "ivr.menu.greeting", "ivr.menu.delete"} {
		if !audited(t, st, a, "ivr:"+id) {
			t.Errorf("%s not audited", a)
		}
	}
}

// TestIVRMenusRefused: an agent (ivr.control none) and a lead with
// ivr.control at department scope get 403 with the reason: menus are
// company-wide. Nothing changes.
func TestIVRMenusRefused(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	if err := st.SetOverrides(t.Context(), f.users[pLead].ID, map[string]string{"ivr.control": "department"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{pAgent, pLead} {
		c := f.as(t, ts.URL, p)
		for _, try := range []struct {
			path string
			form url.Values
		}{
			{"/ivr", nil},
			{"/ivr/1", nil},
			{"/ivr/1", url.Values{"number": {"70000"}, "name": {"Mine"}}},
			{"/ivr/1/delete", url.Values{}},
		} {
			var resp *http.Response
			var body string
			if try.form == nil {
				resp, body = c.get(try.path)
			} else {
				resp, body = c.post(try.path, try.form)
			}
			// The lead is told the scope falls short: department, not any.
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "allowed") {
				t.Errorf("%s %s: %d\n%.300s", p, try.path, resp.StatusCode, body)
			}
		}
		api := f.api(t, ts.URL, p)
		api.call(t, http.MethodPost, "/api/v1/ivr-menus", `{"number":"70005","name":"Mine"}`, http.StatusForbidden)
		api.call(t, http.MethodDelete, "/api/v1/ivr-menus/1", ``, http.StatusForbidden)
	}
	if list, _ := st.IVRMenus(t.Context()); len(list) != 1 || list[0].Name != "Reception menu" {
		t.Errorf("after the refusals: %+v", list)
	}
}

// TestIVRMenusAPI: an admin (ivr.control any) works on menus through the
// API: CRUD, a greeting as a raw WAV body and in base64, and 4xx with the
// field for bad input.
func TestIVRMenusAPI(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	admin := f.api(t, ts.URL, pAdmin)
	out := admin.call(t, http.MethodPost, "/api/v1/ivr-menus",
		`{"number":"70010","name":"Support line","options":[{"digit":"1","action":"group","target":"20002"},{"digit":"0","action":"hangup"}]}`,
		http.StatusCreated)
	if out["number"] != "70010" || out["timeout_action"] != "hangup" || out["greeting"] != false || out["digit_timeout"] != 5.0 {
		t.Errorf("created %v", out)
	}
	id := itoa(int64(out["id"].(float64)))
	conflict := admin.call(t, http.MethodPost, "/api/v1/ivr-menus", `{"number":"70010","name":"Again"}`, http.StatusConflict)
	if e, _ := conflict["error"].(map[string]any); !strings.Contains(e["message"].(string), "already in use") {
		t.Errorf("conflict %v", conflict)
	}
	admin.call(t, http.MethodPost, "/api/v1/ivr-menus", `{"number":"70011","name":"X","options":[{"digit":"A","action":"hangup"}]}`,
		http.StatusBadRequest)
	admin.call(t, http.MethodPut, "/api/v1/ivr-menus/"+id, `{"number":"70010","name":"Support","max_tries":99}`, http.StatusBadRequest)
	admin.call(t, http.MethodPut, "/api/v1/ivr-menus/"+id, `{"number":"70010","name":"Support","max_tries":4}`, http.StatusOK)
	admin.call(t, http.MethodGet, "/api/v1/ivr-menus/999", ``, http.StatusNotFound)
	all := admin.call(t, http.MethodGet, "/api/v1/ivr-menus", ``, http.StatusOK)
	if d, _ := all["data"].([]any); len(d) != 2 {
		t.Errorf("menus %v", all)
	}

	if g := admin.call(t, http.MethodPut, "/api/v1/ivr-menus/"+id+"/greeting",
		`{"wav":"`+base64.StdEncoding.EncodeToString(stereoWAV(0.5))+`"}`, http.StatusOK); g["greeting"] != true {
		t.Errorf("greeting %v", g)
	}
	m, _ := st.IVRMenu(t.Context(), int64(out["id"].(float64)))
	checkGreetingFile(t, m.Greeting, 0.5)
	admin.call(t, http.MethodPut, "/api/v1/ivr-menus/"+id+"/greeting",
		`{"wav":"`+base64.StdEncoding.EncodeToString(stereoWAV(0.25))+`"}`, http.StatusOK)
	m2, _ := st.IVRMenu(t.Context(), m.ID)
	checkGreetingFile(t, m2.Greeting, 0.25)
	admin.call(t, http.MethodPut, "/api/v1/ivr-menus/"+id+"/greeting", `{"wav":"`+base64.StdEncoding.EncodeToString([]byte("nope"))+`"}`,
		http.StatusBadRequest)
	req, _ := http.NewRequest(http.MethodPut, ts.URL+"/api/v1/ivr-menus/"+id+"/greeting", bytes.NewReader(stereoWAV(0.1)))
	req.Header.Set("Content-Type", "audio/wav")
	if resp, _ := admin.send(req); resp.StatusCode != http.StatusUnsupportedMediaType {
		t.Errorf("raw wav body: %d, want 415 (JSON only)", resp.StatusCode)
	}
	admin.call(t, http.MethodDelete, "/api/v1/ivr-menus/"+id, ``, http.StatusNoContent)
	if !audited(t, st, "ivr.menu.create", "ivr:"+id) || !audited(t, st, "ivr.menu.delete", "ivr:"+id) {
		t.Errorf("API changes not audited")
	}
}
