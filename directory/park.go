package directory

import (
	"slices"
	"strconv"
	"strings"
	"time"
)

// The call park settings: the orbits a call may be parked
// on, how long a parked call waits before it rings back whoever parked
// it, and what parked callers hear.
const (
	SettingParkOrbits  = "park.orbits"  // orbit numbers: ranges and numbers, comma-separated ("701-709")
	SettingParkTimeout = "park.timeout" // seconds before a parked call rings back its parker; 0: never
	// SettingParkMOH is the WAV file parked callers hear, looped (16-bit
	// PCM, 8 kHz mono); empty, or a file that cannot be read: silence.
	SettingParkMOH = "park.moh"
	// SettingQueuePrompts is a directory on the server of the WAV prompts
	// that tell a queue's callers their position: position.wav ("you are
	// caller number") and 0.wav to 9.wav (a number is said digit by digit,
	// or by N.wav where there is one for the whole number). Empty, or a
	// prompt missing: beeps, one per place.
	SettingQueuePrompts = "queue.prompts"
)

// ParkSettings lists the keys of what callers on hold hear and where
// parked calls go, in the order forms show them.
var ParkSettings = []string{SettingParkOrbits, SettingParkTimeout, SettingParkMOH, SettingQueuePrompts}

// Defaults of the park settings.
const (
	DefaultParkOrbits  = "701-709"
	DefaultParkTimeout = 60 * time.Second
	// MaxParkOrbits bounds the orbits of one node.
	MaxParkOrbits = 100
)

// emergencyNumbers may never be orbits: dialing one must reach the trunk.
var emergencyNumbers = []string{"112", "911", "999", "997", "998", "113", "114", "115"}

// ParseParkOrbits reads the park.orbits setting: numbers of 3 or 4
// digits (so never an extension, which has 5 or 6) and ranges of them
// ("701-709"), comma-separated, at most MaxParkOrbits in all, none an
// emergency number. Empty is DefaultParkOrbits; "none" parks nowhere.
// The orbits come back in order, without repeats.
func ParseParkOrbits(v string) ([]string, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		v = DefaultParkOrbits
	}
	if v == "none" {
		return nil, nil
	}
	bad := invalid(SettingParkOrbits, "must be numbers of 3 or 4 digits or ranges of them such as 701-709, comma-separated, or none")
	var out []string
	for _, part := range SplitList(v) {
		lo, hi, isRange := strings.Cut(part, "-")
		lo, hi = strings.TrimSpace(lo), strings.TrimSpace(hi)
		if !isRange {
			hi = lo
		}
		if !orbitNumber(lo) || !orbitNumber(hi) || len(lo) != len(hi) {
			return nil, bad
		}
		a, _ := strconv.Atoi(lo)
		b, _ := strconv.Atoi(hi)
		if b < a {
			return nil, bad
		}
		if b-a+1+len(out) > MaxParkOrbits {
			return nil, invalid(SettingParkOrbits, "must name at most "+strconv.Itoa(MaxParkOrbits)+" orbits")
		}
		for n := a; n <= b; n++ {
			o := strconv.Itoa(n)
			for len(o) < len(lo) {
				o = "0" + o
			}
			if slices.Contains(emergencyNumbers, o) {
				return nil, invalid(SettingParkOrbits, "must not include the emergency number "+o)
			}
			if !slices.Contains(out, o) {
				out = append(out, o)
			}
		}
	}
	return out, nil
}

func orbitNumber(s string) bool {
	return (len(s) == 3 || len(s) == 4) && strings.Trim(s, "0123456789") == ""
}

// ParseParkTimeout reads the park.timeout setting: whole seconds from 0
// (a parked call never rings back) to 3600. Empty is DefaultParkTimeout.
func ParseParkTimeout(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return DefaultParkTimeout, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 || n > 3600 {
		return 0, invalid(SettingParkTimeout, "must be a number of seconds from 0 (never ring back) to 3600")
	}
	return time.Duration(n) * time.Second, nil
}

// validateParkSetting checks a park key's value; ok is false for other
// keys.
func validateParkSetting(key, value string) (err error, ok bool) {
	switch key {
	case SettingParkOrbits:
		_, err = ParseParkOrbits(value)
	case SettingParkTimeout:
		_, err = ParseParkTimeout(value)
	case SettingParkMOH:
		if len(value) > 1024 || strings.ContainsAny(value, "\r\n\x00") ||
			(value != "" && !strings.HasSuffix(strings.ToLower(value), ".wav")) {
			err = invalid(key, "must be the path of a .wav file, or empty for silence")
		}
	case SettingQueuePrompts:
		if len(value) > 1024 || strings.ContainsAny(value, "\r\n\x00") ||
			(value != "" && !strings.HasPrefix(value, "/")) {
			err = invalid(key, "must be the absolute path of a directory, or empty for beeps")
		}
	default:
		return nil, false
	}
	return err, true
}
