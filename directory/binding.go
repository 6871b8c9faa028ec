package directory

import "time"

// Binding is one registered contact of an extension (RFC 3261 §10), with the
// address the REGISTER really came from, used to reach phones behind NAT.
type Binding struct {
	Extension string
	Contact   string // the Contact URI as the phone gave it
	Source    string // ip:port the REGISTER came from
	Transport string // "UDP", "TCP", ...
	Expires   time.Time
	CallID    string
	CSeq      uint32
	UserAgent string
	Node      string // the node that accepted it
	UpdatedAt time.Time
}
