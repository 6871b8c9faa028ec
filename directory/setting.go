package directory

import (
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Setting keys known to Switchboard, with their defaults. Values are strings
// in the store; ValidateSetting checks a value before it is written.
const (
	SettingDomain         = "sip.domain"
	SettingDefaultCountry = "numbers.default_country"
	SettingDefaultRole    = "users.default_role" // role ID
	SettingRecording      = "recording.policy"   // off | all | selected
	SettingRecordingUsers = "recording.users"    // comma-separated user IDs (policy selected)
	SettingRecordingGroup = "recording.groups"   // comma-separated group IDs (policy selected)
	SettingRetentionDays  = "recording.retention_days"
	SettingSetupToken     = "setup.token_hash" // SHA-256 of the one-time owner setup token
	SettingTrunks         = "trunks"           // JSON array of TrunkSetting
	SettingDIDs           = "dids"             // JSON object: number -> extension
	SettingTimeZone       = "web.timezone"     // IANA zone times are shown in, unless a user picks one
	SettingFeatureCodes   = "features.codes"   // feature=code pairs changing the default codes (feature.go)
	// The SIP guard and digest options for every node (a node's own flag
	// wins); empty means the built-in default. Read when serve starts.
	SettingGuardMaxFailures   = "sip.guard.max_failures"   // failures from one source within the window that ban it
	SettingGuardWindow        = "sip.guard.window"         // the failure-counting window, e.g. 10m
	SettingGuardBanTime       = "sip.guard.ban_time"       // how long a ban lasts, e.g. 1h
	SettingGuardExtBudget     = "sip.guard.ext_budget"     // failed verifications per extension and hour, all sources
	SettingGuardFloodRequests = "sip.guard.flood_requests" // requests per source and flood window
	SettingGuardFloodWindow   = "sip.guard.flood_window"   // e.g. 1s
	SettingGuardFloodBanTime  = "sip.guard.flood_ban_time" // e.g. 10m
	SettingGuardExempt        = "sip.guard.exempt"         // CIDR networks never banned or limited, comma-separated
	SettingGuardScanners      = "sip.guard.scanner_agents" // User-Agent substrings dropped unanswered, comma-separated; "none"
	SettingDigestAlgorithms   = "sip.digest.algorithms"    // offered in this order: SHA-256,MD5 or MD5 or ...
	SettingDigestMD5Only      = "sip.digest.md5_only_agents"

	// SettingNonceKey is the secret (64 hex digits) the SIP nodes make their
	// digest nonces under, so that a nonce of one node or of a previous
	// run is known to all. Not for operators.
	SettingNonceKey = "sip.nonce_key"
)

// SettingKeys lists the keys operators may read and set.
var SettingKeys = []string{SettingDomain, SettingDefaultCountry, SettingDefaultRole, SettingRecording,
	SettingRecordingUsers, SettingRecordingGroup, SettingRetentionDays, SettingTrunks, SettingDIDs, SettingTimeZone, SettingFeatureCodes,
	SettingGuardMaxFailures, SettingGuardWindow, SettingGuardBanTime, SettingGuardExtBudget, SettingGuardFloodRequests,
	SettingGuardFloodWindow, SettingGuardFloodBanTime, SettingGuardExempt, SettingGuardScanners,
	SettingDigestAlgorithms, SettingDigestMD5Only, // and the mail settings:
	SettingSMTPHost, SettingSMTPPort, SettingSMTPSecurity, SettingSMTPUser, SettingSMTPPassword, SettingMailFrom,
	SettingInviteTTL, // and the park settings (park.go):
	SettingParkOrbits, SettingParkTimeout, SettingParkMOH, SettingQueuePrompts}

// SIPSettings are the keys of SettingKeys that configure the SIP guard and
// digest: empty means the built-in default.
var SIPSettings = []string{SettingGuardMaxFailures, SettingGuardWindow, SettingGuardBanTime,
	SettingGuardExtBudget, SettingGuardFloodRequests, SettingGuardFloodWindow, SettingGuardFloodBanTime,
	SettingGuardExempt, SettingGuardScanners, SettingDigestAlgorithms, SettingDigestMD5Only}

// SplitList splits a comma-separated setting into its trimmed, non-empty
// parts.
func SplitList(v string) []string {
	var out []string
	for _, f := range strings.Split(v, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// IsSettingKey reports whether key is one of SettingKeys.
func IsSettingKey(key string) bool { return slices.Contains(SettingKeys, key) }

// SettingDefaults holds the value a key has until it is set.
var SettingDefaults = map[string]string{
	SettingDomain:         "switchboard.local",
	SettingDefaultCountry: "PL",
	SettingRecording:      "off",
	SettingRetentionDays:  "0",
	SettingTimeZone:       "UTC",
	SettingParkOrbits:     DefaultParkOrbits,
	SettingParkTimeout:    "60",
}

// ValidateSetting checks a value for a key that operators may set.
func ValidateSetting(key, value string) error {
	switch key {
	case SettingDomain:
		if value == "" || len(value) > 253 || strings.ContainsAny(value, " \t\r\n:;@<>\"") {
			return invalid(key, "must be a host name such as pbx.example.com")
		}
	case SettingDefaultCountry:
		if err := ValidateCountry(value); err != nil {
			return invalid(key, "must be a two-letter country code such as PL or VN")
		}
	case SettingDefaultRole:
		if n, err := strconv.ParseInt(value, 10, 64); err != nil || n <= 0 {
			return invalid(key, "must be a role ID")
		}
	case SettingRecording:
		switch value {
		case "off", "all", "selected":
		default:
			return invalid(key, "must be off, all or selected")
		}
	case SettingRecordingUsers, SettingRecordingGroup:
		for _, f := range strings.Split(value, ",") {
			if f = strings.TrimSpace(f); f == "" {
				continue
			}
			if n, err := strconv.ParseInt(f, 10, 64); err != nil || n <= 0 {
				return invalid(key, "must be a comma-separated list of IDs")
			}
		}
	case SettingRetentionDays:
		if n, err := strconv.Atoi(value); err != nil || n < 0 || n > 36500 {
			return invalid(key, "must be a number of days, 0 to keep forever")
		}
	case SettingTrunks:
		_, err := ParseTrunks(value)
		return err
	case SettingDIDs:
		_, err := ParseDIDs(value)
		return err
	case SettingTimeZone:
		return ValidateTimeZone(key, value)
	case SettingFeatureCodes:
		_, err := ParseFeatureCodes(value)
		return err
	case SettingGuardMaxFailures, SettingGuardExtBudget, SettingGuardFloodRequests:
		if value == "" {
			return nil
		}
		if n, err := strconv.Atoi(value); err != nil || n < 1 || n > 1000000 {
			return invalid(key, "must be a whole number from 1 to 1000000")
		}
	case SettingGuardWindow, SettingGuardBanTime, SettingGuardFloodWindow, SettingGuardFloodBanTime:
		if value == "" {
			return nil
		}
		min := time.Second
		if key == SettingGuardFloodWindow {
			min = 10 * time.Millisecond
		}
		if d, err := time.ParseDuration(value); err != nil || d < min || d > 30*24*time.Hour {
			return invalid(key, "must be a duration such as 90s, 10m or 1h, at least "+min.String())
		}
	case SettingGuardExempt:
		if strings.EqualFold(strings.TrimSpace(value), "none") {
			return nil
		}
		for _, f := range SplitList(value) {
			if _, err := netip.ParsePrefix(f); err != nil {
				if _, err := netip.ParseAddr(f); err != nil {
					return invalid(key, "must be CIDR networks such as 192.168.1.0/24, comma-separated")
				}
			}
		}
	case SettingGuardScanners, SettingDigestMD5Only:
		for _, f := range SplitList(value) {
			if len(f) > 100 || strings.ContainsAny(f, "\r\n") {
				return invalid(key, "must be User-Agent parts of at most 100 characters, comma-separated")
			}
		}
	case SettingDigestAlgorithms:
		if value == "" {
			return nil
		}
		seen := map[string]bool{}
		for _, f := range SplitList(value) {
			f = strings.ToUpper(f)
			if (f != "SHA-256" && f != "MD5") || seen[f] {
				return invalid(key, "must be SHA-256 and MD5 in the order offered, such as SHA-256,MD5 or MD5")
			}
			seen[f] = true
		}
		if len(seen) == 0 {
			return invalid(key, "must name at least one algorithm")
		}
	case SettingSetupToken:
		return nil
	case SettingNonceKey:
		if len(value) != 64 || strings.Trim(value, "0123456789abcdef") != "" {
			return invalid(key, "must be 64 lower-case hex digits")
		}
	default:
		if err, ok := validateMailSetting(key, value); ok {
			return err
		}
		if err, ok := validateParkSetting(key, value); ok {
			return err
		}
		return invalid("key", "unknown setting "+strconv.Quote(key))
	}
	return nil
}
