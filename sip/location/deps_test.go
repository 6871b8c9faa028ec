package location

import (
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/depcheck"
)

// TestDeps keeps the location service below the registrar: it knows the
// directory's bindings and the clock, nothing of SIP messages or calls.
func TestDeps(t *testing.T) {
	allowed := []string{"directory", "internal/clock"}
	p := depcheck.Load(t)
	for _, d := range p.Ours() {
		if !slices.Contains(allowed, d) {
			t.Errorf("sip/location imports %s: it may use only %v", d, allowed)
		}
	}
	for _, d := range p.Deps {
		if strings.HasPrefix(d, "github.com/emiago/sipgo") {
			t.Errorf("sip/location depends on %s: SIP messages are package sip's", d)
		}
	}
}
