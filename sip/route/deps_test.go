package route

import (
	"slices"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/depcheck"
)

// TestDeps keeps the dial plan below the calls: it uses the directory, the
// rules of authz and the SIP layers under it (the users' credentials and
// registrations, the trunks), and nothing of package sip, its calls or
// its features.
func TestDeps(t *testing.T) {
	allowed := []string{"authz", "directory", "internal/clock", "sip/auth", "sip/creds", "sip/digest", "sip/guard",
		"sip/location", "sip/trunk", "sip/wire"}
	for _, d := range depcheck.Load(t).Ours() {
		if !slices.Contains(allowed, d) {
			t.Errorf("sip/route imports %s: it may use only %v", d, allowed)
		}
	}
}
