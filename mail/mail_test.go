package mail_test

import (
	"context"
	"io"
	"mime"
	"mime/quotedprintable"
	netmail "net/mail"
	"strings"
	"testing"

	"github.com/switchboard-pbx/switchboard/internal/smtptest"
	"github.com/switchboard-pbx/switchboard/mail"
)

// TestMailSend sends through a real SMTP server (aiosmtpd) on loopback, in
// each security mode, and reads back what it received: Vietnamese and
// Polish names and subjects encoded in the headers, a UTF-8 body.
func TestMailSend(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    smtptest.Options
		sec  mail.Security
	}{
		{"plain", smtptest.Options{}, mail.SecurityNone},
		{"starttls with auth", smtptest.Options{STARTTLS: true, User: "pbx", Password: "s3cret pass"}, mail.SecuritySTARTTLS},
		{"tls with auth", smtptest.Options{TLS: true, User: "pbx", Password: "s3cret pass"}, mail.SecurityTLS},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := smtptest.Start(t, tc.o)
			c := mail.Config{Host: srv.Host, Port: srv.Port, Security: tc.sec, User: tc.o.User, Password: tc.o.Password,
				From: "Tổng đài Łódź <pbx@example.com>"}
			if tc.sec != mail.SecurityNone {
				c.TLS = srv.TLSConfig()
			}
			m := mail.Message{To: netmail.Address{Name: "Trần Thị Ánh", Address: "anh@example.vn"},
				Subject: "Mời đồng nghiệp: Łukasz Żółć", Body: "Xin chào Ánh,\nĐặt mật khẩu: https://pbx.example.com/invite/x\n", Lang: "vi"}
			if err := mail.Send(t.Context(), c, m); err != nil {
				t.Fatal(err)
			}
			got := srv.Wait(t, 1)[0]
			if got.From != "pbx@example.com" || got.To != "anh@example.vn" {
				t.Errorf("envelope %s → %s", got.From, got.To)
			}
			if got.TLS != (tc.sec != mail.SecurityNone) {
				t.Errorf("TLS %v", got.TLS)
			}
			if got.AuthUser != tc.o.User {
				t.Errorf("authenticated as %q, want %q", got.AuthUser, tc.o.User)
			}
			var dec mime.WordDecoder
			subj, err := dec.DecodeHeader(got.Header.Get("Subject"))
			if err != nil || subj != m.Subject {
				t.Errorf("subject %q (%v), want %q", subj, err, m.Subject)
			}
			for _, h := range []string{"Subject", "To", "From"} {
				if v := got.Header.Get(h); strings.ContainsFunc(v, func(r rune) bool { return r > 127 }) {
					t.Errorf("%s header not encoded: %q", h, v)
				}
			}
			to, err := got.Header.AddressList("To")
			if err != nil || len(to) != 1 || to[0].Name != "Trần Thị Ánh" {
				t.Errorf("To %v (%v)", to, err)
			}
			from, err := got.Header.AddressList("From")
			if err != nil || len(from) != 1 || from[0].Name != "Tổng đài Łódź" {
				t.Errorf("From %v (%v)", from, err)
			}
			body, _ := io.ReadAll(quotedprintable.NewReader(strings.NewReader(got.Body)))
			if want := strings.ReplaceAll(m.Body, "\n", "\r\n"); string(body) != want {
				t.Errorf("body %q, want %q", body, want)
			}
			if got.Header.Get("Content-Language") != "vi" || !strings.Contains(got.Header.Get("Content-Type"), "utf-8") {
				t.Errorf("headers %v", got.Header)
			}
		})
	}
}

// TestMailRefusals: a wrong password, a server without STARTTLS when it is
// asked for, an untrusted certificate, no server at all: each an error
// naming the reason, and nothing delivered.
func TestMailRefusals(t *testing.T) {
	auth := smtptest.Start(t, smtptest.Options{STARTTLS: true, User: "pbx", Password: "right"})
	plain := smtptest.Start(t, smtptest.Options{})
	to := mail.Message{To: netmail.Address{Address: "a@example.com"}, Subject: "x", Body: "x"}
	for _, tc := range []struct {
		name string
		c    mail.Config
		want string
	}{
		{"wrong password", mail.Config{Host: auth.Host, Port: auth.Port, Security: mail.SecuritySTARTTLS, User: "pbx",
			Password: "wrong", From: "pbx@example.com", TLS: auth.TLSConfig()}, "authentication"},
		{"untrusted certificate", mail.Config{Host: auth.Host, Port: auth.Port, Security: mail.SecuritySTARTTLS, User: "pbx",
			Password: "right", From: "pbx@example.com"}, "certificate"},
		{"no STARTTLS offered", mail.Config{Host: plain.Host, Port: plain.Port, Security: mail.SecuritySTARTTLS,
			From: "pbx@example.com"}, "STARTTLS"},
		{"not configured", mail.Config{}, "no SMTP server"},
		{"bad from", mail.Config{Host: plain.Host, Port: plain.Port, From: "not an address"}, "from address"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := mail.Send(t.Context(), tc.c, to)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one about %q", err, tc.want)
			}
		})
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := mail.Send(ctx, mail.Config{Host: plain.Host, Port: plain.Port, From: "pbx@example.com"}, to); err == nil {
		t.Error("sent with a cancelled context")
	}
	if n := auth.Count() + plain.Count(); n != 0 {
		t.Errorf("%d mails delivered by refused sends", n)
	}
}
