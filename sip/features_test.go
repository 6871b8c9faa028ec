package sip

import (
	"errors"
	"strings"
	"testing"

	"github.com/emiago/sipgo"

	"github.com/switchboard-pbx/switchboard/directory"
)

// dialFeature dials a code and returns the final refusal.
func dialFeature(t *testing.T, p *callPhone, code string) (int, string) {
	t.Helper()
	_, err := p.dial(t.Context(), code)
	var de *sipgo.ErrDialogResponse
	if !errors.As(err, &de) {
		t.Fatalf("dial %s: %v, want a final refusal", code, err)
	}
	return de.Res.StatusCode, de.Res.Reason
}

func TestFeatureCodesDNDAndForward(t *testing.T) {
	st, cs, users := presenceServer(t)
	p1 := newCallPhone(t, cs, "10001", answerOK)
	newCallPhone(t, cs, "10002", answerOK)
	w := newCallPhone(t, cs, "10003", answerOK)
	_, res := subscribeTo(t, w, "10001", "presence", 600)
	wantStatus(t, res, 200)
	notifyUntil(t, w, "<basic>open</basic>")

	code, reason := dialFeature(t, p1, "*78")
	if code != 603 || !strings.Contains(reason, "Do Not Disturb On") {
		t.Errorf("*78: %d %q", code, reason)
	}
	u, err := st.User(t.Context(), users["10001"].ID)
	if err != nil {
		t.Fatal(err)
	}
	if !u.Forward.DND {
		t.Error("*78 did not set do not disturb")
	}
	notifyUntil(t, w, "<rpid:busy/>")
	// The call to 10001 now gets busy.
	if _, err := w.dial(t.Context(), "10001"); status(err) != 486 {
		t.Errorf("call to a DND extension: %v, want 486", err)
	}
	if code, _ := dialFeature(t, p1, "*79"); code != 603 {
		t.Errorf("*79: %d", code)
	}
	if u, _ = st.User(t.Context(), users["10001"].ID); u.Forward.DND {
		t.Error("*79 did not clear do not disturb")
	}
	notifyUntil(t, w, "Available")

	if code, reason := dialFeature(t, p1, "*7210002"); code != 603 || !strings.Contains(reason, "10002") {
		t.Errorf("*7210002: %d %q", code, reason)
	}
	if u, _ = st.User(t.Context(), users["10001"].ID); u.Forward.Always != "10002" {
		t.Errorf("forward always = %q, want 10002", u.Forward.Always)
	}
	if code, _ := dialFeature(t, p1, "*73"); code != 603 {
		t.Errorf("*73: %d", code)
	}
	if u, _ = st.User(t.Context(), users["10001"].ID); u.Forward.Always != "" {
		t.Errorf("forward always = %q after *73", u.Forward.Always)
	}
	entries, err := st.AuditLog(t.Context(), directory.AuditFilter{Action: "user.forwarding"})
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 4 {
		t.Errorf("%d audit entries for four feature codes", len(entries))
	}
}

func TestFeatureCodesChanged(t *testing.T) {
	st, _ := openSQLite(t)
	u := addUser(t, st, "10001")
	if err := st.SetSetting(t.Context(), directory.SettingFeatureCodes, "dnd.on=*55"); err != nil {
		t.Fatal(err)
	}
	cs := startCallServer(t, st, CallConfig{})
	p := newCallPhone(t, cs, "10001", answerOK)
	if code, _ := dialFeature(t, p, "*78"); code == 603 {
		t.Error("*78 still a feature after it moved to *55")
	}
	if code, _ := dialFeature(t, p, "*55"); code != 603 {
		t.Errorf("*55: %d", code)
	}
	if got, _ := st.User(t.Context(), u.ID); !got.Forward.DND {
		t.Error("*55 did not set do not disturb")
	}
	found := false
	for _, f := range cs.FeatureCodes() {
		found = found || (f.Feature == directory.FeatureDNDOn && f.Code == "*55")
	}
	if !found {
		t.Error("FeatureCodes does not list *55")
	}
}
