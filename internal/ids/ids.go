// Package ids makes the random identifiers and secrets Tong hands out:
// base64url text from crypto/rand.
package ids

import (
	"crypto/rand"
	"encoding/base64"
)

// Random returns n random bytes as base64url text without padding.
func Random(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// New returns prefix followed by 96 random bits. The prefix names the
// kind (cred_, ses_, ...) and keeps an id from reading as a CLI flag.
func New(prefix string) string { return prefix + Random(12) }
