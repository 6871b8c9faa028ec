package baresip_test

import (
	"context"
	"log/slog"
	"net"
	"path/filepath"
	"testing"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/directory/sqlite"
	"github.com/switchboard-pbx/switchboard/internal/baresip"
	"github.com/switchboard-pbx/switchboard/sip"
)

// startPBX runs Switchboard's SIP server in-process on 127.0.0.1:0 over a
// fresh SQLite directory holding extension 10001.
func startPBX(t *testing.T) (*sip.Server, string) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "sb.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := directory.AddUser(t.Context(), st, directory.NewUser{Name: "Anna Nowak", Email: "anna@example.com",
		Extension: "10001", ExtPassword: "k7#Qm2vLx9"}, directory.DefaultPasswordPolicy); err != nil {
		t.Fatal(err)
	}
	// UDP and TCP on one port: retry when the TCP twin of a free UDP port
	// happens to be taken.
	var (
		udp net.PacketConn
		tcp net.Listener
	)
	for range 20 {
		if udp, err = net.ListenPacket("udp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		_, port, _ := net.SplitHostPort(udp.LocalAddr().String())
		if tcp, err = net.Listen("tcp", net.JoinHostPort("127.0.0.1", port)); err == nil {
			break
		}
		udp.Close()
	}
	if err != nil {
		t.Fatalf("no port free for both UDP and TCP: %v", err)
	}
	// baresip retries a refused password 16 times by itself; two wrong
	// attempts from 127.0.0.1 must not get it banned here.
	cfg := sip.Config{Addr: udp.LocalAddr().String(), Node: "test", Guard: sip.GuardConfig{MaxFailures: 100}}
	srv, err := sip.NewServer(cfg, st, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, udp, tcp) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return srv, udp.LocalAddr().String()
}

// The harness registers a real baresip against the registrar: 200 with
// the right password, REGISTER_FAIL 401 with a wrong one, over UDP and TCP.
func TestRegisterAgainstSwitchboard(t *testing.T) {
	srv, addr := startPBX(t)
	p := baresip.Start(t, baresip.Options{Name: "anna"})

	for _, tc := range []struct {
		name, aor string
	}{
		{"udp", "sip:10001@" + addr},
		{"tcp", "sip:10001@" + addr + ";transport=tcp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ev, err := p.Register(tc.aor, "wrong-password")
			if err != nil {
				t.Fatal(err)
			}
			if ev.Type != "REGISTER_FAIL" || ev.Code() != 401 {
				t.Errorf("wrong password: %s %q, want REGISTER_FAIL 401", ev.Type, ev.Param)
			}
			ev, err = p.Register(tc.aor, "k7#Qm2vLx9")
			if err != nil {
				t.Fatal(err)
			}
			if ev.Type != "REGISTER_OK" || ev.Code() != 200 {
				t.Fatalf("right password: %s %q, want REGISTER_OK 200", ev.Type, ev.Param)
			}
			regs := srv.Registrations()
			if len(regs) != 1 || regs[0].Extension != "10001" {
				t.Fatalf("registrations %+v", regs)
			}
			wantTransport := map[string]string{"udp": "UDP", "tcp": "TCP"}[tc.name]
			if regs[0].Transport != wantTransport {
				t.Errorf("registered over %s, want %s", regs[0].Transport, wantTransport)
			}
			mark := p.Mark()
			if err := p.Unregister(tc.aor); err != nil {
				t.Fatal(err)
			}
			if _, err := p.WaitEvent(t.Context(), mark, func(e baresip.Event) bool {
				return e.Type == "UNREGISTERING"
			}); err != nil {
				t.Fatal(err)
			}
		})
	}
}
