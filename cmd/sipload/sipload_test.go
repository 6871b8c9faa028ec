package main

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/directory/sqlite"
	"github.com/switchboard-pbx/switchboard/sip"
)

// startPBX runs a real SIP server over a SQLite store holding n extensions
// from 300000 with password pw, and returns its address. opts adjust the
// server's config.
func startPBX(t *testing.T, n int, pw string, opts ...func(*sip.Config)) string {
	t.Helper()
	ctx := t.Context()
	log := slog.New(slog.DiscardHandler)
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "sb.db"), log)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for i := range n {
		ext := strconv.Itoa(300000 + i)
		_, err := directory.AddUser(ctx, st, directory.NewUser{Name: "Load " + ext, Email: "l" + ext + "@example.com",
			Extension: ext, ExtPassword: directory.Password(pw)}, directory.DefaultPasswordPolicy)
		if err != nil {
			t.Fatal(err)
		}
	}
	cfg := sip.Config{Addr: "127.0.0.1:0", Node: "test"}
	for _, o := range opts {
		o(&cfg)
	}
	srv, err := sip.NewServer(cfg, st, log)
	if err != nil {
		t.Fatal(err)
	}
	udp, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(sctx, udp, nil) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("sip server: %v", err)
		}
	})
	return udp.LocalAddr().String()
}

func TestRegisterLoad(t *testing.T) {
	addr := startPBX(t, 20, "Load-Test-pw!")
	for _, alg := range []string{"MD5", "SHA-256"} {
		t.Run(alg, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(t.Context(), []string{"register", "--target", addr, "--n", "20", "--ext-start", "300000",
				"--rate", "400", "--duration", "250ms", "--workers", "8", "--algorithm", alg, "--domain", "switchboard.local"}, &out, &errb)
			if code != 0 {
				t.Fatalf("exit %d\n%s%s", code, out.String(), errb.String())
			}
			m := regexp.MustCompile(`registrations: (\d+) ok, (\d+) failed`).FindStringSubmatch(out.String())
			if m == nil || m[1] == "0" || m[2] != "0" {
				t.Fatalf("report:\n%s", out.String())
			}
			if !strings.Contains(out.String(), "latency p50") {
				t.Errorf("no latency line:\n%s", out.String())
			}
		})
	}
}

func TestRegisterLoadCountsFailures(t *testing.T) {
	addr := startPBX(t, 3, "Load-Test-pw!")
	var out, errb bytes.Buffer
	code := run(t.Context(), []string{"register", "--target", addr, "--n", "3", "--ext-start", "300000",
		"--password", "Wrong-pw-123", "--rate", "100", "--duration", "100ms", "--workers", "2"}, &out, &errb)
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, out.String(), errb.String())
	}
	if !regexp.MustCompile(`registrations: 0 ok, [1-9]\d* failed`).MatchString(out.String()) ||
		!strings.Contains(out.String(), "failures 40") {
		t.Errorf("wrong password not reported as failures by status:\n%s", out.String())
	}
}

func TestRegisterRefusesRemoteTargets(t *testing.T) {
	for _, target := range []string{"192.0.2.1:5060", "example.com:5060", "[2001:db8::1]:5060"} {
		var out, errb bytes.Buffer
		if code := run(t.Context(), []string{"register", "--target", target}, &out, &errb); code != 2 ||
			!strings.Contains(errb.String(), "only loopback") {
			t.Errorf("target %s: exit %d, %q", target, code, errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := run(t.Context(), []string{"register", "--rate", "0", "--duration", "2h"}, &out, &errb); code != 2 ||
		!strings.Contains(errb.String(), "--rate") || !strings.Contains(errb.String(), "--duration") {
		t.Errorf("bad flags: exit %d, %q", code, errb.String())
	}
}
