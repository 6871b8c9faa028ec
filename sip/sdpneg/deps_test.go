package sdpneg

import (
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/depcheck"
)

// TestDeps keeps sdpneg below the legs: of our packages it imports only
// media (the relay it configures), never package sip or anything that
// knows a dialog or a call.
func TestDeps(t *testing.T) {
	for _, d := range depcheck.Load(t).Ours() {
		if d != "media" {
			t.Errorf("sdpneg imports %s: it may use only media of ours", d)
		}
	}
}
