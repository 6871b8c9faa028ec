package call

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/media"
	"github.com/switchboard-pbx/switchboard/sip/location"
	"github.com/switchboard-pbx/switchboard/sip/route"
	"github.com/switchboard-pbx/switchboard/sip/spool"
	"github.com/switchboard-pbx/switchboard/sip/trunk"
	"github.com/switchboard-pbx/switchboard/sip/wire"
)

// Core is what every call needs of the server, and the call table: the
// SIP client and our responses, the relay's ports, the addresses we are
// reached at, the history spool, the counters, the leg watchers. The
// features plug in at a few points (the taps on every answered call, the
// stand-in for a callee who cannot answer, what a call whose targets all
// failed does, a REFER); package sip's b2bua embeds the core and adds the features'
// services.
type Core struct {
	Log    *slog.Logger
	Config Config
	Pool   *media.PortPool
	CoreParts

	// Ports of our listeners, for Contact headers.
	udpPort, tcpPort, tlsPort atomic.Uint32
	udpLocal                  atomic.Pointer[netip.AddrPort] // the UDP listener's address
	localNets                 []netip.Prefix                 // this host's networks (outside)

	Ctx    context.Context // ends every call at shutdown
	Cancel context.CancelFunc

	callTable // the calls in progress and their call slots (calltable.go)

	Hooks callHooks

	*route.Router // the dial plan (sip/route)

	// RingFailed is what a ringing call whose targets all failed, or did
	// not answer in time, does instead of ending (forwarding.ringFailed):
	// it reports whether the call goes on.
	RingFailed func(c *Call, code int, reason string, disp directory.Disposition, by string) bool
	// Taps listen on the relay of every answered call (rooms_record.go).
	Taps Taps
	// StandIn answers a call in the place of a callee who cannot take
	// it or does not answer (the callee's mailbox).
	StandIn StandIn
	// onRefer takes a REFER inside a call (a blind transfer).
	TakeRefer func(c *Call, ev *ReqEvent)
}

// CoreParts is what the core is given of the server.
type CoreParts struct {
	Log          *slog.Logger
	Responder    wire.Responder // our responses, with our Server header
	Client       *sipgo.Client
	Realm        func() string // the SIP domain in force
	Node         string        // this node's name, on call rows
	UserAgent    string
	StoreTimeout time.Duration
	// RecordingsDir is the absolute directory of call recordings and
	// voicemail; "" records nothing.
	RecordingsDir string
	Counters      *Counters
	History       *spool.Spool    // call history and recording rows
	LegObservers  *LegObservers   // who hears extension legs change state
	Bindings      *location.Table // who is registered where
	Carriers      *trunk.Table    // trunks in force
}

// callHooks let tests see a call end, and place a carrier elsewhere.
// Nil in production.
type callHooks struct {
	Ended     func(directory.Call)
	Recording func(directory.Recording) // a recording row was stored
	// MediaIPs is the media address to offer a destination ("ip:port")
	// in place of ours: a carrier that reaches us elsewhere.
	MediaIPs map[string]netip.Addr
}

func NewCore(cfg Config, parts CoreParts) (*Core, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	pool, err := media.NewPortPool(cfg.RTPLow, cfg.RTPHigh)
	if err != nil {
		return nil, fmt.Errorf("rtp ports: %w", err)
	}
	pool.SetQuarantine(cfg.RTPQuarantine)
	ctx, cancel := context.WithCancel(context.Background())
	return &Core{Config: cfg, Log: parts.Log, Pool: pool, CoreParts: parts, Ctx: ctx, Cancel: cancel,
		callTable: newCallTable(cfg.MaxCallsPerExt), localNets: interfaceNets()}, nil
}

// Listening records the addresses of our listeners (either may be nil).
func (b *Core) Listening(udp, tcp net.Addr) {
	if a, ok := udp.(*net.UDPAddr); ok {
		b.udpPort.Store(uint32(a.Port))
		la := a.AddrPort()
		b.udpLocal.Store(&la)
	}
	if a, ok := tcp.(*net.TCPAddr); ok {
		b.tcpPort.Store(uint32(a.Port))
	}
}

// ListeningTLS records the address of our TLS listener.
func (b *Core) ListeningTLS(a net.Addr) {
	if ta, ok := a.(*net.TCPAddr); ok {
		b.tlsPort.Store(uint32(ta.Port))
	}
}

// port returns our listening port for a transport (UDP, TCP or TLS).
func (b *Core) port(transport string) int {
	switch strings.ToUpper(transport) {
	case "TCP":
		return int(b.tcpPort.Load())
	case "TLS":
		return int(b.tlsPort.Load())
	}
	return int(b.udpPort.Load())
}

// Shutdown hangs up every call and waits for them to end.
func (b *Core) Shutdown() {
	b.Mu.Lock()
	b.closing = true
	b.Mu.Unlock()
	b.Cancel()
	b.WG.Wait()
}

// ContactFor returns the Contact the PBX gives a peer at dest: an address
// of ours that peer can reach, with the port of our listener.
func (b *Core) ContactFor(dest, transport string) sip.ContactHeader {
	tr := strings.ToLower(transport)
	if tr == "" {
		tr = "udp"
	}
	port := b.port(tr)
	ip := b.LocalIP(dest)
	uri := sip.Uri{Scheme: "sip", User: "switchboard", Host: ip.String(), Port: port}
	if tr != "udp" {
		// Over TLS too a sip: URI with transport=tls, not sips: (RFC
		// 5630 would have sips:): baresip 1.0 (libre 1.1) ends the call
		// with ENOSYS on a sips: Contact.
		uri.UriParams = sip.HeaderParams{{K: "transport", V: tr}}
	}
	return sip.ContactHeader{Address: uri}
}

// MediaIP is the relay address written into SDP sent to a peer at dest.
func (b *Core) MediaIP(dest string) netip.Addr {
	if ip, ok := b.Hooks.MediaIPs[dest]; ok {
		return ip
	}
	if ip := b.Config.MediaIP; ip.IsValid() && !ip.IsUnspecified() {
		if pub := b.Config.PublicIP; pub.IsValid() && b.outside(dest) {
			return pub
		}
		return ip
	}
	return b.LocalIP(dest)
}

// SendAndWait sends an in-dialog request that needs no answer from us other
// than its completion (BYE, CANCEL) and waits for its final response or
// ctx, so that the transaction is gone when it returns.
func (b *Core) SendAndWait(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	tx, err := b.Client.TransactionRequest(ctx, req)
	if err != nil {
		return nil, err
	}
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				continue
			}
			return res, nil
		case <-tx.Done():
			return nil, tx.Err()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Audit writes an entry of something an extension did by phone.
func (b *Core) Audit(ctx context.Context, cred *Credential, action, object, detail string) {
	e := &directory.AuditEntry{ActorID: cred.UserID, Actor: "ext " + cred.Ext, Action: action, Object: object, Detail: detail}
	if err := b.Store.Audit(ctx, e); err != nil {
		b.Log.Error("audit not written", "action", action, "object", object, "err", err)
	}
}
