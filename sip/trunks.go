package sip

import (
	"net/netip"

	"github.com/switchboard-pbx/switchboard/sip/trunk"
)

// States of a registration to a carrier (TrunkRegistration.State).
const (
	TrunkRegistering = trunk.Registering // first attempt in flight
	TrunkRegistered  = trunk.Registered
	TrunkFailed      = trunk.Failed // retrying after a back-off
)

// TrunkRegistration is the state of the PBX's registration to the carrier
// of a trunk whose Register is set.
type TrunkRegistration = trunk.Registration

// TrunkRegistrations returns the state of every registration to a carrier,
// by trunk name.
func (s *Server) TrunkRegistrations() []TrunkRegistration { return s.tk.Registrations() }

// trunkFrom returns the trunk whose host has address ip, or nil.
func (s *Server) trunkFrom(ip netip.Addr) *Trunk { return s.tk.From(ip) }

// outboundTrunks returns the trunks that serve the E.164 number num, in
// the order a call tries them (trunk.Table.Outbound).
func (s *Server) outboundTrunks(num string) []*Trunk { return s.tk.Outbound(num) }

// didTarget returns the extension a number dialed from a trunk is mapped
// to, as dialed.
func (s *Server) didTarget(number string) (string, bool) { return s.tk.DID(number) }
