package authz_test

import (
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/depcheck"
)

// TestDeps keeps authz pure: decisions take what they need as arguments, so
// they can be tested and benchmarked without a database or a network, and
// every caller (SIP router, web, API) gets the same answer.
func TestDeps(t *testing.T) {
	denied := map[string]string{
		"database/sql": "authz does no I/O: the store loads, authz decides",
		"net":          "authz does no I/O: the SIP router and web call authz, not the reverse",
		"net/http":     "authz knows no protocol: web maps ErrDenied to 403",
		"os":           "authz does no I/O and reads no configuration",
	}
	p := depcheck.Load(t)
	for _, imp := range p.Imports {
		if why, ok := denied[imp]; ok {
			t.Errorf("authz imports %s: %s", imp, why)
		}
	}
	for _, d := range p.Ours() {
		if d != "directory" {
			t.Errorf("authz depends on %s: authz may know only the directory types", d)
		}
	}
}
