package ivr

import (
	"context"
	"strings"
	"time"

	"github.com/switchboard-pbx/switchboard/directory"
	"github.com/switchboard-pbx/switchboard/media"
)

// The menu script of the auto attendant (ivr.go): it plays a menu's
// greeting on the endpoint that holds leg B, and reads the caller's
// choice from the digits the endpoint hears (RFC 4733) and those SIP INFO
// brings (application/dtmf-relay, the same as mailbox retrieval reads).
// A digit ends the greeting at once. It runs on a goroutine of its own
// and touches no call field: its decision goes to the call as an
// ivrChoice.

var (
	// ivrDefaultGreeting is played by a menu without a greeting of its own.
	ivrDefaultGreeting = media.Concat(media.Tone(523, 200, -12), media.Silence(80), media.Tone(659, 200, -12))
	// ivrInvalidTone follows a digit no option has.
	ivrInvalidTone = media.Tone(300, 400, -10)
	// ivrRingback is what the caller hears while the option's target
	// rings (ITU-T E.180: 425 Hz, 1 s on, 4 s off).
	ivrRingback = media.Concat(media.Tone(425, 1000, -14), media.Silence(4000))
)

// ivrMaxDialed bounds the digits of dial-by-extension.
const ivrMaxDialed = 6

// ivrChoice is what a menu script decided: the action and its target, and
// the digits that chose it (empty for the timeout or invalid action).
type ivrChoice struct {
	sess   *ivrSession
	action directory.IVRAction
	target string
	digits string
	why    string // for the CDR: "1", "timeout", "invalid", "dialed 10002"
}

// ivrScript is one run of a menu.
type ivrScript struct {
	menu     directory.IVRMenu
	greeting *media.Clip
	ep       *media.Endpoint
	info     <-chan rune
	post     func(any) bool
	sess     *ivrSession
}

// digit waits up to d for a digit; ok is false on timeout or the end.
func (s *ivrScript) digit(ctx context.Context, d time.Duration) (rune, bool) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case r := <-s.ep.Digits():
		return r, true
	case r := <-s.info:
		return r, true
	case <-t.C:
	case <-ctx.Done():
	}
	return 0, false
}

// play plays clip; a digit stops it and is returned (ok true). done is
// false when ctx ended.
func (s *ivrScript) play(ctx context.Context, clip *media.Clip) (r rune, ok, done bool) {
	p := s.ep.Play(clip, false)
	defer p.Stop()
	select {
	case <-p.Done():
		return 0, false, true
	case r = <-s.ep.Digits():
		return r, true, true
	case r = <-s.info:
		return r, true, true
	case <-ctx.Done():
		return 0, false, false
	}
}

// run plays the greeting and waits for a choice, MaxTries times, and
// posts what the caller chose.
func (s *ivrScript) run(ctx context.Context) {
	m := &s.menu
	wait := time.Duration(m.DigitTimeout) * time.Second
	for try := 1; ; try++ {
		d, got, alive := s.play(ctx, s.greeting)
		if !alive {
			return
		}
		if !got {
			if d, got = s.digit(ctx, wait); !got && ctx.Err() != nil {
				return
			}
		}
		last := try >= m.MaxTries
		if !got {
			if last {
				s.choose(m.TimeoutAction, m.TimeoutTarget, "", "timeout")
				return
			}
			continue
		}
		opt, ok := m.Option(string(d))
		if ok && opt.Action == directory.IVRDialByExtension {
			ext, alive := s.collect(ctx, wait)
			if !alive {
				return
			}
			if directory.ValidateExtension("extension", ext) == nil {
				s.choose(directory.IVRExtension, ext, string(d)+ext, "dialed "+ext)
				return
			}
			ok = false
		}
		if ok {
			s.choose(opt.Action, opt.Target, string(d), "option "+string(d))
			return
		}
		if last {
			s.choose(m.InvalidAction, m.InvalidTarget, string(d), "invalid")
			return
		}
		if _, _, alive := s.play(ctx, ivrInvalidTone); !alive {
			return
		}
	}
}

// collect reads an extension for dial-by-extension: digits up to '#', a
// pause of wait, or ivrMaxDialed of them.
func (s *ivrScript) collect(ctx context.Context, wait time.Duration) (string, bool) {
	var b strings.Builder
	for b.Len() < ivrMaxDialed {
		d, ok := s.digit(ctx, wait)
		if !ok {
			return b.String(), ctx.Err() == nil
		}
		if d == '#' {
			break
		}
		if d >= '0' && d <= '9' {
			b.WriteRune(d)
		}
	}
	return b.String(), true
}

func (s *ivrScript) choose(a directory.IVRAction, target, digits, why string) {
	s.post(ivrChoice{sess: s.sess, action: a, target: target, digits: digits, why: why})
}
