package presence

import (
	"os/exec"
	"strings"
	"testing"
)

func goList(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command("go", append([]string{"list"}, args...)...).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", strings.Join(args, " "), err)
	}
	return strings.TrimSpace(string(out))
}

// TestPresenceDeps keeps the package apart from the call code and from
// SIP: package sip feeds it events and sends what it asks for.
func TestPresenceDeps(t *testing.T) {
	mod := goList(t, "-m")
	for _, d := range strings.Fields(goList(t, "-deps", ".")) {
		if strings.HasPrefix(d, mod+"/") && d != mod+"/sip/presence" {
			t.Errorf("sip/presence depends on %s: it must know nothing of calls, SIP or the store", d)
		}
		if strings.HasPrefix(d, "github.com/emiago/sipgo") {
			t.Errorf("sip/presence depends on %s: SIP messages are package sip's", d)
		}
	}
}
