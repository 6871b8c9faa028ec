package directory

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// TrunkSetting is one SIP trunk to a carrier, as kept in the trunks setting
// (a JSON array). The password is stored as given, because the PBX must
// answer the carrier's digest challenges with it; whatever shows a setting
// to a person passes it through RedactSetting first, and forms treat the
// password as write-only (KeepTrunkPasswords).
type TrunkSetting struct {
	Name      string   `json:"name"`
	Host      string   `json:"host"`
	Port      int      `json:"port,omitempty"`      // default 5060
	Transport string   `json:"transport,omitempty"` // UDP (default), TCP or TLS
	Username  string   `json:"username,omitempty"`
	Password  Password `json:"password,omitempty"`
	Register  bool     `json:"register,omitempty"`  // register to the carrier
	CallerID  string   `json:"caller_id,omitempty"` // E.164, the company number on this trunk
	// Caller identity on the trunk (RFC 3325, 3323, 5806, 7044); each
	// value is one of the Identity constants, "" the default.
	FromUser  string `json:"from_user,omitempty"` // From user: user (default), company or trunk
	PAI       string `json:"pai,omitempty"`       // P-Asserted-Identity: none (default), user, company or trunk
	Privacy   string `json:"privacy,omitempty"`   // Privacy: hidden (default: only for hidden numbers) or always
	Diversion string `json:"diversion,omitempty"` // forwarded calls: none (default), diversion or history-info
	// Prefixes are the E.164 prefixes ("+48", "+8424") of the numbers the
	// trunk serves; none: every number. Outbound calls try the trunks whose
	// longest matching prefix is longest first, then those without
	// prefixes, each group in the order of the setting, and fail over to
	// the next on a timeout or a 5xx.
	Prefixes []string `json:"prefixes,omitempty"`
	// PasswordSet is only ever written by RedactSetting, in place of the
	// password; it is ignored when a value is parsed.
	PasswordSet bool `json:"password_set,omitempty"`
}

// ParseTrunks decodes and validates the trunks setting. An empty value is
// no trunks.
func ParseTrunks(value string) ([]TrunkSetting, error) {
	ts, err := decodeTrunks(value)
	if err != nil || ts == nil {
		return nil, err
	}
	var errs fieldErrors
	names := map[string]bool{}
	for i := range ts {
		t := &ts[i]
		t.PasswordSet = false
		f := fmt.Sprintf("%s[%d].", SettingTrunks, i)
		t.Name = strings.TrimSpace(t.Name)
		t.Host = strings.TrimSpace(t.Host)
		t.Transport = strings.ToUpper(strings.TrimSpace(t.Transport))
		switch {
		case t.Name == "":
			errs.add(invalid(f+"name", "is required"))
		case len(t.Name) > 64 || strings.ContainsAny(t.Name, "\t\r\n"):
			errs.add(invalid(f+"name", "must be a short name on one line"))
		case names[t.Name]:
			errs.add(invalid(f+"name", "is used by another trunk"))
		}
		names[t.Name] = true
		switch {
		case t.Host == "":
			errs.add(invalid(f+"host", "is required"))
		case len(t.Host) > 253 || strings.ContainsAny(t.Host, " \t\r\n;@<>\"/"):
			errs.add(invalid(f+"host", "must be a host name or IP address"))
		}
		if t.Port < 0 || t.Port > 65535 {
			errs.add(invalid(f+"port", "must be a port number up to 65535"))
		}
		if t.Transport != "" && t.Transport != "UDP" && t.Transport != "TCP" && t.Transport != "TLS" {
			errs.add(invalid(f+"transport", "must be UDP, TCP or TLS"))
		}
		if strings.ContainsAny(t.Username, " \t\r\n\"@:;<>") {
			errs.add(invalid(f+"username", "must not contain spaces or SIP separators"))
		}
		if strings.ContainsAny(string(t.Password), "\r\n") {
			errs.add(invalid(f+"password", "must be on one line"))
		}
		if t.Register && (t.Username == "" || t.Password == "") {
			errs.add(invalid(f+"register", "needs a username and a password"))
		}
		if t.CallerID != "" && !IsE164(t.CallerID) {
			errs.add(invalid(f+"caller_id", "must be an E.164 number such as +48221234567"))
		}
		t.validateIdentity(f, &errs)
		if len(t.Prefixes) > MaxTrunkPrefixes {
			errs.add(invalid(f+"prefixes", fmt.Sprintf("must be at most %d prefixes", MaxTrunkPrefixes)))
		}
		for j := range t.Prefixes {
			t.Prefixes[j] = strings.TrimSpace(t.Prefixes[j])
			if !IsTrunkPrefix(t.Prefixes[j]) {
				errs.add(invalid(fmt.Sprintf("%sprefixes[%d]", f, j), "must be + and 1 to 15 digits, such as +48"))
			}
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return ts, nil
}

// The identity a trunk presents: whose number goes in the From user and
// in P-Asserted-Identity.
const (
	IdentityUser    = "user"    // the caller's outbound caller ID, else the company number, else the extension
	IdentityCompany = "company" // the trunk's caller_id, the company number
	IdentityTrunk   = "trunk"   // the trunk's username, the account the carrier knows
	IdentityNone    = "none"    // (PAI and Diversion) not sent

	PrivacyHidden = "hidden" // Privacy: id for users who hide their number, nothing for others
	PrivacyAlways = "always" // and Privacy: none for the others

	DiversionHeader      = "diversion"    // RFC 5806
	DiversionHistoryInfo = "history-info" // RFC 7044
)

// ValidateIdentity checks the caller identity options of a trunk and
// normalizes their case.
func (t *TrunkSetting) ValidateIdentity() error {
	var errs fieldErrors
	t.validateIdentity("", &errs)
	return errs.err()
}

// validateIdentity checks the caller identity options of a trunk, named
// under prefix f, into errs.
func (t *TrunkSetting) validateIdentity(f string, errs *fieldErrors) {
	for _, o := range []struct {
		field string
		v     *string
		ok    []string
	}{
		{"from_user", &t.FromUser, []string{IdentityUser, IdentityCompany, IdentityTrunk}},
		{"pai", &t.PAI, []string{IdentityNone, IdentityUser, IdentityCompany, IdentityTrunk}},
		{"privacy", &t.Privacy, []string{PrivacyHidden, PrivacyAlways}},
		{"diversion", &t.Diversion, []string{IdentityNone, DiversionHeader, DiversionHistoryInfo}},
	} {
		*o.v = strings.ToLower(strings.TrimSpace(*o.v))
		switch {
		case *o.v != "" && !slices.Contains(o.ok, *o.v):
			errs.add(invalid(f+o.field, "must be one of "+strings.Join(o.ok, ", ")))
		case *o.v == IdentityCompany && t.CallerID == "":
			errs.add(invalid(f+o.field, "company needs the trunk's caller ID (the company number)"))
		case *o.v == IdentityTrunk && t.Username == "":
			errs.add(invalid(f+o.field, "trunk needs the trunk's username"))
		}
	}
}

// MaxTrunkPrefixes bounds the prefixes of one trunk.
const MaxTrunkPrefixes = 200

// IsTrunkPrefix reports whether p is the start of an E.164 number: a +
// and 1 to 15 digits.
func IsTrunkPrefix(p string) bool {
	d, ok := strings.CutPrefix(p, "+")
	if !ok || d == "" || len(d) > 15 {
		return false
	}
	for _, r := range d {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// decodeTrunks decodes the trunks setting without validating it.
func decodeTrunks(value string) ([]TrunkSetting, error) {
	if strings.TrimSpace(value) == "" {
		return nil, nil
	}
	var ts []TrunkSetting
	d := json.NewDecoder(strings.NewReader(value))
	d.DisallowUnknownFields()
	if err := d.Decode(&ts); err != nil {
		return nil, invalid(SettingTrunks, "must be a JSON array of trunks: "+jsonProblem(err))
	}
	if d.More() {
		return nil, invalid(SettingTrunks, "must be a single JSON array")
	}
	return ts, nil
}

// ParseDIDs decodes and validates the dids setting: a JSON object mapping
// a number dialed from a trunk (E.164, or digits as the carrier sends
// them) to the extension of a user or group. An empty value is no DIDs.
func ParseDIDs(value string) (map[string]string, error) {
	if strings.TrimSpace(value) == "" {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(value), &m); err != nil {
		return nil, invalid(SettingDIDs, "must be a JSON object of number to extension: "+jsonProblem(err))
	}
	nums := make([]string, 0, len(m))
	for n := range m {
		nums = append(nums, n)
	}
	slices.Sort(nums)
	var errs fieldErrors
	for _, n := range nums {
		f := SettingDIDs + "[" + n + "]"
		if !isDIDNumber(n) {
			errs.add(invalid(f, "must be a phone number: digits, optionally after a +"))
			continue
		}
		if ValidateExtension(f, m[n]) != nil {
			errs.add(invalid(f, "must map to the extension of a user or group"))
		}
	}
	if err := errs.err(); err != nil {
		return nil, err
	}
	return m, nil
}

func isDIDNumber(n string) bool {
	d := strings.TrimPrefix(n, "+")
	if d == "" || len(d) > 20 {
		return false
	}
	for _, r := range d {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func jsonProblem(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return "syntax error at byte " + strconv.FormatInt(se.Offset, 10)
	case errors.As(err, &te):
		if te.Field != "" {
			return te.Field + " has the wrong type"
		}
		return "wrong type"
	}
	// Unknown fields and truncated input: the message names no secret.
	return strings.TrimPrefix(err.Error(), "json: ")
}

// RedactSetting returns value as it may be shown to a person or an API
// client: trunk passwords are replaced by password_set, the SMTP
// password by PasswordSet. Other keys come
// back unchanged; an unparsable trunks value comes back empty.
func RedactSetting(key, value string) string {
	if v, ok := redactMail(key, value); ok {
		return v
	}
	if key != SettingTrunks || strings.TrimSpace(value) == "" {
		return value
	}
	ts, err := decodeTrunks(value)
	if err != nil {
		return ""
	}
	for i := range ts {
		ts[i].PasswordSet = ts[i].Password != ""
		ts[i].Password = ""
	}
	return MarshalTrunks(ts)
}

// MarshalTrunks encodes trunks for the trunks setting.
func MarshalTrunks(ts []TrunkSetting) string {
	if ts == nil {
		ts = []TrunkSetting{}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(ts) // plain strings, ints and bools cannot fail
	return strings.TrimSpace(buf.String())
}

// KeepTrunkPasswords makes the password write-only for whoever edits the
// trunks setting from its redacted form: a trunk given without a password
// keeps the one stored for the trunk of the same name in old. It returns
// value unchanged when either cannot be decoded (validation reports it).
func KeepTrunkPasswords(value, old string) string {
	ts, err := decodeTrunks(value)
	if err != nil || len(ts) == 0 {
		return value
	}
	prev, err := decodeTrunks(old)
	if err != nil {
		return value
	}
	for i := range ts {
		ts[i].PasswordSet = false
		if ts[i].Password != "" {
			continue
		}
		for _, p := range prev {
			if strings.TrimSpace(p.Name) == strings.TrimSpace(ts[i].Name) && p.Password != "" {
				ts[i].Password = p.Password
			}
		}
	}
	return MarshalTrunks(ts)
}
