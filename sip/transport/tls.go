package transport

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// SIP over TLS (RFC 3261 §26.2, RFC 5630): a listener of its own, whose
// connections pass through the same guard as TCP's (banned sources,
// connection caps, idle timeouts; see conn.go) before the handshake.

// CertFiles serves a certificate and key from PEM files and reloads them
// when either file changes (checked at each handshake, by size and
// modification time), so that a renewed certificate is used without a
// restart. A reload that fails keeps the certificate in force.
type CertFiles struct {
	certPath, keyPath string

	mu    sync.Mutex
	cert  *tls.Certificate
	stamp [2]fileStamp
}

type fileStamp struct {
	size int64
	mod  time.Time
}

// LoadCertFiles loads certPath and keyPath; it fails when they do not make
// a certificate with its key.
func LoadCertFiles(certPath, keyPath string) (*CertFiles, error) {
	cf := &CertFiles{certPath: certPath, keyPath: keyPath}
	if err := cf.load(); err != nil {
		return nil, err
	}
	return cf, nil
}

func stampOf(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{size: fi.Size(), mod: fi.ModTime()}, nil
}

// load reads both files when they changed since the last load. cf.mu must
// be held, or cf not yet shared.
func (cf *CertFiles) load() error {
	var st [2]fileStamp
	var err error
	for i, p := range []string{cf.certPath, cf.keyPath} {
		if st[i], err = stampOf(p); err != nil {
			return fmt.Errorf("tls certificate: %w", err)
		}
	}
	if cf.cert != nil && st == cf.stamp {
		return nil
	}
	cert, err := tls.LoadX509KeyPair(cf.certPath, cf.keyPath)
	if err != nil {
		return fmt.Errorf("tls certificate %s: %w", cf.certPath, err)
	}
	cf.cert, cf.stamp = &cert, st
	return nil
}

// GetCertificate is a tls.Config.GetCertificate that reloads changed files.
func (cf *CertFiles) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	cf.mu.Lock()
	defer cf.mu.Unlock()
	_ = cf.load() // a broken new pair keeps the old one in force
	return cf.cert, nil
}

// ServerConfig returns the TLS configuration of a SIP listener serving
// cf's certificate.
func (cf *CertFiles) ServerConfig() *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: cf.GetCertificate}
}

// SelfSigned makes a self-signed certificate and key for trying TLS out,
// as cert.pem and key.pem in dir, unless both are there already; it
// reports whether it made them. The certificate names localhost, the
// host's name and addresses in hosts (IP addresses or names).
func SelfSigned(dir string, hosts ...string) (certPath, keyPath string, made bool, err error) {
	certPath, keyPath = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if _, err1 := os.Stat(certPath); err1 == nil {
		if _, err2 := os.Stat(keyPath); err2 == nil {
			return certPath, keyPath, false, nil
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", "", false, fmt.Errorf("self-signed certificate: %w", err)
	}
	certPEM, keyPEM, err := selfSignedPEM(hosts...)
	if err != nil {
		return "", "", false, err
	}
	if err := os.WriteFile(keyPath, keyPEM, 0o600); err != nil {
		return "", "", false, fmt.Errorf("self-signed certificate: %w", err)
	}
	if err := os.WriteFile(certPath, certPEM, 0o644); err != nil {
		return "", "", false, fmt.Errorf("self-signed certificate: %w", err)
	}
	return certPath, keyPath, true, nil
}

// selfSignedPEM returns a new self-signed ECDSA P-256 certificate, good
// for ten years, and its key, both PEM-encoded.
func selfSignedPEM(hosts ...string) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, fmt.Errorf("self-signed certificate: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	if err != nil {
		return nil, nil, fmt.Errorf("self-signed certificate: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: "Switchboard self-signed", Organization: []string{"Switchboard"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.AddDate(10, 0, 0),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		IsCA:         true, BasicConstraintsValid: true,
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	if h, err := os.Hostname(); err == nil && h != "" && h != "localhost" {
		tmpl.DNSNames = append(tmpl.DNSNames, h)
	}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			if !ip.IsUnspecified() && !ip.Equal(net.IPv4(127, 0, 0, 1)) && !ip.Equal(net.IPv6loopback) {
				tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
			}
		} else if h != "" {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, fmt.Errorf("self-signed certificate: %w", err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return nil, nil, fmt.Errorf("self-signed certificate: %w", err)
	}
	var cb, kb bytes.Buffer
	pem.Encode(&cb, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	pem.Encode(&kb, &pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
	return cb.Bytes(), kb.Bytes(), nil
}
