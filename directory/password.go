package directory

import (
	"crypto/rand"
	"crypto/subtle"
	_ "embed"
	"encoding/base64"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// PasswordPolicy is the web password rule. The default asks for
// at least 8 characters with a lower-case and an upper-case letter, a digit
// and a special character; long passphrases are accepted and common
// passwords refused.
type PasswordPolicy struct {
	MinLength    int
	NeedLower    bool
	NeedUpper    bool
	NeedDigit    bool
	NeedSpecial  bool
	RefuseCommon bool
}

// DefaultPasswordPolicy is the default policy: 8 characters with a lower-case
// and an upper-case letter, a digit and a special character, common
// passwords refused.
var DefaultPasswordPolicy = PasswordPolicy{
	MinLength: 8, NeedLower: true, NeedUpper: true, NeedDigit: true, NeedSpecial: true, RefuseCommon: true,
}

// maxPasswordBytes bounds the work argon2 is given; 64+ characters pass.
const maxPasswordBytes = 1024

// Check returns an *InvalidError for field "password" naming the first rule
// pw breaks. email and name are refused as passwords too.
func (p PasswordPolicy) Check(pw, email, name string) error {
	n := utf8.RuneCountInString(pw)
	if n < p.MinLength {
		return invalid("password", fmt.Sprintf("must be at least %d characters", p.MinLength))
	}
	if len(pw) > maxPasswordBytes {
		return invalid("password", fmt.Sprintf("must be at most %d bytes", maxPasswordBytes))
	}
	var lower, upper, digit, special bool
	for _, r := range pw {
		switch {
		case unicode.IsLower(r):
			lower = true
		case unicode.IsUpper(r):
			upper = true
		case unicode.IsDigit(r):
			digit = true
		case unicode.IsPunct(r) || unicode.IsSymbol(r) || unicode.IsSpace(r):
			special = true
		}
	}
	switch {
	case p.NeedLower && !lower:
		return invalid("password", "must contain a lower-case letter")
	case p.NeedUpper && !upper:
		return invalid("password", "must contain an upper-case letter")
	case p.NeedDigit && !digit:
		return invalid("password", "must contain a digit")
	case p.NeedSpecial && !special:
		return invalid("password", "must contain a special character such as !@*$&")
	}
	lpw := strings.ToLower(pw)
	if p.RefuseCommon && (isCommonPassword(lpw) || (email != "" && lpw == strings.ToLower(email)) ||
		(name != "" && lpw == strings.ToLower(name))) {
		return invalid("password", "is too common or too easy to guess")
	}
	return nil
}

//go:embed common_passwords.txt
var commonPasswordList string

var commonPasswords = func() map[string]struct{} {
	m := make(map[string]struct{})
	for _, l := range strings.Split(commonPasswordList, "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			m[strings.ToLower(l)] = struct{}{}
		}
	}
	return m
}()

// isCommonPassword also catches a common word with the usual decoration
// (Password1!, Qwerty123$): the letters and digits stripped of trailing
// digits and symbols are looked up too.
func isCommonPassword(lpw string) bool {
	if _, ok := commonPasswords[lpw]; ok {
		return true
	}
	core := strings.TrimRightFunc(lpw, func(r rune) bool { return !unicode.IsLetter(r) })
	core = strings.TrimLeftFunc(core, func(r rune) bool { return !unicode.IsLetter(r) })
	if core == "" {
		return true
	}
	_, ok := commonPasswords[core]
	return ok
}

// argon2id parameters: RFC 9106's second recommendation scaled to OWASP's
// floor (t=2, 19 MiB) with headroom.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// HashPassword returns the argon2id hash of pw in the PHC string format.
func HashPassword(pw Password) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// CheckPassword reports whether pw matches hash (made by HashPassword, with
// whatever parameters were in force then). A malformed hash never matches.
func CheckPassword(hash string, pw Password) bool {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false
	}
	var v int
	var m uint32
	var t uint32
	var p uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &m, &t, &p); err != nil || m == 0 || m > 1<<21 || t == 0 || t > 16 || p == 0 {
		return false
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(parts[4])
	want, err2 := enc.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(want) == 0 || len(want) > 128 {
		return false
	}
	if len(pw) > maxPasswordBytes {
		return false
	}
	got := argon2.IDKey([]byte(pw), salt, t, m, p, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1
}

// GeneratePassword returns a random password of n characters from an
// alphabet that is easy to type on a desk phone (no look-alike characters).
// It satisfies DefaultPasswordPolicy when n >= 8.
func GeneratePassword(n int) Password {
	const (
		lower   = "abcdefghjkmnpqrstuvwxyz"
		upper   = "ABCDEFGHJKLMNPQRSTUVWXYZ"
		digits  = "23456789"
		special = "!@*$&"
		all     = lower + upper + digits + special
	)
	if n < 8 {
		n = 8
	}
	b := make([]byte, n)
	sets := []string{lower, upper, digits, special}
	for i := range b {
		set := all
		if i < len(sets) {
			set = sets[i]
		}
		b[i] = set[randIndex(len(set))]
	}
	// Shuffle so the mandatory classes are not always in front.
	for i := len(b) - 1; i > 0; i-- {
		j := randIndex(i + 1)
		b[i], b[j] = b[j], b[i]
	}
	return Password(b)
}

func randIndex(n int) int {
	var buf [1]byte
	for {
		if _, err := rand.Read(buf[:]); err != nil {
			panic(err) // crypto/rand never fails on Linux; a failure is not input
		}
		if int(buf[0]) < 256-256%n {
			return int(buf[0]) % n
		}
	}
}
