package main

import (
	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/web"
)

// smtpFlags are serve's --smtp-* flags: each given one wins over the stored
// mail setting of the same name on this node (the password can so stay out
// of the database, in SWITCHBOARD_SMTP_PASSWORD).
type smtpFlags struct{ web.MailConfig }

func (f *flagSet) smtpFlags(m *smtpFlags) {
	f.str(&m.Host, "smtp-host", "", "SMTP server for invitations and test mails (default: the stored setting mail.smtp.host)")
	f.str(&m.Port, "smtp-port", "", "SMTP port (default: mail.smtp.port, else 587, 465 or 25 by --smtp-security)")
	f.str(&m.Security, "smtp-security", "", "none, starttls or tls (default: mail.smtp.security, else starttls)")
	f.str(&m.User, "smtp-user", "", "SMTP user (default: mail.smtp.user)")
	f.str(&m.Password, "smtp-password", "", "SMTP password (default: mail.smtp.password); prefer the variable to the flag")
	f.str(&m.From, "smtp-from", "", "sender address of mails, e.g. \"PBX <pbx@example.com>\" (default: mail.from)")
}

// validate checks each given flag as the setting it overrides.
func (m *smtpFlags) validate(field func(name, msg string)) {
	for _, x := range []struct{ flag, key, v string }{
		{"smtp-host", directory.SettingSMTPHost, m.Host}, {"smtp-port", directory.SettingSMTPPort, m.Port},
		{"smtp-security", directory.SettingSMTPSecurity, m.Security}, {"smtp-user", directory.SettingSMTPUser, m.User},
		{"smtp-password", directory.SettingSMTPPassword, m.Password}, {"smtp-from", directory.SettingMailFrom, m.From},
	} {
		if x.v == "" {
			continue
		}
		if err := directory.ValidateSetting(x.key, x.v); err != nil {
			msg := err.Error()
			for _, fe := range directory.Fields(err) {
				msg = fe.Rule
			}
			field(x.flag, msg)
		}
	}
}
