package leg

import (
	"slices"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/depcheck"
)

// TestDeps keeps leg below the call: of our packages it may use only SIP as
// bytes, SDP negotiation and the media relay, never package sip, whose calls are
// built on it, or the directory and the store.
func TestDeps(t *testing.T) {
	allowed := []string{"sip/sdpneg", "sip/wire", "media", "internal/clock"}
	for _, d := range depcheck.Load(t).Ours() {
		if !slices.Contains(allowed, d) {
			t.Errorf("leg imports %s: a leg knows nothing of calls, the server or the directory", d)
		}
	}
}
