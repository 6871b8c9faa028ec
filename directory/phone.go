package directory

import (
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// NormalizePhone turns a phone number as people type it ("022 123 45 67",
// "+48 (22) 1234567", "0048221234567") into E.164 ("+48221234567"), reading
// national numbers with the default country (ISO 3166 code such as "PL").
func NormalizePhone(raw, defaultCountry string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", invalid("phone", "is required")
	}
	if len(raw) > 40 {
		return "", invalid("phone", "is too long")
	}
	if strings.HasPrefix(raw, "00") {
		raw = "+" + raw[2:]
	}
	num, err := phonenumbers.Parse(raw, strings.ToUpper(defaultCountry))
	if err != nil || !phonenumbers.IsPossibleNumber(num) {
		return "", invalid("phone", "is not a phone number")
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

// IsE164 reports whether s is already in E.164 form: "+" and 8 to 15 digits.
func IsE164(s string) bool {
	if len(s) < 9 || len(s) > 16 || s[0] != '+' || s[1] == '0' {
		return false
	}
	for i := 1; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ValidateCountry checks a default-country setting (ISO 3166 alpha-2 known to
// the numbering plan, e.g. "PL", "VN").
func ValidateCountry(cc string) error {
	if phonenumbers.GetCountryCodeForRegion(strings.ToUpper(cc)) == 0 {
		return invalid("default_country", "must be a two-letter country code such as PL or VN")
	}
	return nil
}
