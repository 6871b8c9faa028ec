package dial

import (
	"slices"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/depcheck"
)

// TestDeps keeps the dialer below the calls: it uses the routes it rings
// (sip/route and what that uses), the dialogs of sip/leg, the SDP of
// sip/sdpneg and the media relay, and nothing of package sip, its calls
// or its features.
func TestDeps(t *testing.T) {
	allowed := []string{"authz", "directory", "internal/clock", "media", "sip/auth", "sip/creds",
		"sip/digest", "sip/guard", "sip/leg", "sip/location", "sip/route", "sip/sdpneg", "sip/trunk", "sip/wire"}
	for _, d := range depcheck.Load(t).Ours() {
		if !slices.Contains(allowed, d) {
			t.Errorf("sip/dial imports %s: it may use only %v", d, allowed)
		}
	}
}
