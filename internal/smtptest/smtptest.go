// Package smtptest runs a real SMTP server (Python's aiosmtpd, Debian
// package python3-aiosmtpd) on loopback for tests, and reads back the mails
// it received. Outside CI a missing aiosmtpd skips the test; under CI=true it
// fails it.
package smtptest

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	_ "embed"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

//go:embed smtpd.py
var script []byte

// Options choose what the server demands.
type Options struct {
	User, Password string // non-empty: AUTH required
	STARTTLS       bool   // STARTTLS required before anything else
	TLS            bool   // TLS from the first byte
}

// Server is a running aiosmtpd.
type Server struct {
	Host string
	Port int
	// Roots trusts the server's certificate (STARTTLS or TLS).
	Roots *x509.CertPool
	dir   string
}

// Python returns the interpreter that can import aiosmtpd: the system's
// /usr/bin/python3 (where Debian installs it) before python3 on PATH.
func Python(t testing.TB) string {
	t.Helper()
	for _, py := range []string{"/usr/bin/python3", "python3"} {
		if exec.Command(py, "-c", "import aiosmtpd").Run() == nil {
			return py
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("aiosmtpd is missing (apt-get install python3-aiosmtpd)")
	}
	t.Skip("aiosmtpd is missing (apt-get install python3-aiosmtpd)")
	return ""
}

// Start runs a server until the test ends.
func Start(t testing.TB, o Options) *Server {
	t.Helper()
	py := Python(t)
	tmp := t.TempDir()
	s := &Server{Host: "127.0.0.1", dir: filepath.Join(tmp, "mail")}
	if err := os.Mkdir(s.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	scriptPath := filepath.Join(tmp, "smtpd.py")
	if err := os.WriteFile(scriptPath, script, 0o644); err != nil {
		t.Fatal(err)
	}
	var extra []string
	if o.User != "" {
		extra = append(extra, "--user", o.User, "--password", o.Password)
	}
	if o.STARTTLS || o.TLS {
		cert, key := s.makeCert(t, tmp)
		flag := "--starttls"
		if o.TLS {
			flag = "--tls"
		}
		extra = append(extra, flag, cert, key)
	}
	for attempt := 0; ; attempt++ {
		s.Port = freePort(t)
		cmd := exec.Command(py, append([]string{scriptPath, s.dir, itoa(s.Port)}, extra...)...)
		stdin, err := cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		cmd.Stderr = &logWriter{t: t}
		if err := cmd.Start(); err != nil {
			t.Fatalf("start aiosmtpd: %v", err)
		}
		ready := make(chan bool, 1)
		go func() {
			line, _ := bufio.NewReader(stdout).ReadString('\n')
			ready <- strings.HasPrefix(line, "READY")
			_, _ = io.Copy(io.Discard, stdout)
		}()
		if <-ready {
			t.Cleanup(func() {
				stdin.Close()
				done := make(chan struct{})
				go func() { _ = cmd.Wait(); close(done) }()
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					_ = cmd.Process.Kill()
					<-done
				}
			})
			return s
		}
		stdin.Close()
		_ = cmd.Wait()
		if attempt == 3 {
			t.Fatal("aiosmtpd did not start")
		}
	}
}

// Mail is one message the server received.
type Mail struct {
	From, To   string // the envelope
	TLS        bool   // the session was encrypted
	AuthUser   string // who authenticated; empty: nobody
	Header     mail.Header
	Body       string // as sent (still transfer-encoded)
	Raw        string
	ReceivedAt time.Time
}

// Wait returns the first n mails received, waiting for them as long as the
// test may run; it fails the test when the server got more.
func (s *Server) Wait(t testing.TB, n int) []Mail {
	t.Helper()
	for {
		names, _ := filepath.Glob(filepath.Join(s.dir, "*.eml"))
		if len(names) >= n {
			slices.Sort(names)
			var out []Mail
			for _, name := range names {
				out = append(out, readMail(t, name))
			}
			return out
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Count is how many mails arrived so far.
func (s *Server) Count() int {
	names, _ := filepath.Glob(filepath.Join(s.dir, "*.eml"))
	return len(names)
}

func readMail(t testing.TB, name string) Mail {
	t.Helper()
	raw, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	m, err := mail.ReadMessage(strings.NewReader(string(raw)))
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	body, _ := io.ReadAll(m.Body)
	st, _ := os.Stat(name)
	return Mail{From: m.Header.Get("X-Envelope-From"), To: m.Header.Get("X-Envelope-To"),
		TLS: m.Header.Get("X-TLS") == "yes", AuthUser: m.Header.Get("X-Auth"), Header: m.Header,
		Body: string(body), Raw: string(raw), ReceivedAt: st.ModTime()}
}

// makeCert writes a self-signed certificate for 127.0.0.1 and localhost.
func (s *Server) makeCert(t testing.TB, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smtptest"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, IsCA: true, BasicConstraintsValid: true,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	s.Roots = x509.NewCertPool()
	s.Roots.AddCert(c)
	return certFile, keyFile
}

// TLSConfig trusts the server's certificate.
func (s *Server) TLSConfig() *tls.Config {
	return &tls.Config{RootCAs: s.Roots, MinVersion: tls.VersionTLS12}
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func itoa(n int) string { return big.NewInt(int64(n)).String() }

type logWriter struct{ t testing.TB }

func (w *logWriter) Write(p []byte) (int, error) {
	w.t.Log("aiosmtpd: " + strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
