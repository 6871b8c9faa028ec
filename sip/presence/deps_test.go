package presence

import (
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/depcheck"
)

// TestPresenceDeps keeps the package apart from the call code and from
// SIP: package sip feeds it events and sends what it asks for.
func TestPresenceDeps(t *testing.T) {
	p := depcheck.Load(t)
	for _, d := range p.Ours() {
		t.Errorf("sip/presence depends on %s: it must know nothing of calls, SIP or the store", d)
	}
	for _, d := range p.Deps {
		if strings.HasPrefix(d, "github.com/emiago/sipgo") {
			t.Errorf("sip/presence depends on %s: SIP messages are package sip's", d)
		}
	}
}
