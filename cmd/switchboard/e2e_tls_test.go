package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/internal/baresip"
)

// TestBaresipTLSWithSRTPCallsPlainPhone is the end-to-end test of TLS
// and SRTP: a baresip registered over TLS, with mandatory SRTP (RTP/SAVP,
// SDES), calls a plain-RTP baresip on UDP through `switchboard serve` (with the
// self-signed certificate it makes at its first start); each side records
// what it receives, which must be the other's tone: the relay decrypted
// one way and encrypted the other.
func TestBaresipTLSWithSRTPCallsPlainPhone(t *testing.T) {
	if testing.Short() && os.Getenv("CI") != "true" {
		t.Skip("-short: end-to-end test skipped (never under CI=true)")
	}
	bin := buildBinary(t)
	data := t.TempDir()
	users := []e2eUser{
		{"Anna Nowak", "anna@example.com", "10001", "k7#Qm2vLx9", ""},
		{"Piotr Wisniewski", "piotr@example.com", "10002", "Zr4!pW8qTe", ""},
	}
	addUsers(t, bin, data, users)
	addrs := serveListeners(t, bin, data, "udp", "tls")
	udpAddr, tlsAddr := addrs["udp"], addrs["tls"]

	anna := baresip.Start(t, baresip.Options{Name: "anna", Tone: 440, MediaEnc: "srtp-mand",
		CAFile: filepath.Join(data, "tls", "cert.pem")})
	piotr := baresip.Start(t, baresip.Options{Name: "piotr", Tone: 880})
	if ev, err := anna.Register("sip:10001@"+tlsAddr+";transport=tls", users[0].pw); err != nil || ev.Type != "REGISTER_OK" {
		t.Fatalf("register 10001 over tls: %v %s %q\n%s", err, ev.Type, ev.Param, anna.Log())
	}
	registerAs(t, udpAddr, []*baresip.Phone{nil, piotr}, users)

	ctx := t.Context()
	markA, markB := anna.Mark(), piotr.Mark()
	if err := anna.Dial("sip:10002@" + tlsAddr); err != nil { // the account adds transport=tls
		t.Fatal(err)
	}
	established(t, anna, markA)
	established(t, piotr, markB)
	talk := time.NewTimer(talkTime)
	select {
	case <-talk.C:
	case <-ctx.Done():
		t.Fatal(ctx.Err())
	}
	if err := anna.Hangup(); err != nil {
		t.Fatal(err)
	}
	closed(t, anna, markA)
	closed(t, piotr, markB)

	// The encrypted side really was: baresip's srtp module says so.
	if log := anna.Log(); !strings.Contains(log, "SRTP is Enabled (cryptosuite=AES_CM_128_HMAC_SHA1_80)") {
		t.Errorf("anna's log shows no SRTP:\n%s", log)
	}
	for _, side := range []struct {
		p        *baresip.Phone
		peerTone float64
	}{{anna, 880}, {piotr, 440}} {
		checkReceivedTone(t, side.p, side.peerTone)
	}
}
