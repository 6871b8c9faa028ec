//go:build !linux

package transport

import "net"

// newRawUDP is the listener itself off Linux (see rawudp_linux.go).
func newRawUDP(uc *net.UDPConn) (net.PacketConn, error) { return uc, nil }
