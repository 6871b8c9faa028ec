package directory

import (
	"crypto/md5"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
)

// SIPSecret is an extension password in the forms digest authentication
// needs, so the plain password is never stored: HA1 = H(user:realm:password)
// for MD5 and SHA-256 (RFC 8760), bound to the realm they were made for.
type SIPSecret struct {
	Realm     string
	HA1MD5    string // hex
	HA1SHA256 string // hex
}

// NewSIPSecret derives the HA1 values of pw for ext in realm.
func NewSIPSecret(ext, realm string, pw Password) SIPSecret {
	a1 := ext + ":" + realm + ":" + string(pw)
	m := md5.Sum([]byte(a1))
	s := sha256.Sum256([]byte(a1))
	return SIPSecret{Realm: realm, HA1MD5: hex.EncodeToString(m[:]), HA1SHA256: hex.EncodeToString(s[:])}
}

// IsZero reports whether no extension password is set.
func (s SIPSecret) IsZero() bool { return s.HA1MD5 == "" && s.HA1SHA256 == "" }

// LogValue keeps the hashes out of logs.
func (s SIPSecret) LogValue() slog.Value { return slog.StringValue("[hidden]") }

// SIPAccount is what the registrar checks of an extension at every
// request: who holds it, in which state, with which digest secret.
type SIPAccount struct {
	UserID int64
	State  UserState
	SIP    SIPSecret
}
