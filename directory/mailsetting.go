package directory

import (
	"net/mail"
	"strconv"
	"strings"
	"time"
)

// The mail settings: the SMTP server invitations and test mails go
// through. The password is write-only: RedactSetting shows whether it is
// set, never its value.
const (
	SettingSMTPHost     = "mail.smtp.host"
	SettingSMTPPort     = "mail.smtp.port"     // empty: 25, 587 or 465 by security
	SettingSMTPSecurity = "mail.smtp.security" // none | starttls | tls
	SettingSMTPUser     = "mail.smtp.user"     // empty: no authentication
	SettingSMTPPassword = "mail.smtp.password"
	SettingMailFrom     = "mail.from"        // "PBX <pbx@example.com>"
	SettingInviteTTL    = "users.invite_ttl" // how long an invitation link works: 7d, 48h, ...
)

// MailSettings lists the mail keys in the order forms show them.
var MailSettings = []string{SettingSMTPHost, SettingSMTPPort, SettingSMTPSecurity, SettingSMTPUser,
	SettingSMTPPassword, SettingMailFrom, SettingInviteTTL}

// PasswordSet is what RedactSetting shows for a write-only password that is set.
const PasswordSet = "(set)"

// validateMailSetting checks a mail key's value; ok is false for other keys.
func validateMailSetting(key, value string) (err error, ok bool) {
	switch key {
	case SettingSMTPHost:
		if len(value) > 253 || strings.ContainsAny(value, " \t\r\n/@:") {
			return invalid(key, "must be a host name such as smtp.example.com"), true
		}
	case SettingSMTPPort:
		if value == "" {
			return nil, true
		}
		if n, err := strconv.Atoi(value); err != nil || n < 1 || n > 65535 {
			return invalid(key, "must be a port from 1 to 65535, or empty for the usual one"), true
		}
	case SettingSMTPSecurity:
		switch value {
		case "", "none", "starttls", "tls":
		default:
			return invalid(key, "must be none, starttls or tls"), true
		}
	case SettingSMTPUser, SettingSMTPPassword:
		if len(value) > 256 || strings.ContainsAny(value, "\r\n\x00") {
			return invalid(key, "must be one line of at most 256 characters"), true
		}
	case SettingMailFrom:
		if value == "" {
			return nil, true
		}
		if a, err := mail.ParseAddress(value); err != nil || !strings.Contains(a.Address, "@") {
			return invalid(key, "must be an address such as pbx@example.com or PBX <pbx@example.com>"), true
		}
	case SettingInviteTTL:
		if _, err := ParseInviteTTL(value); err != nil {
			return err, true
		}
	default:
		return nil, false
	}
	return nil, true
}

// ParseInviteTTL reads the users.invite_ttl setting: days ("7d") or a
// duration ("48h"), from 10 minutes to 90 days; empty is DefaultInviteTTL.
func ParseInviteTTL(v string) (time.Duration, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return DefaultInviteTTL, nil
	}
	var d time.Duration
	if days, ok := strings.CutSuffix(v, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil {
			return 0, invalid(SettingInviteTTL, "must be days such as 7d or a duration such as 48h")
		}
		d = time.Duration(n) * 24 * time.Hour
	} else {
		var err error
		if d, err = time.ParseDuration(v); err != nil {
			return 0, invalid(SettingInviteTTL, "must be days such as 7d or a duration such as 48h")
		}
	}
	if d < 10*time.Minute || d > 90*24*time.Hour {
		return 0, invalid(SettingInviteTTL, "must be from 10m to 90d")
	}
	return d, nil
}

// redactMail hides the SMTP password.
func redactMail(key, value string) (string, bool) {
	if key != SettingSMTPPassword {
		return value, false
	}
	if value == "" {
		return "", true
	}
	return PasswordSet, true
}
