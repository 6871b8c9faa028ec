package main

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestSIPpAuthenticates: SIPp, as its stock scenarios are written (it
// answers the first challenge and knows MD5 alone), registers and places
// a call with digest authentication against a default installation.
func TestSIPpAuthenticates(t *testing.T) {
	bin, err := exec.LookPath("sipp")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("sipp not installed (CI=true): %v", err)
		}
		t.Skip("sipp not installed; apt-get install sip-tester")
	}
	c := newCLI(t)
	c.ok("", "user", "add", "--name", "SIPp", "--email", "sipp@example.com", "--extension", "10001",
		"--ext-password", "Sipp-pass-1")
	c.ok("", "user", "add", "--name", "Away", "--email", "away@example.com", "--extension", "10002",
		"--ext-password", "Away-pass-1")
	m := startMain(t, c, "46300-46399", nil)
	host, port, _ := net.SplitHostPort(m.SIPAddr())

	// A free local port for SIPp (it wants one named).
	l, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	local := l.LocalAddr().(*net.UDPAddr).Port
	l.Close()
	for _, sc := range []string{"reg_auth.xml", "invite_auth.xml"} {
		scenario, _ := filepath.Abs(filepath.Join("testdata", "sipp", sc))
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		cmd := exec.CommandContext(ctx, bin, "-sf", scenario, "-m", "1", "-au", "10001", "-ap", "Sipp-pass-1",
			"-s", "10002", "-key", "user", "10001", "-i", "127.0.0.1", "-p", strconv.Itoa(local), "-mp", "46500",
			"-nostdin", "-timeout", "60s", "-timeout_error", host+":"+port)
		cmd.Dir = t.TempDir()
		out, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("sipp %s: %v\n%s", sc, err, out)
		}
	}
}
