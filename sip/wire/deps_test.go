package wire

import (
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/depcheck"
)

// TestDeps keeps wire at the bottom of the SIP side: of our packages it
// uses only the clock, so that every layer above can write and read
// messages through it and it can reach none of them.
func TestDeps(t *testing.T) {
	for _, d := range depcheck.Load(t).Ours() {
		if d != "internal/clock" {
			t.Errorf("sip/wire imports %s: it may use only the clock of ours", d)
		}
	}
}
