// Package baresip drives Debian's baresip as a headless softphone for
// end-to-end tests: one process per Phone, its config in a temp dir, SIP on
// loopback, commands and events over ctrl_tcp (netstring-framed JSON).
// Without baresip installed the test skips, unless CI=true, when it fails.
package baresip

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Options configure one baresip process.
type Options struct {
	// Name labels the phone in test logs; default "baresip".
	Name string
	// IP is the loopback address baresip's SIP listens and sends from;
	// default 127.0.0.1 (a carrier a trunk names: 127.0.0.2). Its media
	// stays on 127.0.0.1, where its RTP comes from whatever the address
	// (it binds RTP on 0.0.0.0), so that the SDP names the source.
	IP string
	// Tone is the frequency in Hz of the sine baresip sends; default 440.
	Tone int
	// RTPPorts is how many RTP ports the phone may use; default 20.
	RTPPorts int
	// SIPTrace adds baresip's full SIP trace (-s) to its log.
	SIPTrace bool
	// ModulePath overrides where the modules are looked for.
	ModulePath string
	// MediaEnc loads the srtp module and is the accounts' media
	// encryption: "srtp" (offered best effort), "srtp-mand" (RTP/SAVP) or
	// "srtp-mandf"; empty: plain RTP.
	MediaEnc string
	// CAFile is a PEM file of the certificates trusted for SIP over TLS.
	CAFile string
	// Accounts are lines of the accounts file, registered at start (the
	// presence module subscribes with the first); empty: none, accounts
	// come through Register.
	Accounts []string
	// ManualAnswer: accounts added by Register ring (CALL_INCOMING) until
	// Accept, instead of answering by themselves.
	ManualAnswer bool
	// Contacts are lines of the contacts file; with any, the contact and
	// presence modules are loaded (presence subscribes to each contact
	// marked ;presence=p2p, one second after start).
	Contacts []string
}

// Event is an unsolicited ctrl_tcp event, such as REGISTER_OK or
// CALL_ESTABLISHED.
type Event struct {
	Type       string `json:"type"`
	Class      string `json:"class"`
	AccountAOR string `json:"accountaor"`
	Direction  string `json:"direction"`
	PeerURI    string `json:"peeruri"`
	ID         string `json:"id"`
	Param      string `json:"param"`
	Raw        json.RawMessage
}

// Code returns the SIP status at the start of Param ("401 Unauthorized"
// gives 401), or 0.
func (e Event) Code() int {
	f, _, _ := strings.Cut(e.Param, " ")
	n, err := strconv.Atoi(f)
	if err != nil {
		return 0
	}
	return n
}

// Response answers a command.
type Response struct {
	OK    bool   `json:"ok"`
	Data  string `json:"data"`
	Token string `json:"token"`
}

// Phone is one running baresip.
type Phone struct {
	// SIPAddr is where the phone listens for SIP (UDP and TCP; TLS takes
	// the next port).
	SIPAddr string
	// Dir holds config, accounts and the log; RecDir the WAVs of sndfile.
	Dir, RecDir string

	t       testing.TB
	name    string
	cmd     *exec.Cmd
	exited  chan struct{}
	conn    net.Conn
	logPath string
	// mediaEnc is the media encryption of the accounts, "" for none.
	mediaEnc string
	// answerMode is the accounts' answermode: auto or manual.
	answerMode string

	mu      sync.Mutex
	events  []Event
	changed chan struct{} // closed and replaced when events grow
	waiting map[string]chan Response
	next    int
	readErr error
}

// defaultModulePaths are where Debian puts baresip's modules.
var defaultModulePaths = []string{"/usr/lib/baresip/modules", "/usr/lib/x86_64-linux-gnu/baresip/modules",
	"/usr/local/lib/baresip/modules"}

// Start runs baresip with a fresh config dir and connects to its control
// port. The process is stopped when the test ends.
func Start(t testing.TB, opts Options) *Phone {
	t.Helper()
	bin, err := exec.LookPath("baresip")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("baresip not installed (CI=true): %v", err)
		}
		t.Skip("baresip not installed; apt-get install baresip-core")
	}
	if opts.Name == "" {
		opts.Name = "baresip"
	}
	if opts.Tone == 0 {
		opts.Tone = 440
	}
	if opts.IP == "" {
		opts.IP = "127.0.0.1"
	}
	if opts.RTPPorts == 0 {
		opts.RTPPorts = 20
	}
	if opts.ModulePath == "" {
		for _, p := range defaultModulePaths {
			if _, err := os.Stat(filepath.Join(p, "ctrl_tcp.so")); err == nil {
				opts.ModulePath = p
				break
			}
		}
		if opts.ModulePath == "" {
			t.Fatalf("baresip modules not found in %v", defaultModulePaths)
		}
	}

	dir := t.TempDir()
	p := &Phone{t: t, name: opts.Name, Dir: dir, mediaEnc: opts.MediaEnc, answerMode: "auto", RecDir: filepath.Join(dir, "rec"),
		exited: make(chan struct{}), changed: make(chan struct{}), waiting: make(map[string]chan Response),
		logPath: filepath.Join(dir, "baresip.log")}
	if opts.ManualAnswer {
		p.answerMode = "manual"
	}
	if err := os.Mkdir(p.RecDir, 0o755); err != nil {
		t.Fatal(err)
	}
	sipPort, err := freeSIPPort()
	if err != nil {
		t.Fatal(err)
	}
	ctrlPort, err := freeTCPPort()
	if err != nil {
		t.Fatal(err)
	}
	rtpLow, err := freeUDPRange(opts.RTPPorts)
	if err != nil {
		t.Fatal(err)
	}
	p.SIPAddr = net.JoinHostPort(opts.IP, strconv.Itoa(sipPort))
	config := fmt.Sprintf(`sip_listen        %s
net_interface     127.0.0.1
dns_server        127.0.0.1:53
audio_player      aubridge,nil
audio_alert       aubridge,nil
audio_source      ausine,%d
ausrc_srate       48000
ausrc_channels    2
rtp_ports         %d-%d
rtp_stats         yes
statmode_default  off
module_path       %s
module            g711.so
module            ausine.so
module            aubridge.so
module            sndfile.so
module_app        menu.so
module_app        ctrl_tcp.so
module_app        debug_cmd.so
ctrl_tcp_listen   127.0.0.1:%d
snd_path          %s
`, p.SIPAddr, opts.Tone, rtpLow, rtpLow+opts.RTPPorts-1, opts.ModulePath, ctrlPort, p.RecDir)
	if opts.MediaEnc != "" {
		config += "module            srtp.so\n"
	}
	if opts.CAFile != "" {
		config += "sip_cafile        " + opts.CAFile + "\n"
	}
	if len(opts.Accounts) > 0 {
		config += "module_app        account.so\n"
	}
	if len(opts.Contacts) > 0 {
		config += "module_app        contact.so\nmodule_app        presence.so\n"
		if err := os.WriteFile(filepath.Join(dir, "contacts"), []byte(strings.Join(opts.Contacts, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "config"), []byte(config), 0o644); err != nil {
		t.Fatal(err)
	}
	// Empty: accounts come through uanew, after we listen for events.
	var accounts []byte
	if len(opts.Accounts) > 0 {
		accounts = []byte(strings.Join(opts.Accounts, "\n") + "\n")
	}
	if err := os.WriteFile(filepath.Join(dir, "accounts"), accounts, 0o644); err != nil {
		t.Fatal(err)
	}

	args := []string{"-f", dir}
	if opts.SIPTrace {
		args = append(args, "-s")
	}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = dir
	p.cmd.Stdin = nil
	out, err := p.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p.cmd.Stderr = p.cmd.Stdout
	logf, err := os.Create(p.logPath)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start baresip: %v", err)
	}
	ready := make(chan struct{})
	go func() {
		defer logf.Close()
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		signalled := false
		for sc.Scan() {
			line := sc.Bytes()
			logf.Write(line)
			logf.Write([]byte{'\n'})
			if !signalled && bytes.Contains(line, []byte("baresip is ready.")) {
				signalled = true
				close(ready)
			}
		}
		io.Copy(io.Discard, out)
		p.cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(p.stop)

	select {
	case <-ready:
	case <-p.exited:
		t.Fatalf("%s exited at start: %s", p.name, p.logTail())
	case <-t.Context().Done():
		t.Fatalf("%s: test ended before baresip was ready", p.name)
	}
	var d net.Dialer
	conn, err := d.DialContext(t.Context(), "tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(ctrlPort)))
	if err != nil {
		t.Fatalf("%s: connect to ctrl_tcp: %v\n%s", p.name, err, p.logTail())
	}
	p.conn = conn
	go p.readLoop()
	return p
}

// stop ends the process: quit over ctrl_tcp, then SIGTERM, then SIGKILL,
// each given two seconds. On a failed test the log goes to the test log.
func (p *Phone) stop() {
	if p.conn != nil {
		p.send("quit", "", "quit")
	}
	if !waitExit(p.exited, 2*time.Second) {
		p.cmd.Process.Signal(syscall.SIGTERM)
		if !waitExit(p.exited, 2*time.Second) {
			p.cmd.Process.Kill()
			<-p.exited
		}
	}
	if p.conn != nil {
		p.conn.Close()
	}
	if p.t.Failed() {
		var evs strings.Builder
		for _, e := range p.Events() {
			evs.Write(e.Raw)
			evs.WriteByte('\n')
		}
		p.t.Logf("%s events:\n%s", p.name, evs.String())
		p.t.Logf("%s log (%s):\n%s", p.name, p.logPath, p.logTail())
	}
}

func waitExit(exited chan struct{}, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-exited:
		return true
	case <-t.C:
		return false
	}
}

// logTail returns the end of the process's log.
func (p *Phone) logTail() string {
	b, _ := os.ReadFile(p.logPath)
	const max = 8 << 10
	if len(b) > max {
		b = b[len(b)-max:]
	}
	return string(b)
}

// Log returns the whole log of the process so far.
func (p *Phone) Log() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

func (p *Phone) readLoop() {
	r := bufio.NewReader(p.conn)
	for {
		msg, err := readNetstring(r)
		if err != nil {
			p.mu.Lock()
			p.readErr = err
			close(p.changed)
			p.changed = make(chan struct{})
			for tok, ch := range p.waiting {
				close(ch)
				delete(p.waiting, tok)
			}
			p.mu.Unlock()
			return
		}
		var kind struct {
			Response bool `json:"response"`
			Event    bool `json:"event"`
		}
		if json.Unmarshal(msg, &kind) != nil {
			continue
		}
		switch {
		case kind.Response:
			var res Response
			if json.Unmarshal(msg, &res) != nil {
				continue
			}
			p.mu.Lock()
			if ch, ok := p.waiting[res.Token]; ok {
				ch <- res
				delete(p.waiting, res.Token)
			}
			p.mu.Unlock()
		case kind.Event:
			var ev Event
			if json.Unmarshal(msg, &ev) != nil {
				continue
			}
			ev.Raw = append(json.RawMessage(nil), msg...)
			p.mu.Lock()
			p.events = append(p.events, ev)
			close(p.changed)
			p.changed = make(chan struct{})
			p.mu.Unlock()
		}
	}
}

// maxNetstring bounds one control message.
const maxNetstring = 1 << 20

func readNetstring(r *bufio.Reader) ([]byte, error) {
	head, err := r.ReadString(':')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(head[:len(head)-1]))
	if err != nil || n < 0 || n > maxNetstring {
		return nil, fmt.Errorf("bad netstring length %q", head)
	}
	buf := make([]byte, n+1)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, err
	}
	if buf[n] != ',' {
		return nil, errors.New("netstring without trailing comma")
	}
	return buf[:n], nil
}

// freeSIPPort finds P with UDP P and TCP P and P+1 free: baresip binds SIP
// on UDP and TCP P and SIP/TLS on TCP P+1.
func freeSIPPort() (int, error) {
	for range 100 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		l2, err2 := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port+1)))
		u, err3 := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		l.Close()
		if err2 == nil {
			l2.Close()
		}
		if err3 == nil {
			u.Close()
		}
		if err2 == nil && err3 == nil && port < 65535 {
			return port, nil
		}
	}
	return 0, errors.New("no free port pair for baresip's SIP")
}

func freeTCPPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// freeUDPRange finds n consecutive free UDP ports for RTP (baresip binds
// them on 0.0.0.0).
func freeUDPRange(n int) (int, error) {
	for range 100 {
		u, err := net.ListenPacket("udp", "0.0.0.0:0")
		if err != nil {
			return 0, err
		}
		low := u.LocalAddr().(*net.UDPAddr).Port
		u.Close()
		low &^= 1 // RTP on even ports
		if low+n > 65535 {
			continue
		}
		ok := true
		for port := low; port < low+n && ok; port++ {
			c, err := net.ListenPacket("udp", net.JoinHostPort("0.0.0.0", strconv.Itoa(port)))
			if err != nil {
				ok = false
				break
			}
			c.Close()
		}
		if ok {
			return low, nil
		}
	}
	return 0, fmt.Errorf("no %d free UDP ports for RTP", n)
}
