package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSIPpAuthenticates: SIPp, as its stock scenarios are written (it
// answers the first challenge and knows MD5 alone), registers and places
// a call with digest authentication against a default installation.
func TestSIPpAuthenticates(t *testing.T) {
	bin := sippBinary(t)
	c := newCLI(t)
	c.ok("", "user", "add", "--name", "SIPp", "--email", "sipp@example.com", "--extension", "10001",
		"--ext-password", "Sipp-pass-1")
	c.ok("", "user", "add", "--name", "Away", "--email", "away@example.com", "--extension", "10002",
		"--ext-password", "Away-pass-1")
	m := startMain(t, c, "46300-46399", nil)
	local := strconv.Itoa(freeUDPPort(t, "127.0.0.1"))
	for _, sc := range []string{"reg_auth.xml", "invite_auth.xml"} {
		runSIPp(t, bin, sc, "-m", "1", "-au", "10001", "-ap", "Sipp-pass-1", "-s", "10002", "-key", "user", "10001",
			"-i", "127.0.0.1", "-p", local, "-mp", "46500", m.SIPAddr())
	}
}

// TestSIPpCarrier: a carrier simulated with SIPp on 127.0.0.2 receives the
// trunk leg of an outbound call placed by a SIPp phone and checks what a
// carrier checks (Via with rport naming our listener, the company number
// in From and P-Asserted-Identity); then it sends a DID call in, which the
// PBX routes to the DID's extension.
func TestSIPpCarrier(t *testing.T) {
	bin := sippBinary(t)
	c := newCLI(t)
	// An admin calls out to any number; an agent, by default, only to CRM
	// contacts and colleagues.
	c.ok("", "user", "add", "--name", "Caller", "--email", "caller@example.com", "--extension", "10001",
		"--ext-password", "Sipp-pass-1", "--role", "admin")
	c.ok("", "user", "add", "--name", "Desk", "--email", "desk@example.com", "--extension", "10002",
		"--ext-password", "Desk-pass-1")
	carrierPort := freeUDPPort(t, "127.0.0.2")
	c.ok("", "settings", "set", "trunks", fmt.Sprintf(`[{"name":"carrier","host":"127.0.0.2","port":%d,`+
		`"caller_id":"+48221000000","from_user":"company","pai":"company"}]`, carrierPort))
	c.ok("", "settings", "set", "dids", `{"+48221000100":"10002"}`)
	m := startMain(t, c, "46600-46699", nil)
	pbx := m.SIPAddr()

	dir := t.TempDir()
	carrier := exec.CommandContext(t.Context(), bin, "-sf", scenarioPath("carrier_uas.xml"), "-m", "1",
		"-i", "127.0.0.2", "-p", strconv.Itoa(carrierPort), "-mp", "46800", "-nostdin", "-timeout", "60s",
		"-timeout_error", "-trace_msg", "-message_file", filepath.Join(dir, "carrier.msg"))
	carrier.Dir = dir
	var carrierOut strings.Builder
	carrier.Stdout, carrier.Stderr = &carrierOut, &carrierOut
	if err := carrier.Start(); err != nil {
		t.Fatal(err)
	}
	runSIPp(t, bin, "outbound_call.xml", "-m", "1", "-au", "10001", "-ap", "Sipp-pass-1", "-key", "user", "10001",
		"-s", "+48221234567", "-i", "127.0.0.1", "-p", strconv.Itoa(freeUDPPort(t, "127.0.0.1")), "-mp", "46900", pbx)
	if err := carrier.Wait(); err != nil {
		t.Fatalf("the carrier's checks failed: %v\n%s", err, carrierOut.String())
	}
	msgs, err := os.ReadFile(filepath.Join(dir, "carrier.msg"))
	if err != nil {
		t.Fatal(err)
	}
	if want := "Via: SIP/2.0/UDP " + pbx + ";"; !strings.Contains(string(msgs), want) {
		t.Errorf("the carrier's INVITE has no %q:\n%s", want, msgs)
	}
	// A DID call from the carrier's address reaches 10002, which has no
	// phone: 480, not 404 or a challenge.
	runSIPp(t, bin, "did_call.xml", "-m", "1", "-s", "+48221000100", "-i", "127.0.0.2",
		"-p", strconv.Itoa(freeUDPPort(t, "127.0.0.2")), "-mp", "47000", pbx)
}

func sippBinary(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("sipp")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("sipp not installed (CI=true): %v", err)
		}
		t.Skip("sipp not installed (a failure under CI=true); apt-get install sip-tester")
	}
	return bin
}

func scenarioPath(name string) string {
	p, _ := filepath.Abs(filepath.Join("testdata", "sipp", name))
	return p
}

// runSIPp runs one SIPp scenario to its end; a failed call fails the test.
func runSIPp(t *testing.T, bin, scenario string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	full := append([]string{"-sf", scenarioPath(scenario), "-nostdin", "-timeout", "60s", "-timeout_error"}, args...)
	cmd := exec.CommandContext(ctx, bin, full...)
	cmd.Dir = t.TempDir()
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sipp %s: %v\n%s", scenario, err, out)
	}
}

// freeUDPPort returns a UDP port free on ip a moment ago, for a peer that
// wants one named.
func freeUDPPort(t *testing.T, ip string) int {
	t.Helper()
	l, err := net.ListenPacket("udp", ip+":0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.LocalAddr().(*net.UDPAddr).Port
}

// TestSIPpBusyAndCancel: SIPp phones registered on behalf of SIPp
// user-agent servers (the REGISTER names the server's address as Contact,
// as a provisioning server or SBC does) take calls from a SIPp phone: a
// busy one answers 486, which reaches the caller; a ringing one is
// cancelled by the caller's CANCEL, which the PBX passes on.
func TestSIPpBusyAndCancel(t *testing.T) {
	bin := sippBinary(t)
	c := newCLI(t)
	for _, u := range []struct{ name, ext, pw string }{
		{"Caller", "10001", "Sipp-pass-1"}, {"Busy", "10002", "Busy-pass-1"}, {"Ringing", "10003", "Ring-pass-1"},
	} {
		c.ok("", "user", "add", "--name", u.name, "--email", strings.ToLower(u.name)+"@example.com",
			"--extension", u.ext, "--ext-password", u.pw)
	}
	m := startMain(t, c, "47100-47199", nil)
	pbx := m.SIPAddr()
	for i, tc := range []struct {
		callee, pw, uas, caller string
	}{
		{"10002", "Busy-pass-1", "uas_busy.xml", "invite_busy.xml"},
		{"10003", "Ring-pass-1", "uas_ring.xml", "invite_cancel.xml"},
	} {
		port := freeUDPPort(t, "127.0.0.1")
		uas := exec.CommandContext(t.Context(), bin, "-sf", scenarioPath(tc.uas), "-m", "1", "-i", "127.0.0.1",
			"-p", strconv.Itoa(port), "-mp", strconv.Itoa(47300+100*i), "-nostdin", "-timeout", "60s", "-timeout_error")
		uas.Dir = t.TempDir()
		var out strings.Builder
		uas.Stdout, uas.Stderr = &out, &out
		if err := uas.Start(); err != nil {
			t.Fatal(err)
		}
		runSIPp(t, bin, "reg_for.xml", "-m", "1", "-au", tc.callee, "-ap", tc.pw, "-key", "user", tc.callee,
			"-key", "contact", "127.0.0.1:"+strconv.Itoa(port), "-i", "127.0.0.1",
			"-p", strconv.Itoa(freeUDPPort(t, "127.0.0.1")), pbx)
		runSIPp(t, bin, tc.caller, "-m", "1", "-au", "10001", "-ap", "Sipp-pass-1", "-key", "user", "10001",
			"-s", tc.callee, "-i", "127.0.0.1", "-p", strconv.Itoa(freeUDPPort(t, "127.0.0.1")),
			"-mp", strconv.Itoa(47500+100*i), pbx)
		if err := uas.Wait(); err != nil {
			t.Fatalf("%s: the callee's scenario failed: %v\n%s", tc.uas, err, out.String())
		}
	}
}
