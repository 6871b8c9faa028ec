package web

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
)

// TestRecordingFileStaysInside plays the attacker who can write into the
// recordings directory (or a row's path): a planted symlink to /etc/passwd,
// a symlinked folder leading out, a row pointing outside, a file swapped
// for other bytes of the same size. None is served; each answers 410 with
// the JSON error and leaves a recording.tampered audit entry. A missing
// file and a directory answer 404, never 200 with an error body.
func TestRecordingFileStaysInside(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	callID := f.calls["sales"].ID
	newRec := func(path string) int64 {
		t.Helper()
		rec := &directory.Recording{CallID: callID, Path: path, Duration: time.Second, State: directory.RecordingRepaired}
		if err := st.CreateRecording(t.Context(), rec); err != nil {
			t.Fatal(err)
		}
		return rec.ID
	}
	link := filepath.Join(f.dir, "planted.wav")
	if err := os.Symlink("/etc/passwd", link); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc", filepath.Join(f.dir, "2025")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(f.dir, "adir.wav"), 0o700); err != nil {
		t.Fatal(err)
	}
	swapped := f.recs["support"]
	b, err := os.ReadFile(swapped.Path)
	if err != nil {
		t.Fatal(err)
	}
	b[100] ^= 0xff // same size, other audio
	if err := os.WriteFile(swapped.Path, b, 0o600); err != nil {
		t.Fatal(err)
	}

	admin := f.api(t, ts.URL, pAdmin)
	for _, tc := range []struct {
		name string
		id   int64
		want int
		code string
	}{
		{"a symlink planted in the directory", newRec(link), http.StatusGone, "gone"},
		{"a symlinked folder leading out", newRec(filepath.Join(f.dir, "2025", "passwd")), http.StatusGone, "gone"},
		{"a row pointing outside", newRec("/etc/passwd"), http.StatusGone, "gone"},
		{"a row climbing out", newRec(filepath.Join(f.dir, "..", "..", "etc", "passwd")), http.StatusGone, "gone"},
		{"same size, other bytes", swapped.ID, http.StatusGone, "gone"},
		{"a missing file", newRec(filepath.Join(f.dir, "missing.wav")), http.StatusNotFound, "not_found"},
		{"a directory", newRec(filepath.Join(f.dir, "adir.wav")), http.StatusNotFound, "not_found"},
	} {
		for _, what := range []string{"audio", "download"} {
			resp, body := admin.get("/api/v1/recordings/" + itoa(tc.id) + "/" + what)
			var e struct{ Error apiError }
			if resp.StatusCode != tc.want || json.Unmarshal([]byte(body), &e) != nil || e.Error.Code != tc.code ||
				strings.Contains(body, "root:") {
				t.Errorf("%s, %s: %d %.80q, want %d %s", tc.name, what, resp.StatusCode, body, tc.want, tc.code)
			}
		}
		resp, body := f.as(t, ts.URL, pAdmin).get("/recordings/" + itoa(tc.id) + "/audio")
		if resp.StatusCode != tc.want || strings.Contains(body, "root:") {
			t.Errorf("%s, page: %d", tc.name, resp.StatusCode)
		}
	}
	es, err := st.AuditLog(t.Context(), directory.AuditFilter{Action: "recording.tampered"})
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 5*3 {
		t.Errorf("%d recording.tampered entries, want 15", len(es))
	}
	// The untouched recording still plays.
	if resp, body := admin.get("/api/v1/recordings/" + itoa(f.recs["sales"].ID) + "/audio"); resp.StatusCode != 200 || !strings.HasPrefix(body, "RIFF") {
		t.Errorf("a sound recording: %d", resp.StatusCode)
	}
}

// TestRecordingDeleteStaysInside: deleting a recording whose row points
// outside the directory removes nothing there (410, audited), and deleting
// a planted symlink removes the link, not its target.
func TestRecordingDeleteStaysInside(t *testing.T) {
	f := newFixture(t)
	_, st, ts := f.open(t)
	victim := filepath.Join(t.TempDir(), "precious.txt")
	if err := os.WriteFile(victim, []byte("keep me"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(f.dir, "link.wav")
	if err := os.Symlink(victim, link); err != nil {
		t.Fatal(err)
	}
	owner := f.api(t, ts.URL, pOwner)
	for _, tc := range []struct {
		name, path string
		want       int
	}{
		{"a row pointing outside", victim, http.StatusGone},
		{"a symlink inside", link, http.StatusNoContent},
	} {
		rec := &directory.Recording{CallID: f.calls["sales"].ID, Path: tc.path, State: directory.RecordingDone}
		if err := st.CreateRecording(t.Context(), rec); err != nil {
			t.Fatal(err)
		}
		if resp, body := owner.do(http.MethodDelete, "/api/v1/recordings/"+itoa(rec.ID), nil, nil); resp.StatusCode != tc.want {
			t.Errorf("%s: %d %s, want %d", tc.name, resp.StatusCode, body, tc.want)
		}
		if b, err := os.ReadFile(victim); err != nil || string(b) != "keep me" {
			t.Fatalf("%s: the file outside was removed or changed: %v", tc.name, err)
		}
	}
	if _, err := os.Lstat(link); !os.IsNotExist(err) {
		t.Errorf("the symlink itself was not removed: %v", err)
	}
}
