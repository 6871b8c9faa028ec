package directory

import (
	"net/netip"
	"time"
)

// Ban keeps a source address out of the SIP service, on every node that
// shares the store, until it expires or an operator lifts it. An empty
// Extension bans the source altogether; otherwise only that extension is
// locked for the source (an "extension lock").
type Ban struct {
	Source    string // IP address, in its canonical form (ValidateBan)
	Extension string // "" for a ban of the whole source
	Reason    string
	Created   time.Time
	Expires   time.Time
	Node      string // the node that imposed it
}

// Kinds of ban, as operators see them.
const (
	BanSource    = "source"    // every request from the source is dropped
	BanExtension = "extension" // the source may not use one extension
)

// Kind returns BanSource or BanExtension.
func (b Ban) Kind() string {
	if b.Extension == "" {
		return BanSource
	}
	return BanExtension
}

// CanonicalIP returns ip in the form bans are stored under (IPv4-mapped
// IPv6 addresses unmapped, no zone), or an *InvalidError.
func CanonicalIP(ip string) (string, error) {
	a, err := netip.ParseAddr(ip)
	if err != nil || a.Zone() != "" {
		return "", invalid("source", "must be an IP address")
	}
	return a.Unmap().String(), nil
}

// ValidateBan checks b and puts its source in canonical form.
func ValidateBan(b *Ban) error {
	var errs fieldErrors
	src, err := CanonicalIP(b.Source)
	errs.add(err)
	if err == nil {
		b.Source = src
	}
	if len(b.Extension) > 64 {
		errs.add(invalid("extension", "must be at most 64 characters"))
	}
	if len(b.Reason) > 200 {
		errs.add(invalid("reason", "must be at most 200 characters"))
	}
	if b.Expires.IsZero() {
		errs.add(invalid("expires", "is required"))
	} else if !b.Created.IsZero() && !b.Expires.After(b.Created) {
		errs.add(invalid("expires", "must be after created"))
	}
	return errs.err()
}
