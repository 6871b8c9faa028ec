package registrar

import (
	"slices"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/depcheck"
)

// TestDeps keeps the registrar below the calls: of our packages it uses
// the digest check, the location service and what lies below them, and
// nothing of package sip's calls or features.
func TestDeps(t *testing.T) {
	allowed := []string{"directory", "internal/clock", "sip/auth", "sip/creds", "sip/digest", "sip/guard",
		"sip/location", "sip/wire"}
	for _, d := range depcheck.Load(t).Ours() {
		if !slices.Contains(allowed, d) {
			t.Errorf("sip/registrar imports %s: it may use only %v", d, allowed)
		}
	}
}
