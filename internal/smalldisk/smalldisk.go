// Package smalldisk gives a test a small file system of its own, so that it
// can fill the disk without touching the machine's: the test runs again in
// a child process inside a private mount namespace (unshare -m) with a
// tmpfs of the size asked for mounted on a temp dir. Needs root and
// unshare(1); without them the test skips, or fails under CI=true.
package smalldisk

import (
	"os"
	"os/exec"
	"regexp"
	"testing"
)

// dirEnv carries the mounted directory to the child.
const dirEnv = "SWITCHBOARD_TEST_SMALL_DISK"

// Dir returns, in the child, the directory of a tmpfs of size bytes
// ("256k", "4m") and true; the test goes on there. In the parent it runs
// the test in the child, fails if the child fails, and returns false: the
// test must then return at once.
func Dir(t *testing.T, size string) (string, bool) {
	t.Helper()
	if d := os.Getenv(dirEnv); d != "" {
		return d, true
	}
	unshare, err := exec.LookPath("unshare")
	if err == nil && os.Geteuid() != 0 {
		err = exec.ErrNotFound
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("a small disk needs root and unshare(1): %v", err)
		}
		t.Skipf("a small disk needs root and unshare(1): %v", err)
	}
	dir := t.TempDir()
	cmd := exec.CommandContext(t.Context(), unshare, "-m", "--propagation", "private", "sh", "-c",
		`mount -t tmpfs -o size="$1" tmpfs "$2" && shift 2 && exec "$@"`, "sh", size, dir,
		os.Args[0], "-test.run=^"+regexp.QuoteMeta(t.Name())+"$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), dirEnv+"="+dir)
	out, err := cmd.CombinedOutput()
	t.Logf("on a %s tmpfs:\n%s", size, out)
	if err != nil {
		t.Fatalf("test on a small disk: %v", err)
	}
	return "", false
}

// Fill writes zeros to path until the file system is full.
func Fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			return
		}
	}
}
