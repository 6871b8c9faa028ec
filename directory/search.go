package directory

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Searching is the same on every store: a search term and the text it is
// looked for in are both folded (Fold), and the term matches when its folded
// form is a substring of the folded text. Stores keep the folded text of
// each searchable row in a column of its own (see UserSearchText and
// ContactSearchText), written with the row, so that a search is one
// substring test in the database with no collation or extension of the
// database's own deciding what matches.
//
// Phone numbers are searched apart: a term that looks like a number
// (NumberTerm) loses the spaces and punctuation people type in numbers and
// is looked for in the stored numbers, which are kept without them (E.164,
// extensions).

// foldLetters are the letters that carry their mark in the letter itself
// rather than in a combining mark, so that decomposing them leaves them
// as they are: Polish ł, Vietnamese and Croatian đ (and the Icelandic eth,
// which looks the same), and a few more of the Latin alphabets our users
// write. Keys are lower case: Fold lowers first.
var foldLetters = map[rune]string{
	'ł': "l",
	'đ': "d",
	'ð': "d",
	'ø': "o",
	'ħ': "h",
	'ŧ': "t",
	'ı': "i",
	'ß': "ss",
	'æ': "ae",
	'œ': "oe",
}

// Fold returns s as searches compare it: lower case, without diacritics
// (Vietnamese tones and vowel marks, Polish ogonek and kreska, ł and đ read
// as l and d), every run of white space or control characters one space,
// and no space at either end. "  Łukasz  Nguyễn Ánh " folds to
// "lukasz nguyen anh". Fold(Fold(s)) == Fold(s) for every s, and invalid
// UTF-8 becomes U+FFFD.
func Fold(s string) string {
	if isFolded(s) {
		return s
	}
	s = strings.ToLower(strings.ToValidUTF8(s, string(utf8.RuneError)))
	var b strings.Builder
	b.Grow(len(s))
	space := false // a space is pending: written before the next letter
	var it norm.Iter
	it.InitString(norm.NFD, s)
	for !it.Done() {
		for _, r := range string(it.Next()) {
			switch {
			case unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Me, r):
				continue
			case unicode.IsSpace(r) || unicode.IsControl(r):
				space = b.Len() > 0
				continue
			}
			if space {
				b.WriteByte(' ')
				space = false
			}
			r = unicode.ToLower(r)
			if f, ok := foldLetters[r]; ok {
				b.WriteString(f)
				continue
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}

// isFolded reports whether s is plain lower-case ASCII letters, digits and
// the punctuation of emails, single-spaced: what Fold returns unchanged,
// checked without allocating.
func isFolded(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == ' ':
			if i == 0 || i == len(s)-1 || s[i-1] == ' ' {
				return false
			}
		case c > ' ' && c < 0x7f && (c < 'A' || c > 'Z'):
		default:
			return false
		}
	}
	return true
}

// SearchText joins the folded fields of a row into the text its searches
// look in. A newline separates the fields: Fold turns every newline of a
// term into a space, so a term never matches across two fields.
func SearchText(fields ...string) string {
	var b strings.Builder
	for i, f := range fields {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(Fold(f))
	}
	return b.String()
}

// UserSearchText is what UserFilter.Search looks in: the user's name,
// email and extension.
func UserSearchText(u *User) string { return SearchText(u.Name, u.Email, u.Extension) }

// ContactSearchText is what ContactFilter.Search looks in besides the
// phones: the contact's name and company.
func ContactSearchText(c *Contact) string { return SearchText(c.Name, c.Company) }

// NumberTerm returns the digits of a search term that is a phone number as
// people type it ("+48 22-123", "(022) 123 45", "601.000.200"), with a
// leading "+" kept, or "" when the term has anything but digits, one
// leading "+", spaces and the separators - ( ) . / or has no digit.
func NumberTerm(q string) string {
	q = strings.TrimSpace(q)
	var b strings.Builder
	digits := 0
	for i, r := range q {
		switch {
		case r >= '0' && r <= '9':
			digits++
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case unicode.IsSpace(r) || strings.ContainsRune("-()./", r):
		default:
			return ""
		}
	}
	if digits == 0 {
		return ""
	}
	return b.String()
}
