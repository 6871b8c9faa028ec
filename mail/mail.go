// Package mail sends the PBX's few e-mails (invitations, test mails) over
// SMTP with net/smtp: plain, STARTTLS or TLS from the first byte, with
// optional PLAIN authentication. Headers are MIME-encoded, so names such
// as "Trần Thị Ánh" or "Łukasz Żółć" survive any mail server. It knows
// nothing of users or the store.
package mail

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"strconv"
	"strings"
	"time"
)

// Security is how the connection to the SMTP server is protected.
type Security string

// The securities a Config may name.
const (
	SecurityNone     Security = "none"     // plain text; only for a relay on the same host or network
	SecuritySTARTTLS Security = "starttls" // plain, then STARTTLS before anything else (port 587)
	SecurityTLS      Security = "tls"      // TLS from the first byte (port 465)
)

// Config is the SMTP server mails go through.
type Config struct {
	Host     string
	Port     int
	Security Security
	User     string // empty: no authentication
	Password string
	From     string // the sender address, optionally with a name: "PBX <pbx@example.com>"

	// TLS, when not nil, is used for STARTTLS and TLS (tests pass their
	// own roots); nil verifies the server against the system's roots.
	TLS *tls.Config
	// Timeout bounds one mail from dial to QUIT; zero is 30 seconds.
	Timeout time.Duration
}

// Configured reports whether there is a server to send through.
func (c *Config) Configured() bool { return c.Host != "" && c.From != "" }

// Message is one mail with a plain-text body.
type Message struct {
	To      mail.Address
	Subject string
	Body    string
	Lang    string // Content-Language, e.g. "vi"; empty: none
	// Attachments, when any, make the mail multipart/mixed: the body,
	// then each file (attach.go).
	Attachments []Attachment
}

// Send delivers m through the server of c, or returns why not. It stops
// when ctx ends.
func Send(ctx context.Context, c Config, m Message) error {
	if !c.Configured() {
		return errors.New("mail: no SMTP server is configured")
	}
	from, err := mail.ParseAddress(c.From)
	if err != nil {
		return fmt.Errorf("mail: from address %q: %w", c.From, err)
	}
	if strings.ContainsAny(m.To.Address, "\r\n<>") || !strings.Contains(m.To.Address, "@") {
		return fmt.Errorf("mail: bad recipient address %q", m.To.Address)
	}
	data, err := build(from, m, time.Now())
	if err != nil {
		return err
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	addr := net.JoinHostPort(c.Host, strconv.Itoa(c.port()))
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("mail: connect %s: %w", addr, err)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	tlsConf := c.tlsConfig()
	if c.Security == SecurityTLS {
		tc := tls.Client(conn, tlsConf)
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return fmt.Errorf("mail: TLS with %s: %w", addr, err)
		}
		conn = tc
	}
	cl, err := smtp.NewClient(conn, c.Host)
	if err != nil {
		conn.Close()
		return fmt.Errorf("mail: %s: %w", addr, ctxErr(ctx, err))
	}
	defer cl.Close()
	if err := c.session(cl, tlsConf, from.Address, m.To.Address, data); err != nil {
		return fmt.Errorf("mail: %s: %w", addr, ctxErr(ctx, err))
	}
	return nil
}

func (c *Config) session(cl *smtp.Client, tlsConf *tls.Config, from, to string, data []byte) error {
	if err := cl.Hello("localhost"); err != nil {
		return err
	}
	if c.Security == SecuritySTARTTLS {
		if ok, _ := cl.Extension("STARTTLS"); !ok {
			return errors.New("the server does not offer STARTTLS")
		}
		if err := cl.StartTLS(tlsConf); err != nil {
			return fmt.Errorf("STARTTLS: %w", err)
		}
	}
	if c.User != "" {
		if err := c.auth(cl); err != nil {
			return fmt.Errorf("authentication: %w", err)
		}
	}
	if err := cl.Mail(from); err != nil {
		return err
	}
	if err := cl.Rcpt(to); err != nil {
		return err
	}
	w, err := cl.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(data); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return cl.Quit()
}

// auth logs in with AUTH PLAIN (RFC 4616). net/smtp's Client.Auth, after
// a refusal, sends "*" and waits for an answer some servers never give, so
// a wrong password would hang until the timeout. Like smtp.PlainAuth it
// refuses to send the password unencrypted to anything but loopback.
func (c *Config) auth(cl *smtp.Client) error {
	if ok, _ := cl.Extension("AUTH"); !ok {
		return errors.New("the server does not offer AUTH")
	}
	if _, tlsOn := cl.TLSConnectionState(); !tlsOn && !loopback(c.Host) {
		return errors.New("will not send the password over an unencrypted connection; use STARTTLS or TLS")
	}
	resp := base64.StdEncoding.EncodeToString([]byte("\x00" + c.User + "\x00" + c.Password))
	id, err := cl.Text.Cmd("AUTH PLAIN %s", resp)
	if err != nil {
		return err
	}
	cl.Text.StartResponse(id)
	defer cl.Text.EndResponse(id)
	_, _, err = cl.Text.ReadResponse(235)
	return err
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func (c *Config) port() int {
	switch {
	case c.Port > 0:
		return c.Port
	case c.Security == SecurityTLS:
		return 465
	case c.Security == SecuritySTARTTLS:
		return 587
	}
	return 25
}

func (c *Config) tlsConfig() *tls.Config {
	if c.TLS != nil {
		t := c.TLS.Clone()
		if t.ServerName == "" {
			t.ServerName = c.Host
		}
		return t
	}
	return &tls.Config{ServerName: c.Host, MinVersion: tls.VersionTLS12}
}

// ctxErr prefers the context's reason when the connection was closed
// because ctx ended.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	return err
}

// build renders the message: encoded headers, a quoted-printable UTF-8 body,
// CRLF line ends.
func build(from *mail.Address, m Message, now time.Time) ([]byte, error) {
	var b bytes.Buffer
	h := func(k, v string) { b.WriteString(k + ": " + v + "\r\n") }
	for _, v := range []string{m.Subject, m.To.Name, from.Name, m.Lang} {
		if strings.ContainsAny(v, "\r\n") {
			return nil, errors.New("mail: a header value holds a line break")
		}
	}
	id := make([]byte, 12)
	_, _ = rand.Read(id)
	domain := from.Address[strings.LastIndexByte(from.Address, '@')+1:]
	h("From", from.String())
	h("To", m.To.String())
	h("Subject", mime.QEncoding.Encode("utf-8", m.Subject))
	h("Date", now.Format(time.RFC1123Z))
	h("Message-ID", "<"+hex.EncodeToString(id)+"@"+domain+">")
	h("MIME-Version", "1.0")
	if m.Lang != "" {
		h("Content-Language", m.Lang)
	}
	h("Auto-Submitted", "auto-generated")
	if len(m.Attachments) > 0 {
		return appendMixed(&b, m)
	}
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	body := strings.ReplaceAll(strings.ReplaceAll(m.Body, "\r\n", "\n"), "\n", "\r\n")
	if _, err := qp.Write([]byte(body)); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}
