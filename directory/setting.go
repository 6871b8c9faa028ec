package directory

import (
	"slices"
	"strconv"
	"strings"
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
	// SettingNonceKey is the secret (64 hex digits) the SIP nodes make their
	// digest nonces under, so that a nonce of one node or of a previous
	// run is known to all. Not for operators.
	SettingNonceKey = "sip.nonce_key"
)

// SettingKeys lists the keys operators may read and set.
var SettingKeys = []string{SettingDomain, SettingDefaultCountry, SettingDefaultRole, SettingRecording,
	SettingRecordingUsers, SettingRecordingGroup, SettingRetentionDays, SettingTrunks, SettingDIDs, SettingTimeZone}

// IsSettingKey reports whether key is one of SettingKeys.
func IsSettingKey(key string) bool { return slices.Contains(SettingKeys, key) }

// SettingDefaults holds the value a key has until it is set.
var SettingDefaults = map[string]string{
	SettingDomain:         "switchboard.local",
	SettingDefaultCountry: "PL",
	SettingRecording:      "off",
	SettingRetentionDays:  "0",
	SettingTimeZone:       "UTC",
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
	case SettingSetupToken:
		return nil
	case SettingNonceKey:
		if len(value) != 64 || strings.Trim(value, "0123456789abcdef") != "" {
			return invalid(key, "must be 64 lower-case hex digits")
		}
	default:
		return invalid("key", "unknown setting "+strconv.Quote(key))
	}
	return nil
}
