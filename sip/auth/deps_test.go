package auth

import (
	"slices"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/depcheck"
)

// TestDeps keeps the digest check below the registrar and the calls, which
// both use it: of our packages it reads the directory, the credentials
// cache, the location service (to drop the phones of an account gone), the
// guard, the digest primitives and wire (and the clock they use).
func TestDeps(t *testing.T) {
	allowed := []string{"directory", "internal/clock", "sip/creds", "sip/digest", "sip/guard", "sip/location", "sip/wire"}
	for _, d := range depcheck.Load(t).Ours() {
		if !slices.Contains(allowed, d) {
			t.Errorf("sip/auth imports %s: it may use only %v", d, allowed)
		}
	}
}
