package wire

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/emiago/sipgo/sip"
)

func TestHeaderValue(t *testing.T) {
	raw := []byte("OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nuser-agent :  friendly-scanner \r\n\r\nUser-Agent: body")
	if got := string(HeaderValue(raw, "user-agent")); got != "friendly-scanner" {
		t.Errorf("got %q", got)
	}
	if got := HeaderValue([]byte("OPTIONS sip:x SIP/2.0\r\n\r\nUser-Agent: x"), "user-agent"); got != nil {
		t.Errorf("header found in the body: %q", got)
	}
	if got := HeaderValue([]byte("User-Agentx: y\nUser-Agent: z"), "user-agent"); string(got) != "z" {
		t.Errorf("got %q", got)
	}
}

// TestHeaderAsSipgo: Header and Headers find what sipgo's GetHeader and
// GetHeaders find, whatever the case of the name in the message.
func TestHeaderAsSipgo(t *testing.T) {
	msg, err := sip.NewParser().ParseSIP([]byte(replyRequests[0][:len(replyRequests[0])-len("Content-Length: 0\r\n\r\n")] +
		"REQUIRE: path\r\nrequire: gruu\r\nX-Custom: 1\r\nContent-Length: 0\r\n\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	req := msg.(*sip.Request)
	for _, name := range []string{"require", "x-custom", "contact", "via", "user-agent"} {
		var got, want []string
		for h := range Headers(req, name) {
			got = append(got, h.String())
		}
		for _, h := range req.GetHeaders(name) {
			want = append(want, h.String())
		}
		if name == "require" && len(got) != 2 {
			t.Errorf("Headers(require) %q, want both Require headers", got)
		}
		if !slices.Equal(got, want) {
			t.Errorf("Headers(%q) %q, GetHeaders %q", name, got, want)
		}
		if h, w := Header(req, name), req.GetHeader(name); h != w {
			t.Errorf("Header(%q) %v, GetHeader %v", name, h, w)
		}
	}
}

// TestFramed: Framed agrees with Split's ok on the torture messages of
// RFC 4475 and on messages cut or bent at every line.
func TestFramed(t *testing.T) {
	files, err := filepath.Glob("../testdata/torture/*.dat")
	if err != nil || len(files) == 0 {
		t.Fatalf("torture messages: %v (%d)", err, len(files))
	}
	var msgs [][]byte
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, data)
	}
	res := []byte("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n  ;received=1.2.3.4\r\nTo: <sip:a@h>;tag=1\r\n" +
		"Call-ID: x\r\nCSeq: 1 BYE\r\nContent-Length: 0\r\n\r\n")
	msgs = append(msgs, res, []byte(""), []byte("SIP/2.0 200 OK"), []byte("SIP/2.0 200 OK\r\n"),
		[]byte("SIP/2.0 200 OK\r\n continued\r\n\r\n"), []byte("SIP/2.0 200 OK\nTo: x\n\nbody"),
		[]byte("SIP/2.0 200 OK\r\nNo colon\r\nTo: x\r\n\r\n"))
	for i := range len(res) {
		msgs = append(msgs, res[:i])
	}
	for i, m := range msgs {
		if _, ok := Split(m); Framed(m) != ok {
			t.Errorf("message %d (%.40q): Framed %v, Split ok %v", i, m, !ok, ok)
		}
	}
}
