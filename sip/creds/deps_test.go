package creds

import (
	"slices"
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/depcheck"
)

// TestDeps keeps the credentials cache below the registrar: it knows the
// directory's users and the digest algorithms, nothing of SIP messages,
// bindings or calls.
func TestDeps(t *testing.T) {
	allowed := []string{"directory", "sip/digest"}
	p := depcheck.Load(t)
	for _, d := range p.Ours() {
		if !slices.Contains(allowed, d) {
			t.Errorf("sip/creds imports %s: it may use only %v", d, allowed)
		}
	}
	for _, d := range p.Deps {
		if strings.HasPrefix(d, "github.com/emiago/sipgo") {
			t.Errorf("sip/creds depends on %s: SIP messages are package sip's", d)
		}
	}
}
