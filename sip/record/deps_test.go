package record

import (
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/depcheck"
)

// TestDeps keeps recording a feature over the call core: it imports no
// other feature but those it names, and never package sip, which wires it.
func TestDeps(t *testing.T) {
	depcheck.Load(t).Feature(t)
}
