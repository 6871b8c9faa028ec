package web

import (
	"context"
	"crypto/tls"
	"net/mail"
	"strconv"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
	mailer "github.com/switchboard-pbx/switchboard/mail"
)

// MailConfig is the part of the SMTP settings a node's flags may set: a
// non-empty field wins over the stored setting of the same name (the
// password too, so that it can stay out of the database).
type MailConfig struct {
	Host, Port, Security, User, Password, From string
	// TLS, when not nil, replaces the system's roots for STARTTLS and TLS
	// (tests).
	TLS *tls.Config
}

// mailConfig reads the SMTP settings and the node's overrides.
func (s *Server) mailConfig(ctx context.Context) (mailer.Config, error) {
	vals, err := s.store.Settings(ctx)
	if err != nil {
		return mailer.Config{}, err
	}
	get := func(key, flag string) string {
		if flag != "" {
			return flag
		}
		return vals[key]
	}
	f := s.cfg.Mail
	c := mailer.Config{Host: get(directory.SettingSMTPHost, f.Host), User: get(directory.SettingSMTPUser, f.User),
		Password: get(directory.SettingSMTPPassword, f.Password), From: get(directory.SettingMailFrom, f.From),
		Security: mailer.Security(get(directory.SettingSMTPSecurity, f.Security)), Timeout: 20 * time.Second}
	if c.Security == "" {
		c.Security = mailer.SecuritySTARTTLS
	}
	c.Port, _ = strconv.Atoi(get(directory.SettingSMTPPort, f.Port))
	if f.TLS != nil {
		c.TLS = f.TLS
	}
	return c, nil
}

// sendMail sends one plain-text mail through the configured server.
func (s *Server) sendMail(ctx context.Context, to mail.Address, lang, subject, body string) error {
	c, err := s.mailConfig(ctx)
	if err != nil {
		return err
	}
	if !c.Configured() {
		return &directory.InvalidError{Field: "mail", Rule: "no SMTP server is set up; set one under Settings → E-mail"}
	}
	return mailer.Send(ctx, c, mailer.Message{To: to, Subject: subject, Body: body, Lang: lang})
}
