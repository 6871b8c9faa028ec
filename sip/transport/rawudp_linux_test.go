package transport

import (
	"errors"
	"net"
	"testing"
	"time"
)

// TestRawUDP: the raw listener reads and writes datagrams as the socket it
// wraps would, over IPv4 and IPv6, waits for a datagram that is not there
// yet, honours a read deadline, and a close ends a waiting read with
// net.ErrClosed (what sipgo's read loop stops on).
func TestRawUDP(t *testing.T) {
	for _, network := range []struct{ net, addr string }{{"udp4", "127.0.0.1:0"}, {"udp6", "[::1]:0"}} {
		t.Run(network.net, func(t *testing.T) {
			uc, err := net.ListenPacket(network.net, network.addr)
			if err != nil {
				t.Fatal(err)
			}
			pc, err := newRawUDP(uc.(*net.UDPConn))
			if err != nil {
				t.Fatal(err)
			}
			peer, err := net.ListenPacket(network.net, network.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer peer.Close()

			got := make(chan string, 1)
			go func() {
				b := make([]byte, 1500)
				n, from, err := pc.ReadFrom(b)
				if err != nil {
					got <- "error: " + err.Error()
					return
				}
				if from.String() != peer.LocalAddr().String() {
					got <- "from " + from.String()
					return
				}
				got <- string(b[:n])
			}()
			time.Sleep(20 * time.Millisecond) // the read waits in the poller
			if _, err := peer.WriteTo([]byte("OPTIONS"), pc.LocalAddr()); err != nil {
				t.Fatal(err)
			}
			if s := <-got; s != "OPTIONS" {
				t.Fatalf("read %q", s)
			}

			if _, err := pc.WriteTo([]byte("SIP/2.0 200 OK"), peer.LocalAddr()); err != nil {
				t.Fatal(err)
			}
			if network.net == "udp4" {
				// An IPv4 address as net.ParseIP gives it: in 16 bytes.
				to := peer.LocalAddr().(*net.UDPAddr)
				to16 := &net.UDPAddr{IP: to.IP.To16(), Port: to.Port}
				if _, err := pc.WriteTo([]byte("SIP/2.0 200 OK"), to16); err != nil {
					t.Fatalf("write to %v: %v", to16, err)
				}
				b := make([]byte, 1500)
				if n, _, err := peer.ReadFrom(b); err != nil || string(b[:n]) != "SIP/2.0 200 OK" {
					t.Fatalf("peer read %q: %v", b[:n], err)
				}
			}
			b := make([]byte, 1500)
			n, from, err := peer.ReadFrom(b)
			if err != nil || string(b[:n]) != "SIP/2.0 200 OK" || from.String() != pc.LocalAddr().String() {
				t.Fatalf("peer read %q from %v: %v", b[:n], from, err)
			}

			pc.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
			if _, _, err := pc.ReadFrom(b); !isTimeout(err) {
				t.Fatalf("read past the deadline: %v, want a timeout", err)
			}
			pc.SetReadDeadline(time.Time{})

			done := make(chan error, 1)
			go func() { _, _, err := pc.ReadFrom(b); done <- err }()
			time.Sleep(10 * time.Millisecond)
			pc.Close()
			if err := <-done; !errors.Is(err, net.ErrClosed) {
				t.Fatalf("read after close: %v, want net.ErrClosed", err)
			}
		})
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
