package directory

import (
	"context"
	"strings"
	"time"
)

// Vendor names the configuration format a device is provisioned with.
type Vendor string

// Vendors Switchboard writes configurations for.
const (
	Yealink     Vendor = "yealink"
	Grandstream Vendor = "grandstream"
	Polycom     Vendor = "polycom"
	Snom        Vendor = "snom"
	Linphone    Vendor = "linphone" // a softphone: no MAC needed
)

// Vendors lists the known vendors in the order forms offer them.
var Vendors = []Vendor{Yealink, Grandstream, Polycom, Snom, Linphone}

// Valid reports whether v is a known vendor.
func (v Vendor) Valid() bool {
	for _, k := range Vendors {
		if v == k {
			return true
		}
	}
	return false
}

// Device is a phone that fetches its configuration from Switchboard. The
// secret of its provisioning URL is not stored: TokenHash is its SHA-256,
// and Sealed the extension password encrypted with a key derived from
// it, so that the database alone gives away neither.
type Device struct {
	ID          int64
	MAC         string // 12 lower-case hex digits (NormalizeMAC); "" only for softphones
	Vendor      Vendor
	Model       string
	UserID      int64
	Label       string
	TokenHash   string // hex SHA-256 of the URL secret
	Sealed      string // the extension password, sealed with the URL secret
	LastFetchAt time.Time
	LastFetchIP string
	CreatedAt   time.Time
}

// DeviceFilter selects devices, by MAC then ID.
type DeviceFilter struct {
	UserID int64      // only this user's; 0: any
	Vis    Visibility // devices of the users in UserIDs, or All
	Page   Page
}

// DeviceStore keeps provisioned devices.
type DeviceStore interface {
	// CreateDevice stores d after Device.Check and sets d.ID and
	// d.CreatedAt. A MAC already in use is a *ConflictError on mac; a
	// user that does not exist an *InvalidError on user_id.
	CreateDevice(ctx context.Context, d *Device) error
	Device(ctx context.Context, id int64) (*Device, error)
	// DeviceByToken finds the device whose URL secret hashes to
	// tokenHash; ErrNotFound when none does.
	DeviceByToken(ctx context.Context, tokenHash string) (*Device, error)
	Devices(ctx context.Context, f DeviceFilter) ([]Device, error)
	// UpdateDevice writes MAC, vendor, model, user, label, token hash and
	// sealed password of device d.ID, after Device.Check.
	UpdateDevice(ctx context.Context, d *Device) error
	DeleteDevice(ctx context.Context, id int64) error
	// DeviceFetched notes that device id fetched its configuration at
	// from ip.
	DeviceFetched(ctx context.Context, id int64, at time.Time, ip string) error
}

// NormalizeMAC returns mac as 12 lower-case hex digits, whatever the
// separators people type ("00:15:65:AB:CD:EF", "0015.65ab.cdef",
// "00-15-65-ab-cd-ef"); ok is false when it is not a MAC address.
func NormalizeMAC(mac string) (string, bool) {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(mac)) {
		switch {
		case r >= '0' && r <= '9', r >= 'a' && r <= 'f':
			b.WriteRune(r)
		case r == ':', r == '-', r == '.', r == ' ':
		default:
			return "", false
		}
	}
	if b.Len() != 12 {
		return "", false
	}
	return b.String(), true
}

// Check normalizes the MAC and applies the rules of CreateDevice and
// UpdateDevice: a known vendor, a MAC (but for softphones, which may have
// none), a user, a token hash; a label and model of at most 100
// characters.
func (d *Device) Check() error {
	var errs fieldErrors
	if !d.Vendor.Valid() {
		errs.add(invalid("vendor", "must be yealink, grandstream, polycom, snom or linphone"))
	}
	if d.MAC != "" || d.Vendor != Linphone {
		if m, ok := NormalizeMAC(d.MAC); ok {
			d.MAC = m
		} else {
			errs.add(invalid("mac", "must be 12 hex digits, e.g. 00:15:65:ab:cd:ef"))
		}
	}
	if d.UserID == 0 {
		errs.add(invalid("user_id", "is required"))
	}
	if d.TokenHash == "" {
		errs.add(invalid("token", "is required"))
	}
	d.Label, d.Model = strings.TrimSpace(d.Label), strings.TrimSpace(d.Model)
	if len([]rune(d.Label)) > 100 {
		errs.add(invalid("label", "must be at most 100 characters"))
	}
	if len([]rune(d.Model)) > 100 {
		errs.add(invalid("model", "must be at most 100 characters"))
	}
	return errs.err()
}

// ErrMACTaken is the conflict of a MAC address another device has.
var ErrMACTaken = Conflict("mac", "already in use by another device")

// ErrUnknownDeviceUser is what the stores say of a device whose user does
// not exist.
var ErrUnknownDeviceUser error = &InvalidError{Field: "user_id", Rule: "unknown user"}
