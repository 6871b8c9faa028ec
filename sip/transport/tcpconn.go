package transport

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// Connection hygiene for TCP (and, later, TLS). tcpConn frames the stream
// into whole messages before sipgo sees them, so that the edge can check
// each one (see edge.go) and so that:
//   - a message, once begun, must be complete within TCPMessageTimeout
//     (slow-loris);
//   - a connection carrying no registration is closed after
//     TCPUnregisteredIdle without a request; one carrying a registration
//     (or from a trunk or an exempt network) after TCPIdleTimeout without
//     any traffic, CRLF keep-alives (RFC 5626) included;
//   - a bad Content-Length is answered 400 and the connection closed, its
//     framing being lost;
//   - pipelined requests are answered in order: the next request is handed
//     to sipgo, which serves each in a goroutine of its own, only once the
//     one before it got its first response (or orderWait passed).

// orderWait bounds how long a request that gets no answer (one the guard
// drops, say) holds back the next one on its connection.
const orderWait = time.Second

// stream is the framing state of one TCP connection. Only the goroutine
// reading the connection (sipgo's) touches it, except gate.
type stream struct {
	buf      []byte    // bytes read, not yet framed
	out      []byte    // framed bytes not yet handed to sipgo
	err      error     // returned once out is drained
	begun    time.Time // when the message in buf began; zero: none
	lastMsg  time.Time // the last whole message (or the accept)
	lastByte time.Time // the last bytes of any kind
	gate     gate
}

// gate holds the next request until the previous one is answered.
type gate struct {
	mu   sync.Mutex
	key  string
	done chan struct{}
}

func (g *gate) expect(key string) {
	g.mu.Lock()
	g.key, g.done = key, make(chan struct{})
	g.mu.Unlock()
}

// answered notes a response written on the connection.
func (g *gate) answered(res []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.done == nil {
		return
	}
	if m, _ := wire.Split(res); transactionKey(&m) == g.key {
		close(g.done)
		g.done = nil
	}
}

func (g *gate) wait() {
	g.mu.Lock()
	done := g.done
	g.mu.Unlock()
	if done == nil {
		return
	}
	t := time.NewTimer(orderWait)
	defer t.Stop()
	select {
	case <-done:
	case <-t.C:
	}
}

// transactionKey is what ties a response to its request on one connection:
// Call-ID and CSeq, white space normalised.
func transactionKey(m *wire.Message) string {
	return m.First("call-id") + "|" + strings.Join(strings.Fields(m.First("cseq")), " ")
}

// Write notes responses for the ordering gate once they are sent.
func (c *tcpConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if bytes.HasPrefix(b, []byte("SIP/2.0 ")) {
		c.st.gate.answered(b)
	}
	return n, err
}

// Read hands sipgo whole messages (and keep-alives) one at a time.
func (c *tcpConn) Read(b []byte) (int, error) {
	st := &c.st
	if st.lastMsg.IsZero() {
		st.lastMsg = time.Now()
		st.lastByte = st.lastMsg
	}
	for {
		if len(st.out) > 0 {
			n := copy(b, st.out)
			st.out = st.out[n:]
			return n, nil
		}
		if st.err != nil {
			return 0, st.err
		}
		if c.frame() {
			continue
		}
		if err := c.fill(); err != nil {
			c.incomplete(err)
			st.err = err
		}
	}
}

// frame takes what it can from buf: a keep-alive, or one whole message,
// checked by the edge. It reports whether it took anything.
func (c *tcpConn) frame() bool {
	st := &c.st
	if len(st.buf) == 0 {
		return false
	}
	// CRLFs between messages: a "\r\n\r\n" ping goes to sipgo alone, which
	// answers it; a lone CRLF (a pong) is passed on, and ignored there.
	k := 0
	for k < len(st.buf) && k < 4 && (st.buf[k] == '\r' || st.buf[k] == '\n') {
		k++
	}
	if k > 0 {
		if k < 4 && k == len(st.buf) {
			return false // maybe more of a ping to come
		}
		st.out = append(st.out[:0], st.buf[:k]...)
		st.buf = st.buf[k:]
		return true
	}
	if st.begun.IsZero() {
		st.begun = time.Now()
	}
	end := wire.HeaderEnd(st.buf)
	if end < 0 {
		if len(st.buf) > c.e.cfg.MaxMessageSize {
			c.refuse(st.buf, 513, "Message Too Large")
			return true
		}
		return false
	}
	m, _ := wire.Split(st.buf[:end])
	length := 0
	if v := m.All("content-length"); len(v) == 1 {
		n, err := strconv.ParseUint(v[0], 10, 31)
		if err != nil {
			c.refuse(st.buf[:end], 400, "Bad Content-Length")
			return true
		}
		length = int(n)
	} else if len(v) > 1 {
		c.refuse(st.buf[:end], 400, "Multiple Content-Length")
		return true
	}
	if end+length > c.e.cfg.MaxMessageSize {
		c.refuse(st.buf[:end], 513, "Message Too Large")
		return true
	}
	if len(st.buf) < end+length {
		return false
	}
	msg := st.buf[:end+length]
	st.buf = st.buf[end+length:]
	st.begun = time.Time{}
	st.lastMsg = time.Now()
	c.handle(msg)
	return true
}

// handle puts one whole message through the edge.
func (c *tcpConn) handle(msg []byte) {
	st := &c.st
	request := !bytes.HasPrefix(msg, []byte("SIP/"))
	if request {
		st.gate.wait() // answers go out in the order of the requests
	}
	v := c.e.inspect(msg, true)
	if v.code != 0 {
		c.e.log.Debug("sip request refused", "src", c.RemoteAddr().String(), "code", v.code, "reason", v.why,
			"answered", v.reply != nil, "closed", v.close)
	}
	if v.reply != nil {
		if _, err := c.Write(v.reply); err != nil {
			c.e.log.Debug("sip response not sent", "src", c.RemoteAddr().String(), "err", err)
		}
	}
	if v.close {
		st.err = io.EOF
		st.buf = nil
		c.Close()
		return
	}
	if !v.pass {
		return
	}
	out := append(st.out[:0], msg...)
	if v.branch != "" {
		out = append(out, make([]byte, 64)...)
		out = out[:fixVia(out, len(msg), v.branch, false)]
	}
	if request {
		if m, _ := wire.Split(out); m.Method() != "ACK" {
			st.gate.expect(transactionKey(&m))
		}
	}
	st.out = out
}

// refuse answers the message begun in buf (when it can be answered) and
// closes the connection: its framing is lost.
func (c *tcpConn) refuse(head []byte, code int, reason string) {
	st := &c.st
	c.e.log.Debug("sip request refused", "src", c.RemoteAddr().String(), "code", code, "reason", reason, "closed", true)
	if m, _ := wire.Split(head); !bytes.HasPrefix(head, []byte("SIP/")) && m.Method() != "ACK" && m.Answerable() {
		st.gate.wait()
		if _, err := c.Write(m.Reply(code, reason, c.e.cfg.UserAgent)); err != nil {
			c.e.log.Debug("sip response not sent", "src", c.RemoteAddr().String(), "err", err)
		}
	} else {
		c.e.parts.CountDrop("malformed")
	}
	st.err = io.EOF
	st.buf = nil
	c.Close()
}

// incomplete answers a message cut short by the peer closing its side
// (RFC 4475 §3.1.2.2 over TCP), when it names whom to answer.
func (c *tcpConn) incomplete(err error) {
	st := &c.st
	if !errors.Is(err, io.EOF) || len(bytes.Trim(st.buf, "\r\n")) == 0 {
		return
	}
	head := st.buf
	if end := wire.HeaderEnd(st.buf); end >= 0 {
		head = st.buf[:end]
	}
	if m, _ := wire.Split(head); !bytes.HasPrefix(head, []byte("SIP/")) && m.Method() != "ACK" && m.Answerable() {
		st.gate.wait()
		if _, err := c.Write(m.Reply(400, "Incomplete Message", c.e.cfg.UserAgent)); err != nil {
			c.e.log.Debug("sip response not sent", "src", c.RemoteAddr().String(), "err", err)
		}
	}
	st.buf = nil
}

// fill reads more bytes, under the deadline that applies now: the rest of
// a begun message, or the idle time of the connection.
func (c *tcpConn) fill() error {
	st := &c.st
	var chunk [4096]byte
	for {
		deadline, why := c.deadline()
		if err := c.Conn.SetReadDeadline(deadline); err != nil {
			return err
		}
		n, err := c.Conn.Read(chunk[:])
		if n > 0 {
			st.lastByte = time.Now()
			if reason := c.e.screen(c.ip, chunk[:n], false); reason != "" {
				c.e.Dropped(c.ip, reason)
				c.Close()
				return io.EOF
			}
			st.buf = append(st.buf, chunk[:n]...)
			return nil
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			// The connection may have been registered meanwhile: look
			// again before giving up on it.
			if next, _ := c.deadline(); time.Now().Before(next) {
				continue
			}
			c.e.Dropped(c.ip, why)
			c.Close()
		}
		return err
	}
}

// deadline returns when the connection is to be closed if nothing comes,
// and why.
func (c *tcpConn) deadline() (time.Time, string) {
	st := &c.st
	if !st.begun.IsZero() || len(bytes.Trim(st.buf, "\r\n")) > 0 {
		if st.begun.IsZero() {
			st.begun = time.Now()
		}
		return st.begun.Add(c.e.cfg.TCPMessageTimeout), "slow request"
	}
	if c.longLived() {
		return st.lastByte.Add(c.e.cfg.TCPIdleTimeout), "idle connection"
	}
	return st.lastMsg.Add(c.e.cfg.TCPUnregisteredIdle), "idle connection"
}

// longLived reports whether the connection may idle as long as a phone's:
// it carries a registration, or comes from a trunk or an exempt network.
func (c *tcpConn) longLived() bool {
	if c.e.guard.Exempt(c.ip) || c.e.parts.FromTrunk(c.ip) {
		return true
	}
	return c.e.parts.Registered(c.RemoteAddr().String())
}
