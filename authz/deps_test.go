package authz_test

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

// TestDeps keeps authz pure: decisions take what they need as arguments, so
// they can be tested and benchmarked without a database or a network, and
// every caller (SIP router, web, API) gets the same answer.
func TestDeps(t *testing.T) {
	denied := map[string]string{
		"database/sql": "authz does no I/O: the store loads, authz decides",
		"net":          "authz does no I/O: the SIP router and web call authz, not the reverse",
		"net/http":     "authz knows no protocol: web maps ErrDenied to 403",
		"os":           "authz does no I/O and reads no configuration",
	}
	mod := goList(t, "-m")
	for _, imp := range strings.Fields(goList(t, "-f", `{{join .Imports " "}}`, ".")) {
		if why, ok := denied[imp]; ok {
			t.Errorf("authz imports %s: %s", imp, why)
		}
	}
	for _, d := range strings.Fields(goList(t, "-deps", ".")) {
		if strings.HasPrefix(d, mod+"/") && d != mod+"/authz" && d != mod+"/directory" {
			t.Errorf("authz depends on %s: authz may know only the directory types", d)
		}
	}
}
