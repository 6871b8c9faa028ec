package sip

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/internal/clock"
)

// BenchmarkRegister is the registrar's hot path as SIPp's reg_auth
// scenario drives it: per op one extension out of 1,000
// sends REGISTER, takes the 401, and sends it again with MD5 digest
// credentials and a new Call-ID, to 200. One raw UDP socket plays all the
// phones, so the figures are the server's work plus a small client. It
// reports the process CPU per op (cpu-us/op) next to wall time.
//
//	go test -run '^$' -bench Register -benchtime 20000x ./sip/
func BenchmarkRegister(b *testing.B) {
	for _, bk := range []struct {
		name string
		open func(testing.TB) (directory.Store, func() directory.Store)
	}{{"sqlite", openSQLite}, {"postgres", openPostgres}} {
		b.Run(bk.name, func(b *testing.B) { benchRegister(b, bk.open) })
	}
}

func benchRegister(b *testing.B, open func(testing.TB) (directory.Store, func() directory.Store)) {
	const users = 1000
	t0 := time.Now()
	st, _ := open(b)
	var csv strings.Builder
	csv.WriteString("name,email,extension,ext_password\n")
	for i := range users {
		fmt.Fprintf(&csv, "Bench %d,b%d@bench.test,%d,%s\n", 100000+i, 100000+i, 100000+i, testPassword)
	}
	if _, err := directory.ImportUsers(b.Context(), st, strings.NewReader(csv.String()), directory.DefaultPasswordPolicy); err != nil {
		b.Fatal(err)
	}
	b.Logf("users in %v", time.Since(t0))
	cfg := Config{Addr: "127.0.0.1:0", Node: "node-a", FollowInterval: time.Hour,
		Guard: GuardConfig{Exempt: []string{"127.0.0.0/8"}}}
	srv, err := newServer(cfg, st, slog.New(slog.DiscardHandler), clock.Real{})
	if err != nil {
		b.Fatal(err)
	}
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	tcp, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, udp, tcp) }()
	defer func() {
		t1 := time.Now()
		cancel()
		<-done
		b.Logf("stopped in %v", time.Since(t1))
	}()
	if err := srv.Sync(b.Context()); err != nil {
		b.Fatal(err)
	}
	realm := srv.realm()

	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	to := udp.LocalAddr().(*net.UDPAddr)
	local := conn.LocalAddr().String()
	buf := make([]byte, 4096)
	exchange := func(msg []byte) []byte {
		for {
			if _, err := conn.WriteToUDP(msg, to); err != nil {
				b.Fatal(err)
			}
			conn.SetReadDeadline(time.Now().Add(2 * time.Second))
			n, _, err := conn.ReadFromUDP(buf)
			if err != nil {
				b.Fatalf("no answer: %v", err)
			}
			if bytes.HasPrefix(buf[:n], []byte("SIP/2.0 100 ")) {
				continue
			}
			return buf[:n]
		}
	}
	ha1 := make([]string, users)
	for i := range users {
		h := md5.Sum([]byte(fmt.Sprintf("%d:%s:%s", 100000+i, realm, testPassword)))
		ha1[i] = hex.EncodeToString(h[:])
	}
	ruri := "sip:" + to.String()
	register := func(n int, cseq int, auth string) []byte {
		ext := 100000 + n%users
		return fmt.Appendf(nil, "REGISTER %s SIP/2.0\r\n"+
			"Via: SIP/2.0/UDP %s;branch=z9hG4bK-%d-%d;rport\r\n"+
			"Max-Forwards: 70\r\n"+
			"From: <sip:%d@%s>;tag=b%d\r\n"+
			"To: <sip:%d@%s>\r\n"+
			"Call-ID: bench-%d@%s\r\n"+
			"CSeq: %d REGISTER\r\n"+
			"Contact: <sip:%d@%s>\r\n"+
			"Expires: 3600\r\n"+
			"User-Agent: sipp-bench\r\n%s"+
			"Content-Length: 0\r\n\r\n",
			ruri, local, n, cseq, ext, to.IP, n, ext, to.IP, n, local, cseq, ext, local, auth)
	}
	one := func(n int) {
		res := exchange(register(n, 1, ""))
		if !bytes.HasPrefix(res, []byte("SIP/2.0 401 ")) {
			b.Fatalf("want 401, got %q", res)
		}
		i := bytes.Index(res, []byte(`nonce="`))
		if i < 0 {
			b.Fatalf("no nonce in %q", res)
		}
		nonce := res[i+7:]
		nonce = nonce[:bytes.IndexByte(nonce, '"')]
		ha2 := md5.Sum([]byte("REGISTER:" + ruri))
		resp := md5.Sum([]byte(ha1[n%users] + ":" + string(nonce) + ":00000001:c0ffee:auth:" + hex.EncodeToString(ha2[:])))
		auth := fmt.Sprintf("Authorization: Digest username=\"%d\", realm=\"%s\", nonce=\"%s\", uri=\"%s\", response=\"%s\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"c0ffee\"\r\n",
			100000+n%users, realm, nonce, ruri, hex.EncodeToString(resp[:]))
		res = exchange(register(n, 2, auth))
		if !bytes.HasPrefix(res, []byte("SIP/2.0 200 ")) {
			b.Fatalf("want 200, got %q", res)
		}
	}
	for n := range users { // every extension registered once: the rest are refreshes
		one(n)
	}
	b.Logf("first registrations in %v", time.Since(t0))
	var r0 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &r0)
	b.ResetTimer()
	n := users
	for b.Loop() {
		one(n)
		n++
	}
	b.StopTimer()
	var r1 syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &r1)
	cpu := time.Duration(r1.Utime.Nano() + r1.Stime.Nano() - r0.Utime.Nano() - r0.Stime.Nano())
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-us/op")
}
