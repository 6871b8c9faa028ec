package web

import (
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/depcheck"
)

// TestDeps keeps the import arrows of DESIGN.md: web never imports sip; it
// defines the small interfaces it needs and cmd passes sip in.
func TestDeps(t *testing.T) {
	for _, d := range depcheck.Load(t).Ours() {
		if d == "sip" || strings.HasPrefix(d, "sip/") || d == "media" ||
			strings.HasPrefix(d, "directory/sqlite") || strings.HasPrefix(d, "directory/postgres") {
			t.Errorf("web depends on %s: it must not know sip, media or a store backend", d)
		}
	}
}
