package directory

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// IVRMenu is an auto attendant menu: a number in the dial
// plan, like a user's or a group's extension and unique with them, that
// the PBX answers itself. It plays the greeting and waits for a digit
// (RFC 4733 or SIP INFO); each digit of Options sends the caller on, as if
// they had dialed the option's target. No digit within DigitTimeout, or a
// digit no option has, plays the greeting again, up to MaxTries times;
// after that the TimeoutAction or the InvalidAction is taken.
type IVRMenu struct {
	ID     int64
	Number string // in the extensions' number space (ValidateExtension)
	Name   string
	// Greeting is the path of the greeting WAV (8 kHz 16-bit mono);
	// "": a short tone.
	Greeting      string
	DigitTimeout  int // seconds to wait for a digit after the greeting
	MaxTries      int // greetings played before the timeout or invalid action
	Options       []IVROption
	TimeoutAction IVRAction
	TimeoutTarget string
	InvalidAction IVRAction
	InvalidTarget string
	CreatedAt     time.Time
}

// IVRAction is what a menu option does.
type IVRAction string

// Menu actions. The ones with a target continue the call to that number:
// an extension, a group's number, a queue's number, another menu, or the
// voicemail of a user or group. DialByExtension collects an extension
// from the caller's digits (ended by # or a pause) and rings it.
const (
	IVRExtension       IVRAction = "extension"
	IVRGroup           IVRAction = "group"
	IVRQueue           IVRAction = "queue"
	IVRMenuAction      IVRAction = "menu"
	IVRVoicemail       IVRAction = "voicemail"
	IVRDialByExtension IVRAction = "dial_by_extension"
	IVRHangup          IVRAction = "hangup"
)

// IVRActions lists the actions in the order a form shows them.
var IVRActions = []IVRAction{IVRExtension, IVRGroup, IVRQueue, IVRMenuAction, IVRVoicemail, IVRDialByExtension, IVRHangup}

// NeedsTarget reports whether a takes a target number.
func (a IVRAction) NeedsTarget() bool { return a != IVRDialByExtension && a != IVRHangup }

func (a IVRAction) valid() bool {
	for _, x := range IVRActions {
		if a == x {
			return true
		}
	}
	return false
}

// IVROption is one digit of a menu.
type IVROption struct {
	Digit  string    `json:"digit"` // 0-9, * or #
	Action IVRAction `json:"action"`
	Target string    `json:"target,omitempty"`
}

// Menu limits and defaults.
const (
	DefaultIVRDigitTimeout = 5
	MaxIVRDigitTimeout     = 30
	DefaultIVRTries        = 3
	MaxIVRTries            = 10
)

// Option returns the option of digit d.
func (m *IVRMenu) Option(d string) (IVROption, bool) {
	for _, o := range m.Options {
		if o.Digit == d {
			return o, true
		}
	}
	return IVROption{}, false
}

// Validate normalizes and checks m: number, name, limits (0 takes the
// default), options (one per digit) and the timeout and invalid actions
// (hangup when not set).
func (m *IVRMenu) Validate() error {
	var errs fieldErrors
	m.Number = strings.TrimSpace(m.Number)
	errs.add(ValidateExtension("number", m.Number))
	m.Name = strings.TrimSpace(m.Name)
	switch {
	case m.Name == "":
		errs.add(invalid("name", "is required"))
	case utf8.RuneCountInString(m.Name) > 100:
		errs.add(invalid("name", "must be at most 100 characters"))
	}
	if m.DigitTimeout == 0 {
		m.DigitTimeout = DefaultIVRDigitTimeout
	}
	if m.DigitTimeout < 1 || m.DigitTimeout > MaxIVRDigitTimeout {
		errs.add(invalid("digit_timeout", fmt.Sprintf("must be 1 to %d seconds", MaxIVRDigitTimeout)))
	}
	if m.MaxTries == 0 {
		m.MaxTries = DefaultIVRTries
	}
	if m.MaxTries < 1 || m.MaxTries > MaxIVRTries {
		errs.add(invalid("max_tries", fmt.Sprintf("must be 1 to %d", MaxIVRTries)))
	}
	seen := map[string]bool{}
	for i := range m.Options {
		o := &m.Options[i]
		o.Digit = strings.TrimSpace(o.Digit)
		field := "options"
		if len(o.Digit) != 1 || !strings.Contains("0123456789*#", o.Digit) {
			errs.add(invalid(field, fmt.Sprintf("digit %q: must be one of 0-9, * and #", o.Digit)))
			continue
		}
		if seen[o.Digit] {
			errs.add(invalid(field, fmt.Sprintf("digit %s: more than one option", o.Digit)))
			continue
		}
		seen[o.Digit] = true
		if err := checkIVRAction(o.Action, &o.Target, m.Number); err != nil {
			errs.add(invalid(field, "digit "+o.Digit+": "+err.Error()))
		}
	}
	for _, a := range []struct {
		field  string
		action *IVRAction
		target *string
	}{{"timeout_action", &m.TimeoutAction, &m.TimeoutTarget}, {"invalid_action", &m.InvalidAction, &m.InvalidTarget}} {
		if *a.action == "" {
			*a.action = IVRHangup
		}
		if err := checkIVRAction(*a.action, a.target, m.Number); err != nil {
			errs.add(invalid(a.field, err.Error()))
		}
	}
	return errs.err()
}

// checkIVRAction checks an action and its target, and clears the target
// of an action that takes none.
func checkIVRAction(a IVRAction, target *string, self string) error {
	if !a.valid() {
		return fmt.Errorf("unknown action %q", a)
	}
	*target = strings.TrimSpace(*target)
	if !a.NeedsTarget() {
		*target = ""
		return nil
	}
	if ValidateExtension("target", *target) != nil {
		return fmt.Errorf("%s needs a target number of 5 or 6 digits", a)
	}
	if a == IVRMenuAction && *target == self {
		return fmt.Errorf("a menu cannot lead to itself")
	}
	return nil
}

// IVRStore keeps the auto attendant's menus. A menu's number is taken in
// the same number space as users' and groups' extensions:
// ErrExtensionTaken when it is in use, and a user or group cannot take a
// menu's number either.
type IVRStore interface {
	// CreateIVRMenu stores m after IVRMenu.Validate and sets m.ID and
	// m.CreatedAt.
	CreateIVRMenu(ctx context.Context, m *IVRMenu) error
	IVRMenu(ctx context.Context, id int64) (*IVRMenu, error)
	// IVRMenuByNumber returns the menu of a number; ErrNotFound when the
	// number is not a menu's.
	IVRMenuByNumber(ctx context.Context, number string) (*IVRMenu, error)
	// IVRMenus lists every menu by number.
	IVRMenus(ctx context.Context) ([]IVRMenu, error)
	// UpdateIVRMenu writes every field of m.ID but its creation time.
	UpdateIVRMenu(ctx context.Context, m *IVRMenu) error
	DeleteIVRMenu(ctx context.Context, id int64) error
}
