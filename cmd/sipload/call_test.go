package main

import (
	"bytes"
	"net/netip"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/sip"
)

// withRelay anchors media on loopback in a port range of this package's
// own, away from the sip package's tests.
func withRelay(c *sip.Config) {
	c.Calls = sip.CallConfig{RTPLow: 47000, RTPHigh: 47999, MediaIP: netip.MustParseAddr("127.0.0.1")}
}

func TestCallLoad(t *testing.T) {
	addr := startPBX(t, 4, "Load-Test-pw!", withRelay)
	var out, errb bytes.Buffer
	code := run(t.Context(), []string{"call", "--target", addr, "--n", "4", "--ext-start", "300000",
		"--domain", "switchboard.local", "--rate", "20", "--duration", "300ms", "--concurrency", "4",
		"--hold", "300ms", "--rtp-sockets", "2"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errb.String())
	}
	m := regexp.MustCompile(`calls: (\d+) ok, (\d+) failed`).FindStringSubmatch(out.String())
	if m == nil || m[1] == "0" || m[2] != "0" {
		t.Fatalf("report:\n%s%s", out.String(), errb.String())
	}
	calls, _ := strconv.Atoi(m[1])
	r := regexp.MustCompile(`rtp: (\d+) sent, (\d+) received, (\d+) lost \S+ over (\d+) answered calls`).FindStringSubmatch(out.String())
	if r == nil {
		t.Fatalf("no rtp line:\n%s", out.String())
	}
	sent, _ := strconv.Atoi(r[1])
	recv, _ := strconv.Atoi(r[2])
	answered, _ := strconv.Atoi(r[4])
	// 300 ms of 20 ms packets is 15 a side: every packet was sent, and
	// the relay carried them both ways.
	if answered != calls || sent != 2*15*calls {
		t.Errorf("%d calls answered, %d packets sent; want %d, %d:\n%s", answered, sent, calls, 2*15*calls, out.String())
	}
	if recv == 0 || recv < sent*9/10 {
		t.Errorf("%d of %d packets arrived:\n%s", recv, sent, out.String())
	}
	if !strings.Contains(out.String(), "latency p50") {
		t.Errorf("no latency line:\n%s", out.String())
	}
}

func TestCallLoadCountsFailures(t *testing.T) {
	// The PBX allows one call per extension at a time: with two pairs and
	// four calls at once, half the calls get 486.
	addr := startPBX(t, 4, "Load-Test-pw!", withRelay, func(c *sip.Config) { c.Calls.MaxCallsPerExt = 1 })
	var out, errb bytes.Buffer
	code := run(t.Context(), []string{"call", "--target", addr, "--n", "4", "--ext-start", "300000",
		"--domain", "switchboard.local", "--rate", "200", "--duration", "20ms", "--concurrency", "4",
		"--hold", "200ms"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errb.String())
	}
	if !regexp.MustCompile(`calls: [1-9]\d* ok, [1-9]\d* failed`).MatchString(out.String()) ||
		!regexp.MustCompile(`failures [45]\d\d `).MatchString(out.String()) {
		t.Errorf("busy extensions not reported as failures by status:\n%s", out.String())
	}
}

func TestCallLoadRefusesBadFlags(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(t.Context(), []string{"call", "--target", "192.0.2.1:5060"}, &out, &errb); code != 2 ||
		!strings.Contains(errb.String(), "only loopback") {
		t.Errorf("remote target: exit %d, %q", code, errb.String())
	}
	errb.Reset()
	if code := run(t.Context(), []string{"call", "--hold", "-1s", "--rtp-sockets", "0"}, &out, &errb); code != 2 ||
		!strings.Contains(errb.String(), "--hold") || !strings.Contains(errb.String(), "--rtp-sockets") {
		t.Errorf("bad flags: exit %d, %q", code, errb.String())
	}
}

func TestParseMedia(t *testing.T) {
	for _, tc := range []struct {
		sdp, want, name string
	}{
		{"v=0\r\ns=x1\r\nc=IN IP4 127.0.0.1\r\nm=audio 4000 RTP/AVP 0\r\n", "127.0.0.1:4000", "x1"},
		{"s=x2\nc=IN IP4 10.0.0.1\nm=audio 4000 RTP/AVP 0\nc=IN IP4 127.0.0.2\nm=video 5000 RTP/AVP 96\nc=IN IP4 10.9.9.9\n",
			"127.0.0.2:4000", "x2"},
		{"s=x3\r\nc=IN IP4 \r\nm=audio 4000 RTP/AVP 0\r\n", "", "x3"},
		{"c=IN IP4 127.0.0.1\r\nm=audio\r\nm=audio 99999 RTP/AVP 0\r\n", "", ""},
		{"", "", ""},
	} {
		got, name, err := parseMedia([]byte(tc.sdp))
		if (tc.want == "") != (err != nil) || (err == nil && got.String() != tc.want) || name != tc.name {
			t.Errorf("parseMedia(%q) = %s, %q, %v; want %q, %q", tc.sdp, got, name, err, tc.want, tc.name)
		}
	}
}
