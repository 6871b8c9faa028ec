// Package linphone drives Debian's linphone-daemon (package linphone-cli)
// as a headless softphone for end-to-end tests: one process per Phone,
// its config in a temp dir, SIP over UDP on loopback, commands over the
// daemon's unix socket. It has no sound card here: what it sends is a WAV
// file played into the call (incall-player-start). Without linphone-daemon
// installed the test skips, unless CI=true, when it fails.
package linphone

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// waitLimit turns a hang into a failure; nothing here takes a tenth of it.
const waitLimit = 30 * time.Second

// Phone is one running linphone-daemon.
type Phone struct {
	t    testing.TB
	name string
	cmd  *exec.Cmd
	conn net.Conn
	dir  string
	// SIPPort is the UDP port its SIP listens on.
	SIPPort int

	mu     sync.Mutex
	events []string // "call-state-changed LinphoneCallStreamsRunning", …
}

// Start runs linphone-daemon with a fresh config dir and connects to its
// command socket. The process is stopped when the test ends.
func Start(t testing.TB, name string) *Phone {
	t.Helper()
	bin, err := exec.LookPath("linphone-daemon")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("linphone-daemon not installed (CI=true): %v", err)
		}
		t.Skip("linphone-daemon not installed (a failure under CI=true); apt-get install linphone-cli")
	}
	dir := t.TempDir()
	rtp, err := freeUDPPort()
	if err != nil {
		t.Fatal(err)
	}
	rc := fmt.Sprintf("[sip]\nsip_port=-1\nsip_tcp_port=0\nsip_tls_port=0\n"+
		"[rtp]\naudio_rtp_port=%d-%d\nvideo_rtp_port=%d-%d\n"+
		"[sound]\necho_cancellation=0\n[video]\nenabled=0\ncapture=0\ndisplay=0\n", rtp, rtp+20, rtp+30, rtp+40)
	if err := os.WriteFile(filepath.Join(dir, "linphonerc"), []byte(rc), 0o600); err != nil {
		t.Fatal(err)
	}
	// The daemon makes its socket in /tmp under this name.
	pipe := fmt.Sprintf("switchboard-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	cmd := exec.Command(bin, "--pipe", pipe, "--config", filepath.Join(dir, "linphonerc"),
		"--log", filepath.Join(dir, "linphone.log"), "--disable-stats-events")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "HOME="+dir)
	if err := cmd.Start(); err != nil {
		t.Fatalf("linphone-daemon: %v", err)
	}
	p := &Phone{t: t, name: name, cmd: cmd, dir: dir}
	t.Cleanup(p.stop)
	sock := filepath.Join("/tmp", pipe)
	for i := 0; ; i++ {
		c, err := net.Dial("unix", sock)
		if err == nil {
			p.conn = c
			break
		}
		if i > 200 {
			t.Fatalf("%s: no command socket %s: %v\n%s", name, sock, err, p.Log())
		}
		time.Sleep(25 * time.Millisecond) // the daemon is starting: no event to wait on
	}
	sip, err := freeUDPPort()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Command("port sip " + strconv.Itoa(sip) + " udp"); err != nil {
		t.Fatal(err)
	}
	p.SIPPort = sip
	return p
}

func (p *Phone) stop() {
	if p.conn != nil {
		p.conn.Write([]byte("quit\n"))
		p.conn.Close()
	}
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}

// Log returns the daemon's log.
func (p *Phone) Log() string {
	b, _ := os.ReadFile(filepath.Join(p.dir, "linphone.log"))
	if len(b) > 8000 {
		b = b[len(b)-8000:]
	}
	return string(b)
}

// Command sends one command and returns the body of its answer; a
// "Status: Error" answer is an error with its reason.
func (p *Phone) Command(line string) (string, error) {
	if _, err := p.conn.Write([]byte(line + "\n")); err != nil {
		return "", fmt.Errorf("%s: %s: %w", p.name, line, err)
	}
	// An answer is one write of the daemon; read until it pauses.
	var buf bytes.Buffer
	b := make([]byte, 65536)
	p.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	for {
		n, err := p.conn.Read(b)
		buf.Write(b[:n])
		if err != nil {
			if buf.Len() > 0 {
				break
			}
			return "", fmt.Errorf("%s: %s: %w", p.name, line, err)
		}
		p.conn.SetReadDeadline(time.Now().Add(100 * time.Millisecond))
	}
	out := buf.String()
	status, body, _ := strings.Cut(out, "\n")
	if strings.TrimSpace(status) != "Status: Ok" {
		return "", fmt.Errorf("%s: %s: %s", p.name, line, strings.TrimSpace(out))
	}
	return body, nil
}

// Account gives the daemon identity (sip:EXT@HOST) at proxy
// (sip:HOST:PORT) with its password: its calls go through the proxy and
// answer its digest challenges. (The daemon registers the account when it
// sees the network up; a test does not wait for that.)
func (p *Phone) Account(identity, proxy, password string) error {
	_, err := p.Command(fmt.Sprintf("register %s %s %s", identity, proxy, password))
	return err
}

// Call dials uri and waits until the call's streams run.
func (p *Phone) Call(ctx context.Context, uri string) error {
	if _, err := p.Command("call " + uri); err != nil {
		return err
	}
	return p.WaitState(ctx, "LinphoneCallStreamsRunning")
}

// WaitState waits for a call state event (LinphoneCallStreamsRunning,
// LinphoneCallEnd, …); an error or released call before it fails.
func (p *Phone) WaitState(ctx context.Context, state string) error {
	return p.poll(ctx, state, func() (bool, error) {
		out, err := p.Command("pop-event")
		if err != nil {
			return false, err
		}
		ev := field(out, "Event")
		if ev == "" {
			return false, nil
		}
		p.mu.Lock()
		p.events = append(p.events, ev)
		p.mu.Unlock()
		if ev == state {
			return true, nil
		}
		if ev == "LinphoneCallError" || (ev == "LinphoneCallReleased" && state != ev) {
			return false, fmt.Errorf("call ended with %s", ev)
		}
		return false, nil
	})
}

// poll asks check every 100 ms until it is done: the daemon has events to
// pop but nothing to wait on.
func (p *Phone) poll(ctx context.Context, what string, check func() (bool, error)) error {
	// A hang becomes a failure with the daemon's log.
	ctx, cancel := context.WithTimeout(ctx, waitLimit)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		done, err := check()
		if err != nil {
			return fmt.Errorf("%s: %s: %w\n%s", p.name, what, err, p.Log())
		}
		if done {
			return nil
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("%s: waiting for %s: %w\n%s", p.name, what, ctx.Err(), p.Log())
		}
	}
}

// Play sends a WAV file (16-bit mono) into the current call in place of
// a microphone.
func (p *Phone) Play(wav string) error {
	_, err := p.Command("incall-player-start " + wav)
	return err
}

// Hangup ends the current call.
func (p *Phone) Hangup() error {
	_, err := p.Command("terminate")
	return err
}

// field returns the value of "Key: value" in a daemon answer.
func field(out, key string) string {
	for _, l := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func freeUDPPort() (int, error) {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port, nil
}
