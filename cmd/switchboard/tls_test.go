package main

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// syncBuffer is a log sink the server's goroutines may write to.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Without --tls-cert, serve makes a self-signed certificate under --data at
// the first start, says so in the log, and answers SIP over TLS with it.
func TestServeTLSSelfSigned(t *testing.T) {
	c := newCLI(t)
	var logs syncBuffer
	m := startMain(t, c, "47400-47499", nil)
	// A second Main over the same data finds the pair and logs that.
	m2 := &Main{Config: Config{Data: c.data, SIPAddr: "127.0.0.1:0"},
		Log: slog.New(slog.NewTextHandler(&logs, nil))}
	if _, err := m2.tlsConfig(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "self-signed") {
		t.Errorf("log does not mention the self-signed certificate:\n%s", logs.String())
	}
	pem, err := os.ReadFile(filepath.Join(c.data, "tls", "cert.pem"))
	if err != nil {
		t.Fatalf("no self-signed certificate under --data: %v", err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	conn, err := tls.Dial("tcp", m.SIPTLSAddr(), &tls.Config{RootCAs: roots, ServerName: "localhost"})
	if err != nil {
		t.Fatalf("tls to %s: %v", m.SIPTLSAddr(), err)
	}
	defer conn.Close()
	raw := "OPTIONS sip:" + m.SIPTLSAddr() + " SIP/2.0\r\nVia: SIP/2.0/TLS 127.0.0.1:5999;branch=z9hG4bK-tls1;rport\r\n" +
		"Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.1>;tag=1\r\nTo: <sip:" + m.SIPTLSAddr() + ">\r\nCall-ID: tls-options\r\n" +
		"CSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
	if _, err := conn.Write([]byte(raw)); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "SIP/2.0 200") {
		t.Fatalf("OPTIONS over TLS: %q, %v", line, err)
	}
}
