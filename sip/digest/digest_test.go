package digest

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	icholy "github.com/icholy/digest"

	"github.com/switchboard-pbx/switchboard/directory"
)

func ha1(alg Algorithm, user, realm, pw string) string {
	if alg == SHA256 {
		s := sha256.Sum256([]byte(user + ":" + realm + ":" + pw))
		return hex.EncodeToString(s[:])
	}
	s := md5.Sum([]byte(user + ":" + realm + ":" + pw))
	return hex.EncodeToString(s[:])
}

// RFC 7616 §3.9.1 gives the same request answered with MD5 and SHA-256.
func TestDigestRFC7616Vectors(t *testing.T) {
	for _, tc := range []struct {
		alg  Algorithm
		want string
	}{
		{MD5, "8ca523f5e9506fed4657c9700eebdbec"},
		{SHA256, "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"},
	} {
		c := Credentials{Username: "Mufasa", Realm: "http-auth@example.org",
			Nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", URI: "/dir/index.html",
			Cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", QOP: "auth", NC: "00000001",
			Algorithm: tc.alg.String(), Response: tc.want}
		h := ha1(tc.alg, "Mufasa", "http-auth@example.org", "Circle of Life")
		if !c.Verify(tc.alg, h, "GET") {
			t.Errorf("%v: RFC 7616 response not verified", tc.alg)
		}
		c.Response = strings.ToUpper(tc.want)
		if !c.Verify(tc.alg, h, "GET") {
			t.Errorf("%v: upper-case hex refused", tc.alg)
		}
		if c.Verify(tc.alg, h, "POST") {
			t.Errorf("%v: verified for another method", tc.alg)
		}
	}
}

// What a real client library (the one sipgo phones use) sends verifies
// against the HA1 the directory stores, for both algorithms.
func TestDigestAgainstClientLibrary(t *testing.T) {
	secret := directory.NewSIPSecret("10001", "pbx.example.com", "s3cret-Pass")
	for _, alg := range []Algorithm{MD5, SHA256} {
		chal, err := icholy.ParseChallenge(Challenge("pbx.example.com", "abc", alg, false))
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			pw   string
			want bool
		}{{"s3cret-Pass", true}, {"s3cret-pass", false}} {
			cred, err := icholy.Digest(chal, icholy.Options{Method: "REGISTER", URI: "sip:pbx.example.com",
				Username: "10001", Password: tc.pw, Count: 7})
			if err != nil {
				t.Fatal(err)
			}
			c, err := ParseAuthorization(cred.String())
			if err != nil {
				t.Fatalf("%v: parse %q: %v", alg, cred.String(), err)
			}
			a, nc, err := c.Check()
			if err != nil || a != alg || nc != 7 {
				t.Fatalf("%v: check: alg %v nc %d err %v", alg, a, nc, err)
			}
			h := secret.HA1MD5
			if alg == SHA256 {
				h = secret.HA1SHA256
			}
			if got := c.Verify(alg, h, "REGISTER"); got != tc.want {
				t.Errorf("%v password %q: verified %v, want %v", alg, tc.pw, got, tc.want)
			}
		}
	}
}

func TestParseAuthorization(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     Credentials
		ok       bool
	}{
		{"plain", `Digest username="10001", realm="r", nonce="n", uri="sip:r", response="x", algorithm=MD5, cnonce="c", qop=auth, nc=00000001`,
			Credentials{Username: "10001", Realm: "r", Nonce: "n", URI: "sip:r", Response: "x", Algorithm: "MD5", Cnonce: "c", QOP: "auth", NC: "00000001"}, true},
		{"keys in any case, tabs, unquoted uri", "digest\tUserName=\"10001\",URI=sip:r;transport=tcp ,  QOP=auth",
			Credentials{Username: "10001", URI: "sip:r;transport=tcp", QOP: "auth"}, true},
		{"escapes", `Digest username="a\"b\\c"`, Credentials{Username: `a"b\c`}, true},
		{"unknown keys ignored", `Digest opaque="zz", userhash=false, username="1"`, Credentials{Username: "1"}, true},
		{"not digest", `Basic dXNlcjpwYXNz`, Credentials{}, false},
		{"no space after scheme", `Digestusername="1"`, Credentials{}, false},
		{"unterminated quote", `Digest username="1`, Credentials{}, false},
		{"no value", `Digest username`, Credentials{}, false},
		{"garbage after value", `Digest username="1"x, realm="r"`, Credentials{}, false},
		{"duplicate key", `Digest username="1", username="2"`, Credentials{}, false},
		{"huge value", `Digest username="` + strings.Repeat("1", 600) + `"`, Credentials{}, false},
		{"newline in quote", "Digest username=\"1\r\n\"", Credentials{}, false},
	} {
		got, err := ParseAuthorization(tc.in)
		if (err == nil) != tc.ok {
			t.Errorf("%s: err %v, want ok=%v", tc.name, err, tc.ok)
			continue
		}
		if tc.ok && got != tc.want {
			t.Errorf("%s: got %+v, want %+v", tc.name, got, tc.want)
		}
	}
}

func TestCredentialsCheck(t *testing.T) {
	good := Credentials{Username: "10001", Nonce: "n", URI: "sip:r", Cnonce: "c", QOP: "auth",
		NC: "0000000a", Response: strings.Repeat("a", 32)}
	if alg, nc, err := good.Check(); err != nil || alg != MD5 || nc != 10 {
		t.Fatalf("good: %v %d %v", alg, nc, err)
	}
	for name, mod := range map[string]func(c *Credentials){
		"qop missing (RFC 2069)":  func(c *Credentials) { c.QOP = "" },
		"qop auth-int":            func(c *Credentials) { c.QOP = "auth-int" },
		"MD5-sess":                func(c *Credentials) { c.Algorithm = "MD5-sess" },
		"nc zero":                 func(c *Credentials) { c.NC = "00000000" },
		"nc not hex":              func(c *Credentials) { c.NC = "0000000g" },
		"nc short":                func(c *Credentials) { c.NC = "1" },
		"response of wrong size":  func(c *Credentials) { c.Response = "abc" },
		"sha-256 with md5 length": func(c *Credentials) { c.Algorithm = "SHA-256" },
		"no cnonce":               func(c *Credentials) { c.Cnonce = "" },
		"no username":             func(c *Credentials) { c.Username = "" },
	} {
		c := good
		mod(&c)
		if _, _, err := c.Check(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestChallengeParsesBack(t *testing.T) {
	c, err := icholy.ParseChallenge(Challenge("pbx.example.com", "NONCE", SHA256, true))
	if err != nil {
		t.Fatal(err)
	}
	if c.Realm != "pbx.example.com" || c.Nonce != "NONCE" || c.Algorithm != "SHA-256" || !c.Stale || !c.SupportsQOP("auth") {
		t.Errorf("challenge parsed back as %+v", c)
	}
}

func FuzzParseAuthorization(f *testing.F) {
	f.Add(`Digest username="10001", realm="r", nonce="n", uri="sip:r", response="x", algorithm=MD5, cnonce="c", qop=auth, nc=00000001`)
	f.Add(`Digest username="a\"b\\c", uri=sip:x;y=z`)
	f.Add(`Digest `)
	f.Add("Digest a=\"\\")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseAuthorization(s)
		if err != nil {
			return
		}
		if alg, _, err := c.Check(); err == nil {
			c.Verify(alg, DummyHA1(alg), "REGISTER")
		}
	})
}

// FuzzSkip holds skipBlanks and skipSeparators to the strings.TrimLeft
// they stand for.
func FuzzSkip(f *testing.F) {
	f.Add(" \t, \r\nx")
	f.Add("")
	f.Add(",,\t")
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := skipBlanks(s), strings.TrimLeft(s, " \t"); got != want {
			t.Errorf("skipBlanks(%q) = %q, want %q", s, got, want)
		}
		if got, want := skipSeparators(s), strings.TrimLeft(s, " \t\r\n,"); got != want {
			t.Errorf("skipSeparators(%q) = %q, want %q", s, got, want)
		}
	})
}

// BenchmarkParseAuthorization parses a REGISTER's credentials as a phone
// sends them.
func BenchmarkParseAuthorization(b *testing.B) {
	const h = `Digest username="100123", realm="127.0.0.1", nonce="Y2FmZWJhYmUxMjM0NTY3ODkwYWJjZGVm", uri="sip:127.0.0.1:5060", response="0123456789abcdef0123456789abcdef", algorithm=MD5, cnonce="0a4f113b", qop=auth, nc=00000001`
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseAuthorization(h); err != nil {
			b.Fatal(err)
		}
	}
}
