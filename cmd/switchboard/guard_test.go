package main

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// challengeAlgorithms sends an unauthenticated REGISTER to addr and
// returns the algorithms of the 401's challenges, in order.
func challengeAlgorithms(t *testing.T, addr string) []string {
	t.Helper()
	c, err := net.Dial("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	local := c.LocalAddr().String()
	fmt.Fprintf(c, "REGISTER sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bKopt%d;rport\r\n"+
		"From: <sip:10001@switchboard.local>;tag=1\r\nTo: <sip:10001@switchboard.local>\r\n"+
		"Call-ID: opt-%d\r\nCSeq: 1 REGISTER\r\nMax-Forwards: 70\r\nContact: <sip:10001@%s>\r\n"+
		"Content-Length: 0\r\n\r\n", addr, local, time.Now().UnixNano(), time.Now().UnixNano(), local)
	buf := make([]byte, 65535)
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	n, err := c.Read(buf)
	if err != nil {
		t.Fatalf("no answer: %v", err)
	}
	m, err := sip.ParseMessage(buf[:n])
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, h := range m.GetHeaders("WWW-Authenticate") {
		_, alg, _ := strings.Cut(h.Value(), "algorithm=")
		alg, _, _ = strings.Cut(alg, ",")
		out = append(out, alg)
	}
	return out
}

// TestSIPOptions: a setting configures every node; a node's flag wins over
// it; a bad flag names itself.
func TestSIPOptions(t *testing.T) {
	c := newCLI(t)
	m := startMain(t, c, "46000-46099", nil)
	if got := challengeAlgorithms(t, m.SIPAddr()); strings.Join(got, ",") != "SHA-256,MD5" {
		t.Errorf("default challenges %v, want SHA-256 then MD5", got)
	}
	c.ok("", "settings", "set", "sip.digest.algorithms", "MD5")
	m2 := startMain(t, c, "46100-46199", nil)
	if got := challengeAlgorithms(t, m2.SIPAddr()); strings.Join(got, ",") != "MD5" {
		t.Errorf("with the setting MD5: challenges %v, want MD5 alone", got)
	}
	m3 := startMain(t, c, "46200-46299", func(cfg *Config) {
		cfg.SIPOptions[optionIndex(t, "digest-algorithms")] = "MD5,SHA-256"
	})
	if got := challengeAlgorithms(t, m3.SIPAddr()); strings.Join(got, ",") != "MD5,SHA-256" {
		t.Errorf("with the flag: challenges %v, want MD5 then SHA-256", got)
	}
	for _, tc := range []struct{ flag, value, want string }{
		{"--guard-window", "soon", "--guard-window (SWITCHBOARD_GUARD_WINDOW): must be a duration"},
		{"--guard-exempt", "10.0.0.0/33", "--guard-exempt (SWITCHBOARD_GUARD_EXEMPT): must be CIDR"},
		{"--digest-algorithms", "SHA-1", "--digest-algorithms (SWITCHBOARD_DIGEST_ALGORITHMS): must be SHA-256 and MD5"},
		{"--public-addr", "pbx.example.com", "--public-addr (SWITCHBOARD_PUBLIC_ADDR): \"pbx.example.com\": must be an IP address"},
		{"--guard-flood-requests", "0", "--guard-flood-requests (SWITCHBOARD_GUARD_FLOOD_REQUESTS): must be a whole number"},
	} {
		code, _, stderr := c.run("", "serve", tc.flag, tc.value)
		if code != 2 || !strings.Contains(stderr, tc.want) {
			t.Errorf("%s %s: exit %d, %q; want exit 2 with %q", tc.flag, tc.value, code, stderr, tc.want)
		}
	}
	if code, _, _ := c.run("", "settings", "set", "sip.guard.ban_time", "forever"); code == 0 {
		t.Error("a bad sip.guard.ban_time was stored")
	}
}

func optionIndex(t *testing.T, flag string) int {
	for i, o := range sipOptions {
		if o.flag == flag {
			return i
		}
	}
	t.Fatalf("no option %s", flag)
	return -1
}

// floodOptions sends perWindow OPTIONS from a socket on the address from
// to addr in each of windows windows of length window, and returns how
// many were answered (the flood limit drops the rest unanswered).
func floodOptions(t *testing.T, addr, from string, perWindow, windows int, window time.Duration) int {
	t.Helper()
	raddr, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(from)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetReadBuffer(1 << 20)
	local := c.LocalAddr().String()
	answered := make(chan int)
	go func() {
		n, buf := 0, make([]byte, 4096)
		for {
			if _, err := c.Read(buf); err != nil {
				answered <- n
				return
			}
			n++
		}
	}()
	for w := range windows {
		for i := range perWindow {
			msg := fmt.Sprintf("OPTIONS sip:%s SIP/2.0\r\nVia: SIP/2.0/UDP %s;branch=z9hG4bKfl%d-%d;rport\r\n"+
				"From: <sip:probe@%s>;tag=f%d\r\nTo: <sip:%s>\r\nCall-ID: flood-%d-%d@%s\r\nCSeq: 1 OPTIONS\r\n"+
				"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n", addr, local, w, i, from, i, addr, w, i, from)
			if _, err := c.WriteToUDP([]byte(msg), raddr); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(window)
	}
	// The answers to the last window come within a second on a loaded
	// machine; what is not answered by then was dropped.
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	return <-answered
}

// TestGuardExemptsOwnHost: by default the host's own address is never
// taken for a flood (a load generator, a monitor or a proxy on the PBX's
// host), while any other source over the limit is dropped and banned;
// "none" puts the host under the limit again.
func TestGuardExemptsOwnHost(t *testing.T) {
	c := newCLI(t)
	// A source is banned in its second window over the limit in a row:
	// 20 answered in each of two windows. Windows run on the server's
	// clock as it reads the requests, so a server held up mid-burst on a
	// loaded machine (CI's other packages in parallel; a second run of the
	// test beside the first one's shutdown) splits a burst over two of its
	// windows: 41 to 60 were answered then, with 100 and with 300 ms
	// windows. Three windows' worth is the bound, far below the 240 an
	// exempt source gets; the ban itself is checked too.
	const perWindow, windows, window = 60, 4, 300 * time.Millisecond
	const limited = 3 * 20
	limit := func(cfg *Config) {
		cfg.SIPOptions[optionIndex(t, "guard-flood-requests")] = "20"
		cfg.SIPOptions[optionIndex(t, "guard-flood-window")] = window.String()
	}
	m := startMain(t, c, "46300-46399", limit)
	if got := floodOptions(t, m.SIPAddr(), "127.0.0.1", perWindow, windows, window); got != perWindow*windows {
		t.Errorf("the host's own address: %d of %d answered, want all", got, perWindow*windows)
	}
	if got := floodOptions(t, m.SIPAddr(), "127.0.0.9", perWindow, windows, window); got > limited {
		t.Errorf("another address: %d of %d answered, want at most %d", got, perWindow*windows, limited)
	}
	for !strings.Contains(c.ok("", "bans", "list"), "127.0.0.9") {
		time.Sleep(20 * time.Millisecond)
	}

	m2 := startMain(t, c, "46400-46499", func(cfg *Config) {
		limit(cfg)
		cfg.SIPOptions[optionIndex(t, "guard-exempt")] = "none"
	})
	if got := floodOptions(t, m2.SIPAddr(), "127.0.0.1", perWindow, windows, window); got > limited {
		t.Errorf("with --guard-exempt none, the host's own address: %d of %d answered, want at most %d",
			got, perWindow*windows, limited)
	}
	for !strings.Contains(c.ok("", "bans", "list"), "127.0.0.1") {
		time.Sleep(20 * time.Millisecond)
	}
}
