package provision

import (
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/depcheck"
)

// TestDeps: provision renders files from values; of ours it knows only
// the directory's types, and it does no I/O of its own (no net, no os).
func TestDeps(t *testing.T) {
	p := depcheck.Load(t)
	for _, d := range p.Ours() {
		if d != "directory" {
			t.Errorf("provision depends on %s: it may know only directory", d)
		}
	}
	for _, d := range p.Imports {
		if d == "net" || d == "os" || d == "net/http" || d == "database/sql" {
			t.Errorf("provision imports %s: it does no I/O", d)
		}
	}
}
