package transport

import (
	"os"
	"testing"
)

// tortureMessage reads one of the RFC 4475 torture messages package sip's
// torture test sends to a server.
func tortureMessage(t testing.TB, file string) []byte {
	t.Helper()
	raw, err := os.ReadFile("../testdata/torture/" + file + ".dat")
	if err != nil {
		t.Fatal(err)
	}
	return raw
}
