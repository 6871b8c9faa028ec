package trunk

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// TestRefreshIn: short registrations are refreshed halfway, long ones a
// minute before they expire.
func TestRefreshIn(t *testing.T) {
	for exp, want := range map[time.Duration]time.Duration{
		0:                time.Second / 2,
		60 * time.Second: 30 * time.Second,
		time.Hour:        59 * time.Minute,
	} {
		if got := refreshIn(exp); got != want {
			t.Errorf("refreshIn(%v) = %v, want %v", exp, got, want)
		}
	}
}

// TestGranted: the Contact's expires wins over the Expires header, which
// wins over what was asked.
func TestGranted(t *testing.T) {
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: "carrier.example"})
	res := sip.NewResponseFromRequest(req, 200, "OK", nil)
	if got := granted(res, 3600); got != time.Hour {
		t.Errorf("nothing granted: %v, want what was asked", got)
	}
	res.AppendHeader(sip.NewHeader("Expires", "600"))
	if got := granted(res, 3600); got != 10*time.Minute {
		t.Errorf("Expires 600: %v", got)
	}
	res.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", Host: "192.0.2.1"},
		Params: sip.HeaderParams{{K: "expires", V: "120"}}})
	if got := granted(res, 3600); got != 2*time.Minute {
		t.Errorf("Contact expires 120: %v", got)
	}
}
