package transport

import (
	"slices"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/depcheck"
)

// TestDeps keeps the edge at the bottom of the SIP side: of our packages it
// uses the guard, wire, the digest check (its challenges) and the
// registrar's syntax check, and what those stand on; it names no call
// layer and not package sip.
func TestDeps(t *testing.T) {
	allowed := []string{"directory", "internal/clock", "sip/auth", "sip/creds", "sip/digest", "sip/guard",
		"sip/location", "sip/registrar", "sip/wire"}
	for _, d := range depcheck.Load(t).Ours() {
		if !slices.Contains(allowed, d) {
			t.Errorf("sip/transport imports %s: it may use only %v", d, allowed)
		}
	}
}
