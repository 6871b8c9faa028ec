package sip

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// dialFrom opens a TCP connection to addr from the loopback address ip
// (Linux routes all of 127.0.0.0/8 to lo), closed when the test ends.
func dialFrom(t testing.TB, ip, addr string) *sipConn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &sipConn{t: t, c: c}
}

// sipConn is a test's own end of a SIP TCP connection.
type sipConn struct {
	t   testing.TB
	c   net.Conn
	buf []byte
}

func (s *sipConn) send(msg string) {
	s.t.Helper()
	if _, err := s.c.Write([]byte(msg)); err != nil {
		s.t.Fatalf("write: %v", err)
	}
}

// more reads what comes next; io.EOF once the server closed.
func (s *sipConn) more() error {
	chunk := make([]byte, 65535)
	s.c.SetReadDeadline(time.Now().Add(waitLimit))
	n, err := s.c.Read(chunk)
	s.buf = append(s.buf, chunk[:n]...)
	if n > 0 {
		return nil
	}
	if err != nil && (errors.Is(err, io.EOF) || isReset(err)) {
		return io.EOF
	}
	return err
}

// next returns the next whole message the server sent.
func (s *sipConn) next() []byte {
	s.t.Helper()
	for {
		if msg, rest, ok := frameOne(s.buf); ok {
			s.buf = rest
			return msg
		}
		if err := s.more(); err != nil {
			s.t.Fatalf("reading a message: %v", err)
		}
	}
}

// final returns the next final response.
func (s *sipConn) final() *answer {
	s.t.Helper()
	for {
		if res := finalResponse(s.t, s.next()); res != nil {
			return res
		}
	}
}

// closed waits until the server closes the connection, failing if it
// sends anything first.
func (s *sipConn) closed() {
	s.t.Helper()
	for {
		if len(bytes.TrimLeft(s.buf, "\r\n")) > 0 {
			s.t.Fatalf("got %q, want the connection closed", s.buf)
		}
		err := s.more()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			s.t.Fatalf("connection not closed: %v", err)
		}
	}
}

// ping sends a CRLF keep-alive (RFC 5626 §3.5.1) and waits for the pong.
func (s *sipConn) ping() {
	s.t.Helper()
	s.send("\r\n\r\n")
	for len(s.buf) < 2 {
		if err := s.more(); err != nil {
			s.t.Fatalf("no pong: %v", err)
		}
	}
	if string(s.buf[:2]) != "\r\n" {
		s.t.Fatalf("pong %q", s.buf)
	}
	s.buf = s.buf[2:]
}

// options is an OPTIONS to the server over TCP with CSeq n.
func options(id string, n int) string {
	return fmt.Sprintf("OPTIONS sip:127.0.0.1 SIP/2.0\r\n"+
		"Via: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bK-%s-%d\r\n"+
		"From: <sip:probe@127.0.0.1>;tag=t%d\r\nTo: <sip:127.0.0.1>\r\n"+
		"Call-ID: %s\r\nCSeq: %d OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n", id, n, n, id, n)
}

// registerOn registers p's extension over the test's own connection s, the
// way a phone does: challenged first, then with credentials.
func registerOn(t testing.TB, s *sipConn, p *phone) {
	t.Helper()
	local := s.c.LocalAddr().String()
	build := func() *sip.Request {
		req := p.request(600, "sip:"+p.ext+"@"+local+";transport=tcp")
		req.PrependHeader(sip.NewHeader("Via", "SIP/2.0/TCP "+local+";branch=z9hG4bK-"+sip.GenerateTagN(10)))
		req.AppendHeader(sip.NewHeader("Max-Forwards", "70"))
		return req
	}
	wire := func(req *sip.Request) string {
		return strings.TrimSuffix(req.String(), "\r\n") + "Content-Length: 0\r\n\r\n"
	}
	req := build()
	s.send(wire(req))
	m, err := sip.ParseMessage(s.next())
	if err != nil {
		t.Fatal(err)
	}
	res := m.(*sip.Response)
	if res.StatusCode != 401 {
		t.Fatalf("REGISTER: %d, want 401", res.StatusCode)
	}
	chal := p.pick(res)
	p.nc = 0
	req = build()
	p.authorize(req, chal, p.pw)
	s.send(wire(req))
	if res := s.final(); res.StatusCode != 200 {
		t.Fatalf("REGISTER with credentials: %d %s", res.StatusCode, res.Reason)
	}
}

// TestSlowRequestsClosed: 500 connections that send half a request are
// closed once TCPMessageTimeout has passed since each began (slow-loris),
// though no idle limit would close them yet.
func TestSlowRequestsClosed(t *testing.T) {
	st, _ := openSQLite(t)
	ts := startServer(t, st, nil, func(c *Config) {
		c.TCPMessageTimeout = 100 * time.Millisecond
		c.TCPUnregisteredIdle = time.Hour
		c.MaxTCPPerSource = 1000
		c.MaxTCP = 2000
	})
	conns := make([]*sipConn, 500)
	for i := range conns {
		conns[i] = dialFrom(t, "127.0.0.66", ts.tcp)
		conns[i].send("OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.66;branch=z9hG4bK-slow" +
			fmt.Sprint(i) + "\r\nFrom: <sip:x@127.0.0.66>;tag=1\r\n")
	}
	for _, c := range conns {
		c.closed()
	}
	// The server goes on serving.
	c := dialFrom(t, "127.0.0.66", ts.tcp)
	c.send(options("after-slow", 1))
	if res := c.final(); res.StatusCode != 200 {
		t.Fatalf("OPTIONS after the slow ones: %d", res.StatusCode)
	}
}

// TestIdleConnections: a connection carrying no registration is closed
// after TCPUnregisteredIdle without a request; one carrying a
// registration stays, as long as its phone sends CRLF keep-alives within
// TCPIdleTimeout; one whose phone falls silent is closed after that.
func TestIdleConnections(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	addUser(t, st, "10002")
	ts := startServer(t, st, nil, func(c *Config) {
		c.TCPUnregisteredIdle = 50 * time.Millisecond
		c.TCPIdleTimeout = 2 * time.Second
	})
	pinging := dialFrom(t, "127.0.0.67", ts.tcp)
	registerOn(t, pinging, newPhone(t, ts, "10001", testPassword))
	silent := dialFrom(t, "127.0.0.68", ts.tcp)
	registerOn(t, silent, newPhone(t, ts, "10002", testPassword))

	// Unregistered connections come and go, each answered once and then
	// closed for idling; meanwhile one phone keeps pinging, the other is
	// silent until its connection is closed.
	silentGone := make(chan error, 1)
	go func() {
		buf := make([]byte, 1024)
		silent.c.SetReadDeadline(time.Now().Add(waitLimit))
		for {
			if _, err := silent.c.Read(buf); err != nil {
				silentGone <- err
				return
			}
		}
	}()
	for i := 0; ; i++ {
		idle := dialFrom(t, "127.0.0.66", ts.tcp)
		idle.send(options(fmt.Sprint("idle-", i), 1))
		if res := idle.final(); res.StatusCode != 200 {
			t.Fatalf("OPTIONS: %d", res.StatusCode)
		}
		idle.closed()
		pinging.ping()
		select {
		case err := <-silentGone:
			if !errors.Is(err, io.EOF) && !isReset(err) {
				t.Fatalf("the silent phone's connection was not closed: %v", err)
			}
		default:
			continue
		}
		break
	}
	if got := len(ts.Bindings("10002")); got != 1 {
		t.Fatalf("10002 has %d bindings; the silent connection was closed for another reason", got)
	}
	// The pinging phone's connection is still there and serves it.
	pinging.send(options("still-there", 2))
	if res := pinging.final(); res.StatusCode != 200 {
		t.Fatalf("OPTIONS on the kept connection: %d", res.StatusCode)
	}
}

// TestTotalConnectionCap: MaxTCP holds across sources; a connection past
// it is closed at once.
func TestTotalConnectionCap(t *testing.T) {
	st, _ := openSQLite(t)
	ts := startServer(t, st, nil, func(c *Config) { c.MaxTCP = 5 })
	for i := range 5 {
		c := dialFrom(t, fmt.Sprintf("127.0.0.%d", 70+i), ts.tcp)
		c.send(options(fmt.Sprint("cap-", i), 1))
		if res := c.final(); res.StatusCode != 200 {
			t.Fatalf("connection %d: %d", i, res.StatusCode)
		}
	}
	over := dialFrom(t, "127.0.0.75", ts.tcp)
	over.send(options("cap-over", 1))
	over.closed()
	if got := wait(t, ts.dropped, "dropped connection"); got != "too many connections" {
		t.Errorf("dropped for %q", got)
	}
}

// TestPipelinedRequestsInOrder: requests written back to back on one
// connection are answered in the order they were sent, though sipgo
// serves each in a goroutine of its own and REGISTER takes longer than
// OPTIONS.
func TestPipelinedRequestsInOrder(t *testing.T) {
	st, _ := openSQLite(t)
	addUser(t, st, "10001")
	ts := startServer(t, st, nil)
	c := dialFrom(t, "127.0.0.66", ts.tcp)
	p := newPhone(t, ts, "10001", testPassword)
	local := c.c.LocalAddr().String()
	var all strings.Builder
	const n = 60
	for i := 1; i <= n; i++ {
		if i%2 == 0 {
			all.WriteString(options("pipe", i))
			continue
		}
		req := p.request(600, "sip:10001@"+local+";transport=tcp")
		req.PrependHeader(sip.NewHeader("Via", "SIP/2.0/TCP "+local+";branch=z9hG4bK-pipe"+fmt.Sprint(i)))
		req.AppendHeader(sip.NewHeader("Max-Forwards", "70"))
		all.WriteString(strings.TrimSuffix(req.String(), "\r\n") + "Content-Length: 0\r\n\r\n")
	}
	c.send(all.String())
	var order []string
	for range n {
		m, _ := wire.Split(c.next())
		order = append(order, strings.Fields(m.First("cseq"))[1])
	}
	for i, method := range order {
		want := "REGISTER"
		if (i+1)%2 == 0 {
			want = "OPTIONS"
		}
		if method != want {
			t.Fatalf("answers out of order: %v", order)
		}
	}
}

// TestBadContentLengthClosed: a request with an invalid Content-Length is
// answered 400 and its connection closed, since where the next message
// starts is unknown; one that is fine before it is served.
func TestBadContentLengthClosed(t *testing.T) {
	st, _ := openSQLite(t)
	ts := startServer(t, st, nil)
	for _, cl := range []string{"abc", "-5", "10, 20"} {
		c := dialFrom(t, "127.0.0.66", ts.tcp)
		c.send(options("cl-ok", 1))
		if res := c.final(); res.StatusCode != 200 {
			t.Fatalf("OPTIONS: %d", res.StatusCode)
		}
		c.send(strings.Replace(options("cl-bad", 2), "Content-Length: 0", "Content-Length: "+cl, 1) + "garbage")
		if res := c.final(); res.StatusCode != 400 {
			t.Errorf("Content-Length %q: %d %s, want 400", cl, res.StatusCode, res.Reason)
		}
		c.closed()
	}
}
