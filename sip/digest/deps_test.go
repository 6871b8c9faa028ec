package digest

import (
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/depcheck"
)

// TestDeps keeps digest at the bottom of the SIP side: it imports none of
// our packages, so the registrar above it can use it and it can use nothing
// of the registrar (sip/doc.go).
func TestDeps(t *testing.T) {
	for _, d := range depcheck.Load(t).Ours() {
		t.Errorf("digest imports %s: digest must know nothing of users, the directory or SIP messages", d)
	}
}
