package voicemail

import (
	"context"
	"fmt"
	netmail "net/mail"
	"os"
	"strconv"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/mail"
)

// mailMaxWAV is the largest message sent by e-mail: about 10 minutes of
// 8 kHz mono, under most servers' 25 MB limit once in base64.
const mailMaxWAV = 10 << 20

// mail sends a copy of a message to its owner's e-mail through
// the SMTP settings, the WAV attached; a group's message goes to each
// member who may hear the group's mailbox (groupMailRecipients). Nothing is sent when no SMTP server
// is set up; a failure is logged (the message stays in the mailbox).
func (vm *Service) mail(v directory.Voicemail) {
	s := vm.Core
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	log := s.Log.With("voicemail_id", v.ID, "user_id", v.UserID, "group_id", v.GroupID)
	vals, err := s.Store.Settings(ctx)
	if err != nil {
		log.Warn("voicemail e-mail not sent: settings unknown", "err", err)
		return
	}
	c := mail.Config{Host: vals[directory.SettingSMTPHost], User: vals[directory.SettingSMTPUser],
		Password: vals[directory.SettingSMTPPassword], From: vals[directory.SettingMailFrom],
		Security: mail.Security(vals[directory.SettingSMTPSecurity]), Timeout: 30 * time.Second}
	if c.Security == "" {
		c.Security = mail.SecuritySTARTTLS
	}
	c.Port, _ = strconv.Atoi(vals[directory.SettingSMTPPort])
	if !c.Configured() {
		log.Info("voicemail e-mail not sent: no SMTP server is set up")
		return
	}
	var to []*directory.User
	if v.GroupID != 0 {
		to, err = vm.groupMailRecipients(ctx, v.GroupID)
	} else {
		var u *directory.User
		u, err = s.Store.User(ctx, v.UserID)
		to = []*directory.User{u}
	}
	if err != nil {
		log.Warn("voicemail e-mail not sent: owner unknown", "err", err)
		return
	}
	data, err := os.ReadFile(v.Path)
	if err != nil || len(data) > mailMaxWAV {
		log.Warn("voicemail e-mail not sent: file", "path", v.Path, "size", len(data), "err", err)
		return
	}
	for _, u := range to {
		vm.mailTo(ctx, c, v, u, data)
	}
}

// mailTo sends the copy of v (its WAV in data) to u.
func (vm *Service) mailTo(ctx context.Context, c mail.Config, v directory.Voicemail, u *directory.User, data []byte) {
	s := vm.Core
	log := s.Log.With("voicemail_id", v.ID, "user_id", v.UserID, "group_id", v.GroupID, "to_user_id", u.ID)
	caller := v.Caller
	if caller == "" {
		caller = "an unknown number"
	}
	secs := int(v.Duration.Round(time.Second) / time.Second)
	whom := "you"
	if v.GroupID != 0 {
		whom = "your group"
	}
	m := mail.Message{To: netmail.Address{Name: u.Name, Address: u.Email},
		Subject: fmt.Sprintf("Voicemail from %s (%d:%02d)", caller, secs/60, secs%60),
		Body: fmt.Sprintf("%s left %s a voicemail of %d:%02d at %s (UTC).\nThe recording is attached.\n",
			caller, whom, secs/60, secs%60, v.StartedAt.UTC().Format("2006-01-02 15:04")),
		Lang:        u.Language,
		Attachments: []mail.Attachment{{Name: "voicemail-" + strconv.FormatInt(v.ID, 10) + ".wav", ContentType: "audio/wav", Data: data}}}
	if err := mail.Send(ctx, c, m); err != nil {
		log.Warn("voicemail e-mail not sent", "err", err)
		return
	}
	log.Info("voicemail sent by e-mail")
}
