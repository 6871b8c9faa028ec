package digest

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

// TestDeps keeps digest at the bottom of the SIP side: it imports none of
// our packages, so the registrar above it can use it and it can use nothing
// of the registrar (sip/doc.go).
func TestDeps(t *testing.T) {
	mod := goList(t, "-m")
	for _, d := range strings.Fields(goList(t, "-deps", ".")) {
		if strings.HasPrefix(d, mod+"/") && d != mod+"/sip/digest" {
			t.Errorf("digest imports %s: digest must know nothing of users, the directory or SIP messages", d)
		}
	}
}
