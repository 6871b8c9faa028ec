package main

import (
	"runtime"
	"testing"
)

// TestProcs checks the processors serve gives Go code: all the CPUs Go
// would use but one unless told, GOMAXPROCS when the environment sets it,
// and a number given.
func TestProcs(t *testing.T) {
	for cpus, want := range map[int]int{1: 1, 2: 1, 3: 2, 8: 7} {
		if got := autoProcs(cpus); got != want {
			t.Errorf("autoProcs(%d) = %d, want %d", cpus, got, want)
		}
	}
	validate := func(text string) int {
		t.Helper()
		var c Config
		fs := newFlagSet("switchboard serve", func(string) string { return "" })
		fs.storeFlags(&c)
		fs.serveFlags(&c)
		args := []string{"--data", t.TempDir()}
		if text != "" {
			args = append(args, "--procs", text)
		}
		if _, err := parseArgs(fs, args); err != nil {
			t.Fatal(err)
		}
		if err := c.Validate(true); err != nil {
			t.Fatalf("--procs %q: %v", text, err)
		}
		return c.Procs
	}
	t.Setenv("GOMAXPROCS", "")
	if got, want := validate("auto"), autoProcs(runtime.GOMAXPROCS(0)); got != want {
		t.Errorf("--procs auto: %d, want %d", got, want)
	}
	if got, want := validate(""), autoProcs(runtime.GOMAXPROCS(0)); got != want {
		t.Errorf("--procs unset: %d, want %d", got, want)
	}
	if got := validate("3"); got != 3 {
		t.Errorf("--procs 3: %d", got)
	}
	t.Setenv("GOMAXPROCS", "4")
	if got := validate("auto"); got != 0 {
		t.Errorf("--procs auto with GOMAXPROCS set: %d, want 0 (the runtime's)", got)
	}
	if got := validate("2"); got != 2 {
		t.Errorf("--procs 2 with GOMAXPROCS set: %d, want 2 (the flag wins)", got)
	}
}
