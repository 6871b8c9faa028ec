package transport

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// FuzzEdge: no input makes the edge panic; a message it passes keeps its
// bytes when its top Via is fixed, apart from what was inserted; a reply
// it builds is a response.
func FuzzEdge(f *testing.F) {
	files, _ := filepath.Glob("../testdata/torture/*.dat")
	for _, file := range files {
		f.Add(tortureMessage(f, filepath.Base(file[:len(file)-len(".dat")])))
	}
	e := New(Config{MaxMessageSize: 16 << 10}, Parts{CountDrop: func(string) {}})
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, stream := range []bool{false, true} {
			v := e.inspect(data, stream)
			if v.reply != nil && !bytes.HasPrefix(v.reply, []byte("SIP/2.0 ")) {
				t.Fatalf("reply %q", v.reply)
			}
			if !v.pass {
				continue
			}
			buf := make([]byte, len(data)+64)
			copy(buf, data)
			n := fixVia(buf, len(data), v.branch, !stream)
			if n < len(data) || n > len(data)+len(";branch=")+len(v.branch)+len(";rport") {
				t.Fatalf("fixVia: %d bytes from %d", n, len(data))
			}
		}
		wire.HeaderEnd(data)
		m, _ := wire.Split(data)
		transactionKey(&m)
	})
}
