package directory

import (
	"strings"
	"time"
	"unicode/utf8"
)

// Contact is a CRM entry: a person or company the agents call.
type Contact struct {
	ID         int64
	Name       string
	Company    string
	Phones     []string // E.164
	Email      string
	AssignedTo int64 // user ID, 0 when unassigned
	CreatedBy  int64 // user ID, 0 when created by the system
	Public     bool
	Notes      string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

// Validate normalizes the phones to E.164 with the default country and
// checks the other fields.
func (c *Contact) Validate(defaultCountry string) error {
	var errs fieldErrors
	c.Name = strings.TrimSpace(c.Name)
	c.Company = strings.TrimSpace(c.Company)
	if c.Name == "" && c.Company == "" {
		errs.add(invalid("name", "a name or a company is required"))
	}
	if utf8.RuneCountInString(c.Name) > 200 {
		errs.add(invalid("name", "must be at most 200 characters"))
	}
	if utf8.RuneCountInString(c.Company) > 200 {
		errs.add(invalid("company", "must be at most 200 characters"))
	}
	if c.Email != "" {
		c.Email = NormalizeEmail(c.Email)
		if ValidateEmail(c.Email) != nil {
			errs.add(invalid("email", "must be an address like name@example.com"))
		}
	}
	if len(c.Phones) > 20 {
		errs.add(invalid("phones", "at most 20 numbers"))
	}
	seen := make(map[string]bool)
	phones := c.Phones[:0:0]
	for _, p := range c.Phones {
		if strings.TrimSpace(p) == "" {
			continue
		}
		n, err := NormalizePhone(p, defaultCountry)
		if err != nil {
			errs.add(invalid("phones", "\""+truncate(p, 40)+"\" is not a phone number"))
			continue
		}
		if !seen[n] {
			seen[n] = true
			phones = append(phones, n)
		}
	}
	c.Phones = phones
	if utf8.RuneCountInString(c.Notes) > 5000 {
		errs.add(invalid("notes", "must be at most 5000 characters"))
	}
	return errs.err()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// ContactFilter selects contacts for a list.
type ContactFilter struct {
	// Search finds contacts whose name or company holds it, both folded
	// (Fold): "anh" finds "Ánh", " Acme " finds "Acme". A term that is a
	// phone number as people type it (NumberTerm: "+48 22-123") also finds
	// the contacts with a phone that holds its digits.
	Search string
	Phone  string // an E.164 number a phone of the contact is, exactly
	Vis    Visibility
	Page   Page
}
