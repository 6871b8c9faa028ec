package creds

import (
	"net/netip"
	"strconv"
	"testing"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/sip/digest"
)

func testUsers(n int, realm string) []directory.User {
	users := make([]directory.User, n)
	for i := range users {
		ext := strconv.Itoa(10000 + i)
		users[i] = directory.User{ID: int64(i + 1), Extension: ext, State: directory.UserActive,
			SIP: directory.NewSIPSecret(ext, realm, directory.Password("pw-"+ext))}
	}
	return users
}

func TestCredentials(t *testing.T) {
	cs := New()
	users := testUsers(3, "r")
	users[1].State = directory.UserBlocked
	users[2].SIPAllowedNets = []string{"192.168.1.0/24", "not a net"}
	if removed := cs.Replace(users, 0); len(removed) != 0 {
		t.Fatalf("removed %v on first load", removed)
	}
	if c, ok := cs.Lookup("10001"); !ok || c.State != directory.UserBlocked {
		t.Error("a blocked user keeps SIP")
	}
	c, _ := cs.Lookup("10002")
	if !c.Allows(netip.MustParseAddr("192.168.1.9")) || c.Allows(netip.MustParseAddr("192.168.2.9")) {
		t.Error("allowed networks not applied")
	}
	c0, _ := cs.Lookup("10000")
	if !c0.Allows(netip.MustParseAddr("203.0.113.1")) {
		t.Error("no networks set should allow any")
	}

	// Deleted: gone from the cache, remembered as deleted, and a lookup
	// racing with the deletion cannot bring it back.
	dead := users[0]
	dead.State = directory.UserDeleted
	if ext := cs.Update(&dead); ext != "10000" {
		t.Errorf("Update of a deleted user returned %q", ext)
	}
	if _, ok := cs.Lookup("10000"); ok {
		t.Error("deleted user still cached")
	}
	if _, ok := cs.Deleted("10000"); !ok {
		t.Error("deleted user not remembered")
	}
	if c := cs.Add(&users[0]); c != nil {
		t.Error("a stale lookup re-added a deleted user")
	}

	// The extension reused by a new user.
	n := directory.User{ID: 99, Extension: "10000", State: directory.UserActive}
	cs.Update(&n)
	if c, ok := cs.Lookup("10000"); !ok || c.UserID != 99 {
		t.Error("reused extension not cached")
	}
	if _, ok := cs.Deleted("10000"); ok {
		t.Error("reused extension still listed as deleted")
	}

	// A full reload without user 3 reports its extension.
	if removed := cs.Replace([]directory.User{users[1], n}, 0); len(removed) != 1 || removed[0] != "10002" {
		t.Errorf("removed %v, want [10002]", removed)
	}
}

// TestAllowedNets: a stored network is a CIDR or a bare address; an entry
// of blanks or one that does not parse restricts the extension all the
// same, and allows nothing.
func TestAllowedNets(t *testing.T) {
	for _, tc := range []struct {
		nets    []string
		ip      string
		allowed bool
	}{
		{nil, "203.0.113.1", true},
		{[]string{""}, "203.0.113.1", true}, // an empty entry is none
		{[]string{"10.0.0.1"}, "10.0.0.1", true},
		{[]string{"10.0.0.1"}, "10.0.0.2", false},
		{[]string{" 10.0.0.7/24 "}, "10.0.0.200", true},
		{[]string{"10.0.0.0/24"}, "::ffff:10.0.0.9", true},
		{[]string{"2001:db8::/32"}, "2001:db8::1", true},
		{[]string{"2001:db8::/32"}, "10.0.0.1", false},
		{[]string{" "}, "10.0.0.1", false},
		{[]string{"office"}, "10.0.0.1", false},
		{[]string{"office", "10.0.0.0/8"}, "10.0.0.1", true},
	} {
		u := directory.User{ID: 1, Extension: "10000", State: directory.UserActive, SIPAllowedNets: tc.nets}
		if got := newCredential(&u).Allows(netip.MustParseAddr(tc.ip)); got != tc.allowed {
			t.Errorf("nets %q, %s: allowed %v, want %v", tc.nets, tc.ip, got, tc.allowed)
		}
	}
}

// BenchmarkCredentialLookup measures the registrar's in-memory credential
// cache (target: over 1,000,000 lookups/s on one core, no
// allocation).
func BenchmarkCredentialLookup(b *testing.B) {
	cs := New()
	users := testUsers(10000, "pbx.example.com")
	cs.Replace(users, 0)
	exts := make([]string, len(users))
	for i := range users {
		exts[i] = users[i].Extension
	}
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		if _, ok := cs.Lookup(exts[n%len(exts)]); !ok {
			b.Fatal("miss")
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "lookups/s")
}

// BenchmarkDigestVerify measures one digest check (parse the header,
// verify against the cached HA1), for scale.
func BenchmarkDigestVerify(b *testing.B) {
	secret := directory.NewSIPSecret("10001", "pbx.example.com", "s3cret-Pass")
	for _, alg := range []digest.Algorithm{digest.MD5, digest.SHA256} {
		b.Run(alg.String(), func(b *testing.B) {
			h := secret.HA1MD5
			if alg == digest.SHA256 {
				h = secret.HA1SHA256
			}
			c := digest.Credentials{Username: "10001", Realm: "pbx.example.com", Nonce: "n", URI: "sip:pbx.example.com",
				Cnonce: "c", QOP: "auth", NC: "00000001"}
			var buf [64]byte
			c.Response = string(buf[:digest.Response(buf[:0], alg, h, c.Nonce, c.NC, c.Cnonce, c.QOP, "REGISTER", c.URI)])
			hdr := `Digest username="10001", realm="pbx.example.com", nonce="n", uri="sip:pbx.example.com", response="` +
				c.Response + `", algorithm=` + alg.String() + `, cnonce="c", qop=auth, nc=00000001`
			b.ReportAllocs()
			for b.Loop() {
				p, err := digest.ParseAuthorization(hdr)
				if err != nil {
					b.Fatal(err)
				}
				a, _, err := p.Check()
				if err != nil || !p.Verify(a, h, "REGISTER") {
					b.Fatal("not verified")
				}
			}
		})
	}
}
