package provision

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps: provision renders files from values; of ours it knows only
// the directory's types, and it does no I/O of its own (no net, no os).
func TestDeps(t *testing.T) {
	mod, err := exec.Command("go", "list", "-m").Output()
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("go", "list", "-f", `{{join .Imports " "}}`, ".").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range strings.Fields(string(out)) {
		if strings.HasPrefix(d, strings.TrimSpace(string(mod))+"/") && !strings.HasSuffix(d, "/directory") {
			t.Errorf("provision imports %s: it may know only directory", d)
		}
		if d == "net" || d == "os" || d == "net/http" || d == "database/sql" {
			t.Errorf("provision imports %s: it does no I/O", d)
		}
	}
}
