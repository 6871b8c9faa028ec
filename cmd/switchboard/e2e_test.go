package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/baresip"
)

// buildBinary builds the switchboard command once per test binary run.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "switchboard")
	out, err := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// e2eUser is a person of the end-to-end tests; role "" is the default.
type e2eUser struct{ name, email, ext, pw, role string }

// addUsers makes the users with `switchboard user add`.
func addUsers(t *testing.T, bin, data string, users []e2eUser) {
	t.Helper()
	for _, u := range users {
		args := []string{"user", "add", "--data", data, "--name", u.name, "--email", u.email,
			"--extension", u.ext, "--ext-password", u.pw}
		if u.role != "" {
			args = append(args, "--role", u.role)
		}
		if out, err := exec.CommandContext(t.Context(), bin, args...).CombinedOutput(); err != nil {
			t.Fatalf("user add %s: %v\n%s", u.ext, err, out)
		}
	}
}

// registerAs registers each phone as the user at its index (a nil phone
// is skipped) and fails the test unless each gets REGISTER_OK.
func registerAs(t *testing.T, sipAddr string, phones []*baresip.Phone, users []e2eUser) {
	t.Helper()
	for i, p := range phones {
		if p == nil {
			continue
		}
		ev, err := p.Register("sip:"+users[i].ext+"@"+sipAddr, users[i].pw)
		if err != nil || ev.Type != "REGISTER_OK" {
			t.Fatalf("register %s: %v %s %q", users[i].ext, err, ev.Type, ev.Param)
		}
	}
}

// established waits for the phone's call, since mark, to be established;
// a call that closes instead fails the test.
func established(t *testing.T, p *baresip.Phone, mark int) {
	t.Helper()
	ev, err := p.WaitEvent(t.Context(), mark, func(e baresip.Event) bool {
		return e.Type == "CALL_ESTABLISHED" || e.Type == "CALL_CLOSED"
	})
	if err != nil || ev.Type != "CALL_ESTABLISHED" {
		t.Fatalf("%s: call not established: %v %s %q", p.SIPAddr, err, ev.Type, ev.Param)
	}
}

// closed waits for the phone's call, since mark, to close.
func closed(t *testing.T, p *baresip.Phone, mark int) baresip.Event {
	t.Helper()
	ev, err := p.WaitEvent(t.Context(), mark, func(e baresip.Event) bool { return e.Type == "CALL_CLOSED" })
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// serveProcess runs `switchboard serve` as a real process on loopback
// ports and returns the SIP address once it listens.
func serveProcess(t *testing.T, bin, data string) string {
	t.Helper()
	return serveListeners(t, bin, data, "udp")["udp"]
}

// serveListeners runs `switchboard serve` as serveProcess does and returns
// the addresses of its SIP listeners by transport ("udp", "tcp", "tls")
// once those named in want listen.
func serveListeners(t *testing.T, bin, data string, want ...string) map[string]string {
	t.Helper()
	cmd := exec.Command(bin, "serve", "--data", data, "--sip-addr", "127.0.0.1:0", "--web-addr", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "SWITCHBOARD_LOG_LEVEL=info")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			t.Log("serve:", sc.Text())
			select {
			case lines <- sc.Text():
			default:
			}
		}
		close(lines)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		if err := cmd.Wait(); err != nil {
			t.Errorf("serve did not exit cleanly on SIGINT: %v", err)
		}
	})
	re := regexp.MustCompile(`msg="sip listening" addr=(127\.0\.0\.1:\d+) transport=(\w+)`)
	got := make(map[string]string)
	for line := range lines {
		if m := re.FindStringSubmatch(line); m != nil {
			got[m[2]] = m[1]
		}
		all := true
		for _, w := range want {
			all = all && got[w] != ""
		}
		if all {
			return got
		}
	}
	t.Fatal("serve exited before listening")
	return nil
}

// TestBaresipRegistersToServe is the end-to-end test of registration: a real
// softphone registers to a running `switchboard serve` with an extension
// made by `switchboard user add`, and is refused with a wrong password.
func TestBaresipRegistersToServe(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("-short: end-to-end test skipped (never under CI=true)")
	}
	bin := buildBinary(t)
	data := t.TempDir()
	sipAddr := serveProcess(t, bin, data)

	// The extension is made while serve runs: it must pick it up.
	add := exec.CommandContext(t.Context(), bin, "user", "add", "--data", data, "--name", "Desk Phone",
		"--email", "desk@example.com", "--extension", "10001", "--ext-password", "k7#Qm2vLx9")
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}

	phone := baresip.Start(t, baresip.Options{Name: "desk"})
	// One wrong password only: baresip retries it by itself many times,
	// and a second round from 127.0.0.1 would (rightly) ban the source.
	ev, err := phone.Register("sip:10001@"+sipAddr, "wrong-password")
	if err != nil {
		t.Fatalf("register with a wrong password: %v", err)
	}
	if ev.Type != "REGISTER_FAIL" || ev.Code() != 401 {
		t.Errorf("wrong password gave %s %q, want REGISTER_FAIL 401", ev.Type, ev.Param)
	}
	for _, transport := range []string{"udp", "tcp"} {
		aor := "sip:10001@" + sipAddr
		if transport == "tcp" {
			aor += ";transport=tcp"
		}
		ev, err := phone.Register(aor, "k7#Qm2vLx9")
		if err != nil {
			t.Fatalf("%s: register: %v", transport, err)
		}
		if ev.Type != "REGISTER_OK" || ev.Code() != 200 {
			t.Fatalf("%s: register gave %s %q, want REGISTER_OK 200\n%s", transport, ev.Type, ev.Param, phone.Log())
		}
		if err := phone.Unregister(aor); err != nil {
			t.Fatal(err)
		}
	}
	if strings.Contains(phone.Log(), "panic") {
		t.Error("panic in the phone log")
	}
}
