package media

import (
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/depcheck"
)

// TestDeps keeps media free of users and SIP (DESIGN.md).
func TestDeps(t *testing.T) {
	for _, d := range depcheck.Load(t).Ours() {
		t.Errorf("media imports %s: media must know nothing of users or SIP", d)
	}
}
