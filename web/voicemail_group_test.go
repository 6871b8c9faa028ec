package web

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/media"
)

// anyWAV is a WAV of a 440 Hz tone in a format other than the players':
// rate Hz, chans channels of bits-bit PCM, secs long.
func anyWAV(rate, chans, bits int, secs float64) []byte {
	le := binary.LittleEndian
	frames, size := int(secs*float64(rate)), bits/8
	data := make([]byte, frames*chans*size)
	for i := range frames {
		v := 0.5 * math.Sin(2*math.Pi*440*float64(i)/float64(rate))
		for c := range chans {
			p := data[(i*chans+c)*size:]
			switch bits {
			case 8:
				p[0] = byte(math.Round(v*127) + 128)
			case 16:
				le.PutUint16(p, uint16(int16(v*32767)))
			case 24:
				n := int32(v * 8388607)
				p[0], p[1], p[2] = byte(n), byte(n>>8), byte(n>>16)
			}
		}
	}
	b := make([]byte, 44, 44+len(data))
	copy(b, "RIFF")
	le.PutUint32(b[4:], uint32(36+len(data)))
	copy(b[8:], "WAVEfmt ")
	le.PutUint32(b[16:], 16)
	le.PutUint16(b[20:], 1)
	le.PutUint16(b[22:], uint16(chans))
	le.PutUint32(b[24:], uint32(rate))
	le.PutUint32(b[28:], uint32(rate*chans*size))
	le.PutUint16(b[32:], uint16(chans*size))
	le.PutUint16(b[34:], uint16(bits))
	copy(b[36:], "data")
	le.PutUint32(b[40:], uint32(len(data)))
	return append(b, data...)
}

// uploadGreeting posts the Voicemail page's greeting form as a browser
// does: multipart, with the form token.
func uploadGreeting(t *testing.T, c *client, mailbox string, wav []byte) (*http.Response, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrf", csrfToken(c.sid))
	mw.WriteField("mailbox", mailbox)
	fw, _ := mw.CreateFormFile("wav", "greeting.wav")
	fw.Write(wav)
	mw.Close()
	req, err := http.NewRequest(http.MethodPost, c.base+"/voicemail/greeting", &buf)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.send(req)
}

// TestGreetingUploadConverts: a greeting in another WAV format (44.1 kHz
// stereo 8-bit, 48 kHz 24-bit) is stored as 8 kHz 16-bit mono, by the API
// and by the page's form; a file the PBX cannot play answers 400 with the
// reason and the greeting before stays.
func TestGreetingUploadConverts(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	agent := f.api(t, ts.URL, pAgent)
	put := func(body []byte) (*http.Response, string) {
		b, _ := json.Marshal(map[string][]byte{"wav": body})
		return agent.json("PUT", "/api/v1/voicemail/mailbox/greeting", string(b))
	}
	stored := func() (*directory.Mailbox, *media.Clip) {
		t.Helper()
		m, err := st.Mailbox(t.Context(), f.users[pAgent].ID, 0)
		if err != nil || m.Greeting == "" {
			t.Fatalf("mailbox %+v %v", m, err)
		}
		c, err := media.LoadWAV(m.Greeting)
		if err != nil {
			t.Fatalf("the stored greeting does not play: %v", err)
		}
		return m, c
	}
	if resp, body := put(anyWAV(44100, 2, 8, 1.5)); resp.StatusCode != 200 {
		t.Fatalf("44.1 kHz stereo 8-bit: %d %s", resp.StatusCode, body)
	}
	m, c := stored()
	if n := c.Len(); n < 11990 || n > 12000 {
		t.Fatalf("stored greeting of %d samples, want 1.5 s at 8 kHz", n)
	}
	before, _ := os.ReadFile(m.Greeting)
	for _, bad := range []struct{ name, body, why string }{
		{"mp3", "ID3\x04\x00\x00\x00\x00\x00\x00\xff\xfb", "RIFF"},
		{"a-law", string(bytes.Replace(anyWAV(8000, 1, 8, 0.1), []byte{1, 0, 1, 0}, []byte{6, 0, 1, 0}, 1)), "format 6"},
		{"too long", string(anyWAV(8000, 1, 8, 121)), "two minutes"},
	} {
		resp, body := put([]byte(bad.body))
		if resp.StatusCode != 400 || !strings.Contains(body, bad.why) {
			t.Errorf("%s: %d %s, want 400 saying %q", bad.name, resp.StatusCode, body, bad.why)
		}
	}
	if m2, _ := stored(); m2.Greeting != m.Greeting {
		t.Fatalf("a refused upload changed the greeting: %s, was %s", m2.Greeting, m.Greeting)
	}
	if now, err := os.ReadFile(m.Greeting); err != nil || !bytes.Equal(now, before) {
		t.Fatalf("a refused upload touched the greeting file: %v", err)
	}

	// The page's form, as a browser posts it.
	web := f.as(t, ts.URL, pAgent)
	if resp, body := web.get("/voicemail"); resp.StatusCode != 200 || !strings.Contains(body, `id="greeting-form"`) ||
		!strings.Contains(body, `enctype="multipart/form-data"`) {
		t.Fatalf("voicemail page: %d, no greeting form\n%.600s", resp.StatusCode, body)
	}
	if resp, body := uploadGreeting(t, web, "own", anyWAV(48000, 1, 24, 1)); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("form upload: %d %s", resp.StatusCode, body)
	}
	m3, c := stored()
	if m3.Greeting == m.Greeting || c.Len() != 8000 {
		t.Fatalf("after the form: %s of %d samples", m3.Greeting, c.Len())
	}
	if _, err := os.Stat(m.Greeting); !os.IsNotExist(err) {
		t.Fatalf("the greeting replaced is still there: %v", err)
	}
	resp, body := uploadGreeting(t, web, "own", []byte("not audio at all"))
	if resp.StatusCode != 400 || !strings.Contains(body, "RIFF") {
		t.Fatalf("form upload of a bad file: %d\n%.600s", resp.StatusCode, body)
	}
	if m4, _ := stored(); m4.Greeting != m3.Greeting {
		t.Fatal("a refused form upload changed the greeting")
	}
}

// groupLive records which group mailboxes the web said changed.
type groupLive struct {
	mailboxLive
	gmu    sync.Mutex
	groups []int64
}

func (l *groupLive) GroupMailboxChanged(id int64) {
	l.gmu.Lock()
	defer l.gmu.Unlock()
	l.groups = append(l.groups, id)
}

// TestGroupVoicemailWeb: a group's messages are heard by its members
// (recordings.listen own) and by the lead of a parent group (department),
// not by someone of another group; its setting and greeting are changed
// under ivr.control over the group.
func TestGroupVoicemailWeb(t *testing.T) {
	f := newFixture(t)
	live := &groupLive{}
	_, st, ts := f.openWith(t, live, Config{})
	north := f.groups["north"]
	if err := st.SetMailbox(t.Context(), &directory.Mailbox{GroupID: north.ID, Enabled: true}); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(f.dir, "voicemail", "g-north.wav")
	wav := testWAV(4000)
	if err := os.WriteFile(path, wav, 0o600); err != nil {
		t.Fatal(err)
	}
	h := sha256.Sum256(wav)
	sum := hex.EncodeToString(h[:])
	v := &directory.Voicemail{GroupID: north.ID, Caller: "+48221234567", StartedAt: time.Now().UTC(),
		Duration: 500 * time.Millisecond, Path: path, SHA256: sum}
	if err := st.CreateVoicemail(t.Context(), v); err != nil {
		t.Fatal(err)
	}
	list := "/api/v1/voicemail?group=" + itoa(north.ID)
	audio := "/api/v1/voicemail/" + itoa(v.ID) + "/audio"
	for _, tc := range []struct {
		p    string
		want int
	}{{pAgent, 200}, {pLead, 200}, {pAdmin, 200}, {pPeer, 404}} {
		c := f.api(t, ts.URL, tc.p)
		resp, body := c.get(list)
		if resp.StatusCode != tc.want || tc.want == 200 && !strings.Contains(body, `"id": `+itoa(v.ID)) {
			t.Errorf("%s lists the group's messages: %d, want %d\n%.300s", tc.p, resp.StatusCode, tc.want, body)
		}
		if resp, _ := c.get(audio); resp.StatusCode != tc.want {
			t.Errorf("%s hears the group's message: %d, want %d", tc.p, resp.StatusCode, tc.want)
		}
	}
	row := `id="voicemail-` + itoa(v.ID) + `"`
	if _, body := f.as(t, ts.URL, pAgent).get("/voicemail"); !strings.Contains(body, row) {
		t.Error("the agent's page does not show the group's message")
	}
	if _, body := f.as(t, ts.URL, pPeer).get("/voicemail"); strings.Contains(body, row) {
		t.Error("the peer's page shows another group's message")
	}
	if resp, _ := f.api(t, ts.URL, pAgent).json("POST", "/api/v1/voicemail/"+itoa(v.ID)+"/heard", ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("heard: %d", resp.StatusCode)
	}
	live.gmu.Lock()
	if len(live.groups) != 1 || live.groups[0] != north.ID {
		t.Errorf("group mailboxes told %v, want north's", live.groups)
	}
	live.gmu.Unlock()

	// The setting: ivr.control over the group.
	box := "/api/v1/groups/" + itoa(north.ID) + "/voicemail"
	if resp, _ := f.api(t, ts.URL, pAgent).json("PUT", box, `{"pin":"1357"}`); resp.StatusCode != 403 {
		t.Fatalf("agent sets the group's PIN: %d", resp.StatusCode)
	}
	admin := f.api(t, ts.URL, pAdmin)
	if resp, body := admin.json("PUT", box, `{"pin":"1357","to_email":true}`); resp.StatusCode != 200 {
		t.Fatalf("admin sets the group's PIN: %d %s", resp.StatusCode, body)
	}
	b, _ := json.Marshal(map[string][]byte{"wav": anyWAV(22050, 2, 16, 1)})
	if resp, body := admin.json("PUT", box+"/greeting", string(b)); resp.StatusCode != 200 {
		t.Fatalf("admin uploads the group's greeting: %d %s", resp.StatusCode, body)
	}
	m, err := st.Mailbox(t.Context(), 0, north.ID)
	if err != nil || !directory.CheckPIN(m.PINHash, "1357") || !m.ToEmail || m.Greeting == "" {
		t.Fatalf("group mailbox %+v %v", m, err)
	}
	if c, err := media.LoadWAV(m.Greeting); err != nil || c.Len() != 8000 {
		t.Fatalf("group greeting: %v", err)
	}
	// The form: only for a group the viewer may change.
	if resp, _ := uploadGreeting(t, f.as(t, ts.URL, pAgent), itoa(north.ID), anyWAV(8000, 1, 16, 1)); resp.StatusCode != 403 {
		t.Fatalf("agent uploads the group's greeting by the form: %d", resp.StatusCode)
	}
	if resp, body := uploadGreeting(t, f.as(t, ts.URL, pAdmin), itoa(north.ID), anyWAV(16000, 1, 16, 2)); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("admin uploads the group's greeting by the form: %d %.300s", resp.StatusCode, body)
	}
	if m2, _ := st.Mailbox(t.Context(), 0, north.ID); m2.Greeting == m.Greeting {
		t.Fatal("the form did not change the group's greeting")
	}
}
