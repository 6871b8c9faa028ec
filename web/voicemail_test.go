package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/switchboard-pbx/switchboard/directory"
)

// TestVoicemailListenUnderAuthz: the owner lists and hears their message,
// a team lead hears the messages of their department's users, an agent of
// another group neither lists nor hears them (404), and only someone who
// may hear a message marks it heard or deletes it.
func TestVoicemailListenUnderAuthz(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	want, err := os.ReadFile(f.vm.Path)
	if err != nil {
		t.Fatal(err)
	}
	agent, lead, peer := f.api(t, ts.URL, pAgent), f.api(t, ts.URL, pLead), f.api(t, ts.URL, pPeer)
	audio := "/api/v1/voicemail/" + itoa(f.vm.ID) + "/audio"

	var got struct {
		Data []voicemailJSON `json:"data"`
	}
	resp, body := agent.get("/api/v1/voicemail")
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &got) != nil || len(got.Data) != 1 || got.Data[0].ID != f.vm.ID ||
		got.Data[0].Caller != "+48221234567" || got.Data[0].Heard || got.Data[0].Audio != audio {
		t.Fatalf("agent's own list: %d %s", resp.StatusCode, body)
	}
	for _, c := range []*client{agent, lead} {
		resp, body = c.get(audio)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "audio/wav" || body != string(want) {
			t.Fatalf("audio: %d %s, %d bytes", resp.StatusCode, resp.Header.Get("Content-Type"), len(body))
		}
	}
	resp, body = lead.get("/api/v1/voicemail?user=" + itoa(f.users[pAgent].ID))
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &got) != nil || len(got.Data) != 1 {
		t.Fatalf("lead lists the agent's mailbox: %d %s", resp.StatusCode, body)
	}
	// The peer (Support) may not know of a Sales agent's messages.
	for _, tc := range []struct{ method, path string }{
		{"GET", audio},
		{"GET", "/api/v1/voicemail?user=" + itoa(f.users[pAgent].ID)},
		{"POST", "/api/v1/voicemail/" + itoa(f.vm.ID) + "/heard"},
		{"DELETE", "/api/v1/voicemail/" + itoa(f.vm.ID)},
	} {
		resp, _ := peer.json(tc.method, tc.path, "")
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("peer %s %s: %d, want 404", tc.method, tc.path, resp.StatusCode)
		}
	}
	if v, err := st.Voicemail(t.Context(), f.vm.ID); err != nil || v.Heard {
		t.Fatalf("after the peer's attempts: %+v %v", v, err)
	}
	resp, _ = agent.json("POST", "/api/v1/voicemail/"+itoa(f.vm.ID)+"/heard", "")
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("mark heard: %d", resp.StatusCode)
	}
	if v, err := st.Voicemail(t.Context(), f.vm.ID); err != nil || !v.Heard {
		t.Fatalf("not heard after marking: %+v %v", v, err)
	}
	resp, _ = agent.json("DELETE", "/api/v1/voicemail/"+itoa(f.vm.ID), "")
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	if _, err := os.Stat(f.vm.Path); !os.IsNotExist(err) {
		t.Fatalf("file still there after delete: %v", err)
	}
	if resp, _ := agent.get(audio); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("audio after delete: %d", resp.StatusCode)
	}
}

// TestMailboxSetting: a user sets their own mailbox (the PIN kept only as
// a hash, never shown); an admin sets another's; a peer may not.
func TestMailboxSetting(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	agent, admin, peer := f.api(t, ts.URL, pAgent), f.api(t, ts.URL, pAdmin), f.api(t, ts.URL, pPeer)
	resp, body := agent.json("PUT", "/api/v1/voicemail/mailbox", `{"enabled":true,"pin":"2468","to_email":true}`)
	var mj mailboxJSON
	if resp.StatusCode != 200 || strings.Contains(body, "argon2") || json.Unmarshal([]byte(body), &mj) != nil || !mj.PINSet || !mj.Enabled {
		t.Fatalf("own mailbox: %d %s", resp.StatusCode, body)
	}
	m, err := st.Mailbox(t.Context(), f.users[pAgent].ID, 0)
	if err != nil || !m.Enabled || !m.ToEmail || !directory.CheckPIN(m.PINHash, "2468") {
		t.Fatalf("stored mailbox %+v %v", m, err)
	}
	if resp, _ := agent.json("PUT", "/api/v1/voicemail/mailbox", `{"pin":"12a"}`); resp.StatusCode != 400 {
		t.Fatalf("a PIN with a letter: %d", resp.StatusCode)
	}
	agentBox := "/api/v1/users/" + itoa(f.users[pAgent].ID) + "/voicemail"
	if resp, _ := peer.json("PUT", agentBox, `{"enabled":false}`); resp.StatusCode != 403 && resp.StatusCode != 404 {
		t.Fatalf("peer sets the agent's mailbox: %d", resp.StatusCode)
	}
	if m, _ := st.Mailbox(t.Context(), f.users[pAgent].ID, 0); !m.Enabled {
		t.Fatal("the peer's attempt changed the mailbox")
	}
	if resp, body := admin.json("PUT", agentBox, `{"enabled":false}`); resp.StatusCode != 200 {
		t.Fatalf("admin sets the agent's mailbox: %d %s", resp.StatusCode, body)
	}
	if m, _ := st.Mailbox(t.Context(), f.users[pAgent].ID, 0); m.Enabled || !directory.CheckPIN(m.PINHash, "2468") {
		t.Fatalf("after the admin's change: %+v", m)
	}
}

// TestGreetingUpload: a WAV of 8 kHz PCM becomes the mailbox's greeting,
// under the recordings directory; anything else is refused with 400.
func TestGreetingUpload(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	agent := f.api(t, ts.URL, pAgent)
	put := func(body []byte) (*http.Response, string) {
		b, _ := json.Marshal(map[string][]byte{"wav": body})
		return agent.json("PUT", "/api/v1/voicemail/mailbox/greeting", string(b))
	}
	if resp, body := put([]byte("RIFF\x00\x00\x00\x00WAVEjunk")); resp.StatusCode != 400 {
		t.Fatalf("not a WAV: %d %s", resp.StatusCode, body)
	}
	wav := testWAV(800)
	if resp, body := put(wav); resp.StatusCode != 200 {
		t.Fatalf("greeting: %d %s", resp.StatusCode, body)
	}
	m, err := st.Mailbox(t.Context(), f.users[pAgent].ID, 0)
	if err != nil || m.Greeting == "" || !strings.HasPrefix(m.Greeting, f.dir) {
		t.Fatalf("mailbox %+v %v", m, err)
	}
	if got, err := os.ReadFile(m.Greeting); err != nil || !bytes.Equal(got, wav) {
		t.Fatalf("greeting file: %v", err)
	}
	first := m.Greeting
	if resp, _ := put(wav); resp.StatusCode != 200 {
		t.Fatal("second greeting refused")
	}
	if _, err := os.Stat(first); !os.IsNotExist(err) {
		t.Fatalf("the greeting replaced is still there: %v", err)
	}
}

// TestVoicemailPage: the page lists one's own messages with a player;
// another user's page does not show them.
func TestVoicemailPage(t *testing.T) {
	f := newFixture(t)
	_, _, ts := f.open(t)
	row := `id="voicemail-` + itoa(f.vm.ID) + `"`
	resp, body := f.as(t, ts.URL, pAgent).get("/voicemail")
	if resp.StatusCode != 200 || !strings.Contains(body, row) || !strings.Contains(body, `src="/voicemail/`+itoa(f.vm.ID)+`/audio"`) {
		t.Fatalf("agent's page: %d\n%.800s", resp.StatusCode, body)
	}
	resp, body = f.as(t, ts.URL, pLead).get("/voicemail")
	if resp.StatusCode != 200 || strings.Contains(body, row) {
		t.Fatalf("lead's own page shows the agent's message: %d", resp.StatusCode)
	}
	c := f.as(t, ts.URL, pAgent)
	if resp, _ := c.post("/voicemail/"+itoa(f.vm.ID)+"/heard", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("mark heard: %d", resp.StatusCode)
	}
	if resp, _ := f.as(t, ts.URL, pPeer).post("/voicemail/"+itoa(f.vm.ID)+"/delete", nil); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("peer deletes the agent's message: %d", resp.StatusCode)
	}
}

// mailboxLive records which mailboxes the web said changed (the sip side
// is cmd's to wire; its NOTIFYs are tested in package sip).
type mailboxLive struct {
	mu      sync.Mutex
	changed []int64
}

func (l *mailboxLive) Registrations() []directory.Binding { return nil }
func (l *mailboxLive) ActiveCalls() []ActiveCall          { return nil }
func (l *mailboxLive) MailboxChanged(id int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.changed = append(l.changed, id)
}

// TestVoicemailHeardTellsTheLamp: marking a message heard or deleting it
// tells the live PBX whose mailbox changed.
func TestVoicemailHeardTellsTheLamp(t *testing.T) {
	f := newFixture(t)
	live := &mailboxLive{}
	ts := f.openLive(t, live)
	agent := f.api(t, ts.URL, pAgent)
	if resp, _ := agent.json("POST", "/api/v1/voicemail/"+itoa(f.vm.ID)+"/heard", ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("heard: %d", resp.StatusCode)
	}
	if resp, _ := agent.json("DELETE", "/api/v1/voicemail/"+itoa(f.vm.ID), ""); resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete: %d", resp.StatusCode)
	}
	live.mu.Lock()
	defer live.mu.Unlock()
	if id := f.users[pAgent].ID; len(live.changed) != 2 || live.changed[0] != id || live.changed[1] != id {
		t.Fatalf("mailboxes told %v, want the agent's twice", live.changed)
	}
}
