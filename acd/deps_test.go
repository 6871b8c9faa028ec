package acd_test

import (
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/depcheck"
)

// TestDeps keeps acd a pure package: no package of ours, no I/O.
func TestDeps(t *testing.T) {
	p := depcheck.Load(t)
	for _, d := range p.Ours() {
		t.Errorf("acd imports %s: it decides queues and must know nothing of SIP, media or the store", d)
	}
	for _, d := range p.Imports {
		switch d {
		case "net", "os", "database/sql", "log/slog":
			t.Errorf("acd imports %s: it does no I/O and logs nothing; its events say what happened", d)
		}
	}
}
