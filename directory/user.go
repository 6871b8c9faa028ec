package directory

import (
	"log/slog"
	"net/mail"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// UserState is the life state of an account.
type UserState string

// A blocked user cannot use the web UI or API but keeps SIP; a
// deleted user loses both at once, while history and recordings stay.
const (
	UserActive  UserState = "active"
	UserBlocked UserState = "blocked"
	UserDeleted UserState = "deleted"
)

// Valid reports whether s is one of the known states.
func (s UserState) Valid() bool {
	return s == UserActive || s == UserBlocked || s == UserDeleted
}

// CanLogin reports whether a user in this state may use the web UI and API.
func (s UserState) CanLogin() bool { return s == UserActive }

// CanUseSIP reports whether a user in this state may register and call.
func (s UserState) CanUseSIP() bool { return s == UserActive || s == UserBlocked }

// User is an account: a person with a web login and one SIP extension.
type User struct {
	ID        int64
	Name      string
	Email     string
	Extension string // 5 or 6 digits, 10000–999999, unique across users and groups
	Mobile    string // E.164, optional; used by the "employees" outbound rule
	CallerID  string // E.164, optional outbound caller ID
	// HideNumber hides the user's number from the people they call out
	// by a trunk: an anonymous From and Privacy: id, while
	// P-Asserted-Identity still tells the carrier who calls (RFC 3325).
	HideNumber bool
	Notes      string
	Language   string // UI language: "en", "vi", "pl"; empty means the default
	// TimeZone is the IANA zone times are shown in, such as Europe/Warsaw;
	// empty means the company's (setting web.timezone).
	TimeZone string
	State    UserState

	// PasswordHash is the argon2id hash of the web password (see HashPassword).
	PasswordHash string
	// SIP holds the extension password in the forms digest auth needs.
	SIP SIPSecret

	RoleIDs  []int64
	GroupIDs []int64

	// SIPMaxDevices limits the registered contacts of the extension (0: no
	// limit); SIPAllowedNets, when not empty, lists the CIDR networks its
	// phones may register and call from.
	SIPMaxDevices  int
	SIPAllowedNets []string

	// Forward is the user's call forwarding and Do Not Disturb.
	Forward Forwarding

	CreatedAt time.Time
	UpdatedAt time.Time
}

// NewUser is what it takes to create a user; the plain passwords are hashed
// by the store's caller (see Prepare) and never stored.
type NewUser struct {
	Name        string
	Email       string
	Password    Password // web password; may be empty when set later (setup link)
	Extension   string
	ExtPassword Password
	Mobile      string
	CallerID    string
	HideNumber  bool
	Notes       string
	Language    string
	RoleIDs     []int64 // empty: the default role
	GroupIDs    []int64 // empty: the default group
}

// Password is a plain secret that never prints itself.
type Password string

// LogValue keeps a Password out of logs.
func (Password) LogValue() slog.Value { return slog.StringValue("[hidden]") }

// String keeps a Password out of fmt output.
func (Password) String() string { return "[hidden]" }

// Validate checks the fields of a new user, naming the first broken rule of
// each field; all broken fields are joined.
func (n *NewUser) Validate(policy PasswordPolicy) error {
	var errs fieldErrors
	n.Name = strings.TrimSpace(n.Name)
	n.Email = NormalizeEmail(n.Email)
	errs.add(ValidateName(n.Name))
	errs.add(ValidateEmail(n.Email))
	if n.Password != "" {
		errs.add(policy.Check(string(n.Password), n.Email, n.Name))
	}
	errs.add(ValidateExtension("extension", n.Extension))
	errs.add(ValidateExtPassword(string(n.ExtPassword), n.Extension))
	errs.add(validateOptionalPhone("mobile", n.Mobile))
	errs.add(validateOptionalPhone("caller_id", n.CallerID))
	errs.add(ValidateLanguage(n.Language))
	if utf8.RuneCountInString(n.Notes) > 2000 {
		errs.add(invalid("notes", "must be at most 2000 characters"))
	}
	return errs.err()
}

// ValidateName checks a person's or object's display name.
func ValidateName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return invalid("name", "is required")
	case utf8.RuneCountInString(name) > 200:
		return invalid("name", "must be at most 200 characters")
	case strings.ContainsAny(name, "\x00\r\n"):
		return invalid("name", "must be a single line")
	}
	return nil
}

// NormalizeEmail trims and lower-cases an address; logins compare this form.
func NormalizeEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// ValidateEmail checks an already normalized address.
func ValidateEmail(email string) error {
	if email == "" {
		return invalid("email", "is required")
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || a.Name != "" || len(email) > 254 {
		return invalid("email", "must be an address like name@example.com")
	}
	return nil
}

// ValidateExtension checks an extension number of a user or group.
func ValidateExtension(field, ext string) error {
	if ext == "" {
		return invalid(field, "is required")
	}
	if len(ext) < 5 || len(ext) > 6 || strings.Trim(ext, "0123456789") != "" {
		return invalid(field, "must be 5 or 6 digits between 10000 and 999999")
	}
	n, _ := strconv.Atoi(ext)
	if n < 10000 || ext[0] == '0' {
		return invalid(field, "must be 5 or 6 digits between 10000 and 999999")
	}
	return nil
}

// ValidateExtPassword checks an extension (SIP) password.
func ValidateExtPassword(pw, ext string) error {
	switch {
	case pw == "":
		return invalid("ext_password", "is required")
	case len(pw) < 8:
		return invalid("ext_password", "must be at least 8 characters")
	case len(pw) > 128:
		return invalid("ext_password", "must be at most 128 characters")
	case pw == ext || strings.Contains(pw, ext) && ext != "":
		return invalid("ext_password", "must not contain the extension number")
	case !printableASCII(pw):
		return invalid("ext_password", "must be printable ASCII (desk phones cannot type other characters)")
	}
	return nil
}

// ValidateLanguage accepts the UI languages Switchboard ships.
func ValidateLanguage(lang string) error {
	switch lang {
	case "", "en", "vi", "pl":
		return nil
	}
	return invalid("language", "must be one of en, vi, pl")
}

// ValidateTimeZone checks an IANA time zone name such as Asia/Ho_Chi_Minh
// or Europe/Warsaw: it must be one time.LoadLocation knows (the binary
// embeds the zone database). "Local" is refused, since it means whatever
// machine the server runs on.
func ValidateTimeZone(field, name string) error {
	if name == "" || name == "Local" || len(name) > 64 {
		return invalid(field, "must be a time zone name such as Europe/Warsaw or Asia/Ho_Chi_Minh")
	}
	if _, err := time.LoadLocation(name); err != nil {
		return invalid(field, "must be a time zone name such as Europe/Warsaw or Asia/Ho_Chi_Minh")
	}
	return nil
}

func validateOptionalPhone(field, phone string) error {
	if phone == "" {
		return nil
	}
	if !IsE164(phone) {
		if field == "mobile" {
			return invalid(field, "is not a phone number; type it like +48 600 100 200, or 600 100 200 in the default country")
		}
		return invalid(field, "must be a phone number in international form, like +48221234567")
	}
	return nil
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x21 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// UserPatch changes some fields of a user; nil fields stay as they are.
type UserPatch struct {
	Name       *string
	Email      *string
	Mobile     *string
	CallerID   *string
	HideNumber *bool
	Notes      *string
	Language   *string
	TimeZone   *string
	RoleIDs    *[]int64 // the user's roles from now on; empty is refused (CheckLists)
	GroupIDs   *[]int64 // the user's groups from now on; empty is refused (CheckLists)

	// Call forwarding and Do Not Disturb (see Forwarding); targets are
	// normalized by Validate.
	DND                *bool
	ForwardAlways      *string
	ForwardBusy        *string
	ForwardNoAnswer    *string
	ForwardOffline     *string
	ForwardRingSeconds *int
}

// Validate normalizes and checks the fields the patch sets.
func (p *UserPatch) Validate() error {
	var errs fieldErrors
	if p.Name != nil {
		*p.Name = strings.TrimSpace(*p.Name)
		errs.add(ValidateName(*p.Name))
	}
	if p.Email != nil {
		*p.Email = NormalizeEmail(*p.Email)
		errs.add(ValidateEmail(*p.Email))
	}
	if p.Mobile != nil {
		errs.add(validateOptionalPhone("mobile", *p.Mobile))
	}
	if p.CallerID != nil {
		errs.add(validateOptionalPhone("caller_id", *p.CallerID))
	}
	if p.Language != nil {
		errs.add(ValidateLanguage(*p.Language))
	}
	if p.TimeZone != nil {
		*p.TimeZone = strings.TrimSpace(*p.TimeZone)
		if *p.TimeZone != "" {
			errs.add(ValidateTimeZone("time_zone", *p.TimeZone))
		}
	}
	if p.Notes != nil && utf8.RuneCountInString(*p.Notes) > 2000 {
		errs.add(invalid("notes", "must be at most 2000 characters"))
	}
	p.validateForward(&errs)
	return errs.err()
}

// UserFilter selects users for a list.
type UserFilter struct {
	// Search finds users whose name, email or extension holds it, both
	// folded (Fold): "anh" finds "Ánh", "lukasz" finds "Łukasz".
	Search  string
	States  []UserState // empty: active and blocked
	GroupID int64       // the group's direct members (not its subgroups'); 0: any group
	Vis     Visibility  // who the viewer may see
	Page    Page
}
