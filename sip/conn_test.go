package sip

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"
)

// TestTCPConnectionsPerSource: a source may hold MaxTCPPerSource
// connections; one more is closed at once (and counted as dropped), and a
// slot freed by closing one is usable again.
func TestTCPConnectionsPerSource(t *testing.T) {
	st, _ := openSQLite(t)
	ts := startServer(t, st, nil, func(c *Config) { c.MaxTCPPerSource = 2 })
	dial := func() net.Conn {
		t.Helper()
		c, err := net.Dial("tcp", ts.tcp)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	// options sends an OPTIONS on c and reports whether a 200 came back.
	options := func(c net.Conn, n int) bool {
		t.Helper()
		msg := "OPTIONS sip:" + ts.tcp + " SIP/2.0\r\n" +
			"Via: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK-conn" + strings.Repeat("x", n) + "\r\n" +
			"From: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:" + ts.tcp + ">\r\n" +
			"Call-ID: conn-" + strings.Repeat("x", n) + "\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
		if _, err := c.Write([]byte(msg)); err != nil {
			return false
		}
		c.SetReadDeadline(time.Now().Add(waitLimit))
		line, err := bufio.NewReader(c).ReadString('\n')
		return err == nil && strings.HasPrefix(line, "SIP/2.0 200")
	}
	a, b := dial(), dial()
	if !options(a, 1) || !options(b, 2) {
		t.Fatal("the first two connections are not served")
	}
	third := dial()
	if options(third, 3) {
		t.Fatal("a third connection from the source was served")
	}
	if got := wait(t, ts.dropped, "dropped connection"); got != "too many connections" {
		t.Errorf("dropped for %q", got)
	}
	a.Close()
	// The server notices the close when its read returns: poll for the
	// freed slot.
	for i := 0; ; i++ {
		if options(dial(), 10+i) {
			break
		}
		if i == 100 {
			t.Fatal("a closed connection's slot never came free")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
