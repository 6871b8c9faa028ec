// Package digest is SIP digest authentication (RFC 3261 §22, RFC 7616,
// RFC 8760) on the server's side: the challenge we send, the check of
// what comes back, and the stateless nonces challenges carry. The check
// needs only the HA1 the directory stores, never the password. It knows
// nothing of SIP messages, users or the directory.
package digest

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"slices"
	"strconv"
	"strings"
)

// Algorithm is a digest hash we accept.
type Algorithm uint8

const (
	MD5 Algorithm = iota
	SHA256
)

// DefaultAlgorithms are offered in this order, one WWW-Authenticate each
// (RFC 8760 §2.4: most preferred first), unless configured otherwise.
var DefaultAlgorithms = []Algorithm{SHA256, MD5}

// ParseAlgorithms reads the configured names (sip.Config.DigestAlgorithms);
// none means the default.
func ParseAlgorithms(names []string) ([]Algorithm, error) {
	if len(names) == 0 {
		return DefaultAlgorithms, nil
	}
	var out []Algorithm
	for _, n := range names {
		var a Algorithm
		switch {
		case strings.EqualFold(n, "SHA-256"):
			a = SHA256
		case strings.EqualFold(n, "MD5"):
			a = MD5
		default:
			return nil, errors.New("must be SHA-256 and MD5, in the order offered")
		}
		if slices.Contains(out, a) {
			return nil, errors.New("must not name an algorithm twice")
		}
		out = append(out, a)
	}
	return out, nil
}

func (a Algorithm) String() string {
	if a == SHA256 {
		return "SHA-256"
	}
	return "MD5"
}

func (a Algorithm) hexLen() int {
	if a == SHA256 {
		return 2 * sha256.Size
	}
	return 2 * md5.Size
}

func parseAlgorithm(s string) (Algorithm, bool) {
	switch {
	case s == "" || strings.EqualFold(s, "MD5"):
		return MD5, true
	case strings.EqualFold(s, "SHA-256"):
		return SHA256, true
	}
	return 0, false
}

// Challenge is the value of one WWW-Authenticate (or Proxy-Authenticate)
// header. realm is a validated host name, so it needs no escaping.
func Challenge(realm, nonce string, alg Algorithm, stale bool) string {
	var b strings.Builder
	b.Grow(96 + len(realm) + len(nonce))
	b.WriteString(`Digest realm="`)
	b.WriteString(realm)
	b.WriteString(`", nonce="`)
	b.WriteString(nonce)
	b.WriteString(`", algorithm=`)
	b.WriteString(alg.String())
	b.WriteString(`, qop="auth"`)
	if stale {
		b.WriteString(", stale=true")
	}
	return b.String()
}

// Credentials is a parsed Authorization header value. Fields hold the
// values as sent (quotes and escapes removed).
type Credentials struct {
	Username  string
	Realm     string
	Nonce     string
	URI       string
	Response  string
	Algorithm string
	Cnonce    string
	QOP       string
	NC        string // 8 hex digits as sent
}

var ErrBadCredentials = errors.New("malformed digest credentials")

// maxCredentialValue bounds each value; real ones are far shorter.
const maxCredentialValue = 512

// ParseAuthorization parses `Digest k=v, k="v", ...`. Unknown keys are
// ignored; known ones may appear once.
func ParseAuthorization(s string) (Credentials, error) {
	var c Credentials
	s = skipBlanks(s)
	if len(s) < 7 || !strings.EqualFold(s[:6], "Digest") || (s[6] != ' ' && s[6] != '\t') {
		return c, ErrBadCredentials
	}
	s = s[7:]
	var seen uint16
	for {
		s = skipSeparators(s)
		if s == "" {
			break
		}
		i := 0
		for i < len(s) && isKeyChar(s[i]) {
			i++
		}
		if i == 0 {
			return c, ErrBadCredentials
		}
		key := s[:i]
		s = skipBlanks(s[i:])
		if s == "" || s[0] != '=' {
			return c, ErrBadCredentials
		}
		s = skipBlanks(s[1:])
		var val string
		if s != "" && s[0] == '"' {
			v, rest, ok := unquote(s)
			if !ok {
				return c, ErrBadCredentials
			}
			val, s = v, rest
		} else {
			j := 0
			for j < len(s) && isValueChar(s[j]) {
				j++
			}
			val, s = s[:j], s[j:]
		}
		if len(val) > maxCredentialValue {
			return c, ErrBadCredentials
		}
		// After a value only whitespace and a comma may follow.
		s = skipBlanks(s)
		if s != "" && s[0] != ',' {
			return c, ErrBadCredentials
		}
		var dst *string
		var bit uint16
		switch strings.ToLower(key) {
		case "username":
			dst, bit = &c.Username, 1<<0
		case "realm":
			dst, bit = &c.Realm, 1<<1
		case "nonce":
			dst, bit = &c.Nonce, 1<<2
		case "uri":
			dst, bit = &c.URI, 1<<3
		case "response":
			dst, bit = &c.Response, 1<<4
		case "algorithm":
			dst, bit = &c.Algorithm, 1<<5
		case "cnonce":
			dst, bit = &c.Cnonce, 1<<6
		case "qop":
			dst, bit = &c.QOP, 1<<7
		case "nc":
			dst, bit = &c.NC, 1<<8
		default:
			continue
		}
		if seen&bit != 0 {
			return c, ErrBadCredentials
		}
		seen |= bit
		*dst = val
	}
	return c, nil
}

// skipBlanks drops the spaces and tabs s begins with. It and
// skipSeparators are strings.TrimLeft for their sets without the set's
// table TrimLeft builds at each call: a REGISTER's credentials are trimmed
// some forty times (perf at 2,000 REGISTERs a second: TrimLeft 1.1% of
// the server's samples).
func skipBlanks(s string) string {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	return s[i:]
}

// skipSeparators drops the whitespace, line ends and commas s begins with.
func skipSeparators(s string) string {
	i := 0
	for i < len(s) {
		switch s[i] {
		case ' ', '\t', '\r', '\n', ',':
			i++
			continue
		}
		break
	}
	return s[i:]
}

func isKeyChar(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '-' || b == '_'
}

// isValueChar accepts RFC 3261 token characters plus what sloppy phones
// leave unquoted in a uri.
func isValueChar(b byte) bool {
	return isKeyChar(b) || strings.IndexByte(".!%*+`'~/:@?&;[]$=", b) >= 0
}

// unquote reads a quoted-string at the start of s and returns its value and
// the rest. A value without escapes is a substring of s.
func unquote(s string) (val, rest string, ok bool) {
	esc := false
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			esc = true
			i++
		case '"':
			if !esc {
				return s[1:i], s[i+1:], true
			}
			var b strings.Builder
			for j := 1; j < i; j++ {
				if s[j] == '\\' && j+1 < i {
					j++
				}
				b.WriteByte(s[j])
			}
			return b.String(), s[i+1:], true
		case '\r', '\n':
			return "", "", false
		}
	}
	return "", "", false
}

// Check validates what a qop=auth answer must carry and returns the
// algorithm and nc.
func (c *Credentials) Check() (Algorithm, uint32, error) {
	alg, ok := parseAlgorithm(c.Algorithm)
	if !ok || c.Username == "" || c.Nonce == "" || c.URI == "" || c.Cnonce == "" ||
		c.QOP != "auth" || len(c.Response) != alg.hexLen() || len(c.NC) != 8 {
		return 0, 0, ErrBadCredentials
	}
	nc, err := strconv.ParseUint(c.NC, 16, 32)
	if err != nil || nc == 0 {
		return 0, 0, ErrBadCredentials
	}
	return alg, uint32(nc), nil
}

// Verify reports whether c.Response is the digest of method with ha1 (hex,
// as the directory stores it). It compares in constant time.
func (c *Credentials) Verify(alg Algorithm, ha1, method string) bool {
	if len(ha1) != alg.hexLen() {
		return false
	}
	var want [2 * sha256.Size]byte
	n := Response(want[:0], alg, ha1, c.Nonce, c.NC, c.Cnonce, c.QOP, method, c.URI)
	var got [2 * sha256.Size]byte
	if len(c.Response) > len(got) {
		return false
	}
	for i := 0; i < len(c.Response); i++ {
		b := c.Response[i]
		if 'A' <= b && b <= 'F' {
			b += 'a' - 'A'
		}
		got[i] = b
	}
	return subtle.ConstantTimeCompare(want[:n], got[:len(c.Response)]) == 1
}

// Response appends KD(HA1, nonce:nc:cnonce:qop:H(method:uri)) in
// lower-case hex to dst and returns its length.
func Response(dst []byte, alg Algorithm, ha1, nonce, nc, cnonce, qop, method, uri string) int {
	// Each value is at most maxCredentialValue long: the input fits here
	// (append would grow it on the heap otherwise).
	var in [2048]byte
	var sum [sha256.Size]byte
	b := append(append(append(in[:0], method...), ':'), uri...)
	n := alg.sum(&sum, b)
	var ha2hex [2 * sha256.Size]byte
	hex.Encode(ha2hex[:], sum[:n])

	b = in[:0]
	for i, part := range [...]string{ha1, nonce, nc, cnonce, qop} {
		if i > 0 {
			b = append(b, ':')
		}
		b = append(b, part...)
	}
	b = append(append(b, ':'), ha2hex[:2*n]...)
	n = alg.sum(&sum, b)
	out := dst[:len(dst)+2*n]
	hex.Encode(out[len(dst):], sum[:n])
	return len(out)
}

// sum puts the hash of b into out and returns its length.
func (a Algorithm) sum(out *[sha256.Size]byte, b []byte) int {
	if a == SHA256 {
		*out = sha256.Sum256(b)
		return sha256.Size
	}
	m := md5.Sum(b)
	copy(out[:], m[:])
	return md5.Size
}

// DummyHA1 is an HA1 of alg's length that no password has: verifying
// against it costs what a real check costs, for extensions that do not
// exist.
func DummyHA1(alg Algorithm) string {
	if alg == SHA256 {
		return "0000000000000000000000000000000000000000000000000000000000000000"
	}
	return "00000000000000000000000000000000"
}
