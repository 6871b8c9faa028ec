package sip

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/icholy/digest"

	"github.com/switchboard-pbx/switchboard/directory"
)

func ha1(alg algorithm, user, realm, pw string) string {
	if alg == algSHA256 {
		s := sha256.Sum256([]byte(user + ":" + realm + ":" + pw))
		return hex.EncodeToString(s[:])
	}
	s := md5.Sum([]byte(user + ":" + realm + ":" + pw))
	return hex.EncodeToString(s[:])
}

// RFC 7616 §3.9.1 gives the same request answered with MD5 and SHA-256.
func TestDigestRFC7616Vectors(t *testing.T) {
	for _, tc := range []struct {
		alg  algorithm
		want string
	}{
		{algMD5, "8ca523f5e9506fed4657c9700eebdbec"},
		{algSHA256, "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"},
	} {
		c := authCredentials{Username: "Mufasa", Realm: "http-auth@example.org",
			Nonce: "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", URI: "/dir/index.html",
			Cnonce: "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", QOP: "auth", NC: "00000001",
			Algorithm: tc.alg.String(), Response: tc.want}
		h := ha1(tc.alg, "Mufasa", "http-auth@example.org", "Circle of Life")
		if !c.verify(tc.alg, h, "GET") {
			t.Errorf("%v: RFC 7616 response not verified", tc.alg)
		}
		c.Response = strings.ToUpper(tc.want)
		if !c.verify(tc.alg, h, "GET") {
			t.Errorf("%v: upper-case hex refused", tc.alg)
		}
		if c.verify(tc.alg, h, "POST") {
			t.Errorf("%v: verified for another method", tc.alg)
		}
	}
}

// What a real client library (the one sipgo phones use) sends verifies
// against the HA1 the directory stores, for both algorithms.
func TestDigestAgainstClientLibrary(t *testing.T) {
	secret := directory.NewSIPSecret("10001", "pbx.example.com", "s3cret-Pass")
	for _, alg := range []algorithm{algMD5, algSHA256} {
		chal, err := digest.ParseChallenge(challenge("pbx.example.com", "abc", alg, false))
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			pw   string
			want bool
		}{{"s3cret-Pass", true}, {"s3cret-pass", false}} {
			cred, err := digest.Digest(chal, digest.Options{Method: "REGISTER", URI: "sip:pbx.example.com",
				Username: "10001", Password: tc.pw, Count: 7})
			if err != nil {
				t.Fatal(err)
			}
			c, err := parseAuthorization(cred.String())
			if err != nil {
				t.Fatalf("%v: parse %q: %v", alg, cred.String(), err)
			}
			a, nc, err := c.check()
			if err != nil || a != alg || nc != 7 {
				t.Fatalf("%v: check: alg %v nc %d err %v", alg, a, nc, err)
			}
			h := secret.HA1MD5
			if alg == algSHA256 {
				h = secret.HA1SHA256
			}
			if got := c.verify(alg, h, "REGISTER"); got != tc.want {
				t.Errorf("%v password %q: verified %v, want %v", alg, tc.pw, got, tc.want)
			}
		}
	}
}

func TestParseAuthorization(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     authCredentials
		ok       bool
	}{
		{"plain", `Digest username="10001", realm="r", nonce="n", uri="sip:r", response="x", algorithm=MD5, cnonce="c", qop=auth, nc=00000001`,
			authCredentials{Username: "10001", Realm: "r", Nonce: "n", URI: "sip:r", Response: "x", Algorithm: "MD5", Cnonce: "c", QOP: "auth", NC: "00000001"}, true},
		{"keys in any case, tabs, unquoted uri", "digest\tUserName=\"10001\",URI=sip:r;transport=tcp ,  QOP=auth",
			authCredentials{Username: "10001", URI: "sip:r;transport=tcp", QOP: "auth"}, true},
		{"escapes", `Digest username="a\"b\\c"`, authCredentials{Username: `a"b\c`}, true},
		{"unknown keys ignored", `Digest opaque="zz", userhash=false, username="1"`, authCredentials{Username: "1"}, true},
		{"not digest", `Basic dXNlcjpwYXNz`, authCredentials{}, false},
		{"no space after scheme", `Digestusername="1"`, authCredentials{}, false},
		{"unterminated quote", `Digest username="1`, authCredentials{}, false},
		{"no value", `Digest username`, authCredentials{}, false},
		{"garbage after value", `Digest username="1"x, realm="r"`, authCredentials{}, false},
		{"duplicate key", `Digest username="1", username="2"`, authCredentials{}, false},
		{"huge value", `Digest username="` + strings.Repeat("1", 600) + `"`, authCredentials{}, false},
		{"newline in quote", "Digest username=\"1\r\n\"", authCredentials{}, false},
	} {
		got, err := parseAuthorization(tc.in)
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
	good := authCredentials{Username: "10001", Nonce: "n", URI: "sip:r", Cnonce: "c", QOP: "auth",
		NC: "0000000a", Response: strings.Repeat("a", 32)}
	if alg, nc, err := good.check(); err != nil || alg != algMD5 || nc != 10 {
		t.Fatalf("good: %v %d %v", alg, nc, err)
	}
	for name, mod := range map[string]func(c *authCredentials){
		"qop missing (RFC 2069)":  func(c *authCredentials) { c.QOP = "" },
		"qop auth-int":            func(c *authCredentials) { c.QOP = "auth-int" },
		"MD5-sess":                func(c *authCredentials) { c.Algorithm = "MD5-sess" },
		"nc zero":                 func(c *authCredentials) { c.NC = "00000000" },
		"nc not hex":              func(c *authCredentials) { c.NC = "0000000g" },
		"nc short":                func(c *authCredentials) { c.NC = "1" },
		"response of wrong size":  func(c *authCredentials) { c.Response = "abc" },
		"sha-256 with md5 length": func(c *authCredentials) { c.Algorithm = "SHA-256" },
		"no cnonce":               func(c *authCredentials) { c.Cnonce = "" },
		"no username":             func(c *authCredentials) { c.Username = "" },
	} {
		c := good
		mod(&c)
		if _, _, err := c.check(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestChallengeParsesBack(t *testing.T) {
	c, err := digest.ParseChallenge(challenge("pbx.example.com", "NONCE", algSHA256, true))
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
		c, err := parseAuthorization(s)
		if err != nil {
			return
		}
		if alg, _, err := c.check(); err == nil {
			c.verify(alg, dummyHA1(alg), "REGISTER")
		}
	})
}
