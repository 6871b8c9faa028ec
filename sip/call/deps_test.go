package call

import (
	"slices"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/depcheck"
)

// TestDeps keeps the call core below the features and the server: of our
// packages it may use the directory's types, the media relay and the SIP
// layers below it (legs and bridges, the dialer, the dial plan, the
// bindings, the trunks, the spool), never package sip, whose features are
// built on it.
func TestDeps(t *testing.T) {
	allowed := []string{"directory", "media", "sip/auth", "sip/creds", "sip/digest", "sip/guard", "authz", "sip/dial", "sip/leg", "sip/location",
		"sip/presence", "sip/route", "sip/sdpneg", "sip/spool", "sip/trunk", "sip/wire", "internal/clock"}
	for _, d := range depcheck.Load(t).Ours() {
		if !slices.Contains(allowed, d) {
			t.Errorf("call imports %s: the call core knows no feature and no server", d)
		}
	}
}
