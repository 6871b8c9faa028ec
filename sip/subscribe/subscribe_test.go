package subscribe

import (
	"testing"

	"github.com/switchboard-pbx/switchboard/directory"
)

func TestIsMWI(t *testing.T) {
	for ev, want := range map[string]bool{
		"message-summary":          true,
		" Message-Summary ;id=1":   true,
		"dialog":                   false,
		"message-summary-extended": false,
		"":                         false,
	} {
		if got := isMWI(ev); got != want {
			t.Errorf("isMWI(%q) = %v, want %v", ev, got, want)
		}
	}
}

func TestMWIBody(t *testing.T) {
	got := mwiBody(directory.VoicemailCount{New: 2, Old: 5}, "sip:10001@pbx.example")
	want := "Messages-Waiting: yes\r\nMessage-Account: sip:10001@pbx.example\r\nVoice-Message: 2/5\r\n"
	if got != want {
		t.Errorf("body %q, want %q", got, want)
	}
	if got := mwiBody(directory.VoicemailCount{Old: 3}, "sip:10001@pbx.example"); got[:20] != "Messages-Waiting: no" {
		t.Errorf("no new messages: body %q", got)
	}
}
