package voicemail

import (
	"context"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/media"
)

// The mailbox menu by phone, after the messages: 8 changes the PIN of
// one's own mailbox (the new PIN and '#', twice). Anything else, or
// nothing within vmMenuWait, hangs up. A group's PIN is changed on the web
// under ivr.control, not from a member's phone.

// vmMenuWait is how long the menu waits for a key.
const vmMenuWait = 4 * time.Second

// vmKeyChangePIN is the menu key that changes the PIN.
const vmKeyChangePIN = '8'

var (
	vmMenu    = media.Concat(media.Tone(520, 120, -12), media.Silence(80), media.Tone(520, 120, -12), media.Silence(80), media.Tone(520, 120, -12))
	vmPINDone = media.Concat(media.Tone(600, 150, -12), media.Tone(800, 150, -12), media.Tone(1100, 250, -12))
)

// menu offers the PIN change on one's own mailbox.
func (vs *vmSession) menu(ctx context.Context) {
	if vs.mbox.groupID != 0 || !vs.play(ctx, vmMenu, false) {
		return
	}
	t := time.NewTimer(vmMenuWait)
	defer t.Stop()
	var d rune
	select {
	case d = <-vs.ep.Digits():
	case d = <-vs.info:
	case <-t.C:
		return
	case <-ctx.Done():
		return
	}
	if d == vmKeyChangePIN {
		vs.changePIN(ctx)
	}
}

// changePIN reads the new PIN twice and stores it when both agree and it
// is 4 to 12 digits; the caller hears a rising chord, or the wrong-PIN
// tone and nothing changes.
func (vs *vmSession) changePIN(ctx context.Context) {
	var pins [2]string
	for i := range pins {
		if !vs.play(ctx, vmPrompt, false) {
			return
		}
		p, ok := vs.readPIN(ctx)
		if !ok {
			return
		}
		pins[i] = p
	}
	if pins[0] != pins[1] || !directory.ValidPIN(pins[0]) {
		vs.log.Info("voicemail: new pin refused", "why", map[bool]string{true: "not 4 to 12 digits", false: "the two differ"}[pins[0] == pins[1]])
		vs.play(ctx, vmWrong, false)
		return
	}
	if err := vs.storePIN(pins[0]); err != nil {
		vs.log.Warn("voicemail: new pin not stored", "err", err)
		vs.play(ctx, vmWrong, false)
		return
	}
	vs.log.Info("voicemail: pin changed by phone")
	vs.play(ctx, vmPINDone, false)
}

// storePIN writes the new PIN's hash to the caller's mailbox and audits
// it.
func (vs *vmSession) storePIN(pin string) error {
	h, err := directory.HashPIN(pin)
	if err != nil {
		return err
	}
	s := vs.b
	ctx, cancel := context.WithTimeout(context.Background(), s.StoreTimeout)
	defer cancel()
	m, err := s.Store.Mailbox(ctx, vs.mbox.userID, 0)
	if err != nil {
		return err
	}
	m.PINHash = h
	if err := s.Store.SetMailbox(ctx, m); err != nil {
		return err
	}
	vs.pin = h
	s.Audit(ctx, vs.user, "voicemail.mailbox", vs.mbox.object(), "pin changed by phone")
	return nil
}
