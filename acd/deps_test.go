package acd_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestDeps keeps acd a pure package: no package of ours, no I/O.
func TestDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-m").Output()
	if err != nil {
		t.Fatalf("go list -m: %v", err)
	}
	mod := strings.TrimSpace(string(out))
	out, err = exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, d := range strings.Fields(string(out)) {
		if strings.HasPrefix(d, mod+"/") && d != mod+"/acd" {
			t.Errorf("acd imports %s: it decides queues and must know nothing of SIP, media or the store", d)
		}
	}
	out, err = exec.Command("go", "list", "-f", "{{join .Imports \" \"}}", ".").Output()
	if err != nil {
		t.Fatalf("go list imports: %v", err)
	}
	for _, d := range strings.Fields(string(out)) {
		switch d {
		case "net", "os", "database/sql", "log/slog":
			t.Errorf("acd imports %s: it does no I/O and logs nothing; its events say what happened", d)
		}
	}
}
