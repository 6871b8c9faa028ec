package ivr

import (
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/depcheck"
)

// TestDeps keeps the IVR menus a feature over the call core: it imports no
// other feature but those it names, and never package sip, which wires it. It uses queue and voicemail.
func TestDeps(t *testing.T) {
	depcheck.Load(t).Feature(t, "sip/queue", "sip/voicemail")
}
