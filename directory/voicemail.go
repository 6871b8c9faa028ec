package directory

import (
	"context"
	"time"
)

// Mailbox is the voicemail setting of a user or of a group (exactly one
// of UserID and GroupID is set): calls not answered go to it when it is
// enabled. The PIN that opens it from a phone is kept only as an argon2id
// hash (HashPIN), like a password.
type Mailbox struct {
	UserID, GroupID int64
	Enabled         bool
	PINHash         string // HashPIN; "" when no PIN is set (no retrieval by phone)
	Greeting        string // path of the recorded greeting WAV; "": the built-in one
	ToEmail         bool   // send a copy of each message to the owner's e-mail
	MaxSeconds      int    // longest message; 0: DefaultVoicemailSeconds
	UpdatedAt       time.Time
}

// DefaultVoicemailSeconds is a message's length limit when the mailbox
// sets none.
const DefaultVoicemailSeconds = 120

// MaxVoicemailSeconds is the most a mailbox may allow.
const MaxVoicemailSeconds = 600

// Check applies the rules of SetMailbox.
func (m *Mailbox) Check() error {
	if (m.UserID == 0) == (m.GroupID == 0) {
		return invalid("owner", "exactly one of user and group")
	}
	if m.MaxSeconds < 0 || m.MaxSeconds > MaxVoicemailSeconds {
		return invalid("max_seconds", "out of range")
	}
	return nil
}

// HashPIN returns the argon2id hash of a voicemail PIN (digits only, 4 to
// 12 of them).
func HashPIN(pin string) (string, error) {
	if !ValidPIN(pin) {
		return "", invalid("pin", "4 to 12 digits")
	}
	return HashPassword(Password(pin))
}

// CheckPIN reports whether pin matches hash (from HashPIN).
func CheckPIN(hash, pin string) bool {
	return hash != "" && ValidPIN(pin) && CheckPassword(hash, Password(pin))
}

// ValidPIN reports whether pin is 4 to 12 digits.
func ValidPIN(pin string) bool {
	if len(pin) < 4 || len(pin) > 12 {
		return false
	}
	for _, c := range pin {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// Voicemail is one message left in a mailbox: its WAV file (mono, 8 kHz)
// and what is known of it.
type Voicemail struct {
	ID              int64
	UserID, GroupID int64  // the mailbox's owner
	Caller          string // the caller's number as presented; "" when withheld
	StartedAt       time.Time
	Duration        time.Duration
	Path            string
	SHA256          string
	Heard           bool
}

// Check applies the rules of CreateVoicemail.
func (v *Voicemail) Check() error {
	if (v.UserID == 0) == (v.GroupID == 0) {
		return invalid("owner", "exactly one of user and group")
	}
	if v.Path == "" {
		return invalid("path", "required")
	}
	if v.Duration < 0 {
		return invalid("duration", "negative")
	}
	return nil
}

// VoicemailFilter selects messages, newest first.
type VoicemailFilter struct {
	UserID, GroupID int64 // one mailbox's; both 0: any
	Unheard         bool  // only those not heard yet
	Vis             Visibility
	Page            Page
}

// VoicemailCount is how many messages a mailbox holds.
type VoicemailCount struct{ New, Old int }

// VoicemailStore keeps mailboxes and their messages.
type VoicemailStore interface {
	// Mailbox returns the mailbox of a user (userID) or a group; a
	// disabled zero Mailbox with that owner when none was ever set.
	Mailbox(ctx context.Context, userID, groupID int64) (*Mailbox, error)
	// SetMailbox writes m after Mailbox.Check; an owner that does not
	// exist is an *InvalidError on owner.
	SetMailbox(ctx context.Context, m *Mailbox) error
	// CreateVoicemail stores v after Voicemail.Check and sets v.ID.
	CreateVoicemail(ctx context.Context, v *Voicemail) error
	Voicemail(ctx context.Context, id int64) (*Voicemail, error)
	Voicemails(ctx context.Context, f VoicemailFilter) ([]Voicemail, error)
	CountVoicemails(ctx context.Context, userID, groupID int64) (VoicemailCount, error)
	SetVoicemailHeard(ctx context.Context, id int64, heard bool) error
	DeleteVoicemail(ctx context.Context, id int64) error
}

// ErrUnknownMailboxOwner is what the stores say of a mailbox or message
// whose user or group does not exist.
var ErrUnknownMailboxOwner error = &InvalidError{Field: "owner", Rule: "unknown user or group"}
