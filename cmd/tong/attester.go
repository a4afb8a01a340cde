package main

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/url"
	"os"
	"strings"

	"github.com/tongid/tong/issuer"
)

// parseAttesters reads --wallet-attester values, ISSUER=FILE: the
// attester's identifier (the iss of its Client Attestations, an https
// URL) and a PEM file with its public key (PKIX "PUBLIC KEY", ECDSA P-256
// for ES256 or Ed25519). Each mistake is said in words, naming the value.
func parseAttesters(values []string) ([]issuer.ClientAttester, error) {
	var out []issuer.ClientAttester
	seen := map[string]bool{}
	for _, v := range values {
		iss, file, ok := strings.Cut(v, "=")
		if !ok || iss == "" || file == "" {
			return nil, fmt.Errorf("%q: want ISSUER=PEM-FILE, for example https://attester.example=attester.pem", v)
		}
		if u, err := url.Parse(iss); err != nil || u.Scheme != "https" || u.Host == "" {
			return nil, fmt.Errorf("%q: the attester's identifier must be an https URL (the iss of its attestations)", iss)
		}
		if seen[iss] {
			return nil, fmt.Errorf("%q is given twice", iss)
		}
		seen[iss] = true
		raw, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", iss, err)
		}
		block, _ := pem.Decode(raw)
		if block == nil || block.Type != "PUBLIC KEY" {
			return nil, fmt.Errorf("%s: %s holds no PEM \"PUBLIC KEY\" block", iss, file)
		}
		key, err := x509.ParsePKIXPublicKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", iss, file, err)
		}
		switch k := key.(type) {
		case *ecdsa.PublicKey:
			if k.Curve != elliptic.P256() {
				return nil, fmt.Errorf("%s: %s is an ECDSA key on %s; attestations are ES256 (P-256)", iss, file, k.Curve.Params().Name)
			}
		case ed25519.PublicKey:
		default:
			return nil, fmt.Errorf("%s: %s is a %T; want an ECDSA P-256 or Ed25519 public key", iss, file, key)
		}
		out = append(out, issuer.ClientAttester{Issuer: iss, Key: key})
	}
	return out, nil
}
