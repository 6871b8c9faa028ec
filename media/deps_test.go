package media

import (
	"os/exec"
	"strings"
	"testing"
)

func goList(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list"}, args...)...).Output()
	if err != nil {
		t.Fatalf("go list %v: %v", args, err)
	}
	return strings.TrimSpace(string(out))
}

// TestDeps keeps media free of users and SIP (DESIGN.md).
func TestDeps(t *testing.T) {
	mod := goList(t, "-m")
	for _, d := range strings.Fields(goList(t, "-deps", ".")) {
		if strings.HasPrefix(d, mod+"/") && d != mod+"/media" {
			t.Errorf("media imports %s: media must know nothing of users or SIP", d)
		}
	}
}
