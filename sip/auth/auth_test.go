package auth

import (
	"testing"

	"github.com/emiago/sipgo/sip"
)

func TestSameResource(t *testing.T) {
	ruri := sip.Uri{Scheme: "sip", User: "10002", Host: "pbx.example.com"}
	for _, tc := range []struct {
		uri  string
		want bool
	}{
		{"sip:10002@pbx.example.com", true},
		{"sip:10002@PBX.example.com:5060", true},
		{"sip:10002@pbx.example.com;transport=udp", true},
		{"sip:pbx.example.com", true}, // SIPp's form: the server's address
		{"sip:10003@pbx.example.com", false},
		{"sip:10002@evil.example.com", false},
		{"sip:10002@pbx.example.com:5070", false},
		{"sips:10002@pbx.example.com", false},
		{"not a uri", false},
	} {
		if got := sameResource(tc.uri, ruri); got != tc.want {
			t.Errorf("sameResource(%q) = %v, want %v", tc.uri, got, tc.want)
		}
	}
}
