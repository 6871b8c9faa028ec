package sdpneg

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps sdpneg below the legs: of our packages it imports only
// media (the relay it configures), never package sip or anything that
// knows a dialog or a call.
func TestDeps(t *testing.T) {
	list := func(args ...string) string {
		out, err := exec.Command("go", append([]string{"list"}, args...)...).Output()
		if err != nil {
			t.Fatalf("go list %v: %v", args, err)
		}
		return strings.TrimSpace(string(out))
	}
	mod := list("-m")
	allowed := map[string]bool{mod + "/sip/sdpneg": true, mod + "/media": true}
	for _, d := range strings.Fields(list("-deps", ".")) {
		if strings.HasPrefix(d, mod+"/") && !allowed[d] {
			t.Errorf("sdpneg imports %s: it may use only media of ours", d)
		}
	}
}
