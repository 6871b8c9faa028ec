package directory

import "strings"

// Forwarding is where calls to a user's extension go instead of, or after,
// its phones. A target is an extension (of a user or a group) or a phone
// number, dialed as the user would dial it.
type Forwarding struct {
	// DND (Do Not Disturb): calls get busy (or go to Busy when set); the
	// user's phones can still call out, and ring groups skip the user.
	DND bool
	// Always takes every call, before the phones ring.
	Always string
	// Busy takes calls refused busy by every phone, or over the
	// extension's call limit.
	Busy string
	// NoAnswer takes calls not answered within RingSeconds.
	NoAnswer string
	// Offline takes calls while no phone of the extension is registered.
	Offline string
	// RingSeconds is how long the phones ring before NoAnswer; 0 means the
	// PBX ring time.
	RingSeconds int
}

// Forwarding limits.
const (
	MinForwardRingSeconds = 5
	MaxForwardRingSeconds = 300
)

// Active reports whether any forward or DND is set.
func (f Forwarding) Active() bool {
	return f.DND || f.Always != "" || f.Busy != "" || f.NoAnswer != "" || f.Offline != ""
}

// NormalizeForwardTarget removes the spaces, dashes, dots and brackets
// people type in phone numbers.
func NormalizeForwardTarget(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '-', '.', '(', ')':
			return -1
		}
		return r
	}, s)
}

// ValidateForwardTarget checks a normalized forward target: empty (no
// forward), an extension, or a phone number of 3 to 20 digits with an
// optional leading +.
func ValidateForwardTarget(field, s string) error {
	if s == "" || ValidateExtension(field, s) == nil {
		return nil
	}
	digits := strings.TrimPrefix(s, "+")
	if len(digits) < 3 || len(digits) > 20 || strings.Trim(digits, "0123456789") != "" {
		return invalid(field, "must be an extension or a phone number such as +48221234567")
	}
	return nil
}

// ValidateForwardRingSeconds checks the ring time before a no-answer
// forward: 0 (the PBX ring time) or 5 to 300 seconds.
func ValidateForwardRingSeconds(field string, n int) error {
	if n != 0 && (n < MinForwardRingSeconds || n > MaxForwardRingSeconds) {
		return invalid(field, "must be 0 (the PBX ring time) or between 5 and 300 seconds")
	}
	return nil
}

// validateForward normalizes and checks the forwarding fields a patch sets.
func (p *UserPatch) validateForward(errs *fieldErrors) {
	for _, f := range []struct {
		field string
		v     *string
	}{
		{"forward_always", p.ForwardAlways},
		{"forward_busy", p.ForwardBusy},
		{"forward_no_answer", p.ForwardNoAnswer},
		{"forward_offline", p.ForwardOffline},
	} {
		if f.v == nil {
			continue
		}
		*f.v = NormalizeForwardTarget(*f.v)
		errs.add(ValidateForwardTarget(f.field, *f.v))
	}
	if p.ForwardRingSeconds != nil {
		errs.add(ValidateForwardRingSeconds("forward_ring_seconds", *p.ForwardRingSeconds))
	}
}

// ApplyForward copies the forwarding fields p sets onto f.
func (p *UserPatch) ApplyForward(f *Forwarding) {
	if p.DND != nil {
		f.DND = *p.DND
	}
	for _, x := range []struct {
		dst *string
		src *string
	}{{&f.Always, p.ForwardAlways}, {&f.Busy, p.ForwardBusy}, {&f.NoAnswer, p.ForwardNoAnswer}, {&f.Offline, p.ForwardOffline}} {
		if x.src != nil {
			*x.dst = *x.src
		}
	}
	if p.ForwardRingSeconds != nil {
		f.RingSeconds = *p.ForwardRingSeconds
	}
}
