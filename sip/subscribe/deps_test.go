package subscribe

import (
	"slices"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/depcheck"
)

// TestDeps keeps subscriptions beside the registrar, below the calls: of
// our packages they use the permissions, the store, the digest check and
// what lies below it, the dialog of sip/leg (and the media and SDP
// packages under it) and the presence table, and nothing of package sip's
// calls or features.
func TestDeps(t *testing.T) {
	allowed := []string{"authz", "directory", "internal/clock", "sip/auth", "sip/creds", "sip/digest", "sip/guard",
		"sip/leg", "sip/location", "sip/presence", "sip/wire", "media", "sip/sdpneg"}
	for _, d := range depcheck.Load(t).Ours() {
		if !slices.Contains(allowed, d) {
			t.Errorf("sip/subscribe imports %s: it may use only %v", d, allowed)
		}
	}
}
