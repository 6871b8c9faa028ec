package provision

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/switchboard-pbx/switchboard/directory"
)

// NewToken returns a new URL secret for a device: 32 random bytes,
// base64url, so it fits a path segment.
func NewToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return base64.RawURLEncoding.EncodeToString(b)
}

// TokenHash is what the store keeps of a URL secret, and looks it up by.
func TokenHash(token string) string {
	h := sha256.Sum256([]byte("switchboard-provision-token-v1\x00" + token))
	return hex.EncodeToString(h[:])
}

// key derives the sealing key of a URL secret; it differs from TokenHash,
// so the stored hash does not open what is sealed.
func key(token string) []byte {
	k := sha256.Sum256([]byte("switchboard-provision-seal-v1\x00" + token))
	return k[:]
}

// Seal encrypts the extension password pw with a key derived from the
// device's URL secret (AES-256-GCM), so the database alone does not give
// it away: whoever holds the URL gets the password anyway, by design.
func Seal(token string, pw directory.Password) (string, error) {
	aead, err := gcm(token)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize())
	_, _ = rand.Read(nonce)
	return base64.RawStdEncoding.EncodeToString(aead.Seal(nonce, nonce, []byte(pw), nil)), nil
}

// ErrSealed is what Open says of a sealed value the secret does not open.
var ErrSealed = errors.New("sealed password does not open with this secret")

// Open decrypts what Seal sealed with the same token.
func Open(token, sealed string) (directory.Password, error) {
	raw, err := base64.RawStdEncoding.DecodeString(sealed)
	if err != nil {
		return "", ErrSealed
	}
	aead, err := gcm(token)
	if err != nil {
		return "", err
	}
	if len(raw) < aead.NonceSize() {
		return "", ErrSealed
	}
	pt, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], nil)
	if err != nil {
		return "", ErrSealed
	}
	return directory.Password(pt), nil
}

func gcm(token string) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key(token))
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return cipher.NewGCM(block)
}
