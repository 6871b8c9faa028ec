package web

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps the import arrows of DESIGN.md: web never imports sip; it
// defines the small interfaces it needs and cmd passes sip in.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range strings.Fields(string(out)) {
		if strings.HasSuffix(d, "/switchboard/sip") || strings.HasSuffix(d, "/switchboard/media") ||
			strings.Contains(d, "/directory/sqlite") || strings.Contains(d, "/directory/postgres") {
			t.Errorf("web depends on %s: it must not know sip, media or a store backend", d)
		}
	}
}
