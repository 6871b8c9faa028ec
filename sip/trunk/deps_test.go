package trunk

import (
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/depcheck"
)

// TestDeps keeps the trunks below the call side: of our packages they use
// only the directory (the trunks and dids settings), so package sip and
// its call layers can use them and they can use nothing of those.
func TestDeps(t *testing.T) {
	for _, d := range depcheck.Load(t).Ours() {
		if d != "directory" {
			t.Errorf("sip/trunk imports %s: it may use only the directory of ours", d)
		}
	}
}
