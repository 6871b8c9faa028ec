package guard

import (
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/depcheck"
)

// TestDeps keeps the guard at the bottom of the SIP side: of our packages
// it uses only the directory (the bans it stores) and the clock, and it
// knows no SIP message, so package sip and its sub-packages can all use it.
func TestDeps(t *testing.T) {
	p := depcheck.Load(t)
	for _, d := range p.Ours() {
		if d != "directory" && d != "internal/clock" {
			t.Errorf("sip/guard imports %s: it may use only the directory and the clock of ours", d)
		}
	}
	for _, d := range p.Deps {
		if strings.HasPrefix(d, "github.com/emiago/sipgo") {
			t.Errorf("sip/guard depends on %s: SIP messages are package sip's", d)
		}
	}
}
