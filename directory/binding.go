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
	// Direct is set when the REGISTER did not cross a NAT (its top Via
	// sent-by was its source address and port): requests then go to the
	// Contact's host and port (RFC 3261 §10), so a registration made on
	// behalf of another address reaches that address. Otherwise they go
	// to Source.
	Direct bool
	// Path is the Path header of the REGISTER (RFC 3327), its URIs in
	// order, comma-separated: the Route set of requests to the contact.
	Path string
}
