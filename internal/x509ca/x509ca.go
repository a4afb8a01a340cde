// Package x509ca is the city's X.509 certificate authority for the High
// Assurance Interoperability Profile (HAIP 1.0): it issues counters'
// (verifiers') and agencies' certificates, and checks an x5c chain against
// a trust list.
//
// HAIP 1.0 authenticates a verifier by the x509_hash client identifier
// prefix: the request object carries the verifier's certificate chain in
// its x5c header, and the wallet checks that chain against the
// certificates it trusts.
//
// Spec: HAIP 1.0 #openid-for-verifiable-presentations: "The X.509
// certificate of the trust anchor MUST NOT be included in the x5c JOSE
// header of the signed request. The X.509 certificate signing the request
// MUST NOT be self-signed."
//
// x5c entries are decoded by jwx (github.com/lestrrat-go/jwx/v3/cert,
// which bounds their size); certificates are built and chains verified by
// crypto/x509. Nothing here parses ASN.1 by hand.
//
// # Entry points
//
//   - [NewRoot] makes the city CA's self-signed root certificate.
//   - [Issue] issues an end-entity certificate for a public key.
//   - [TrustList] holds trusted roots; [TrustList.Verify] checks an x5c chain.
//   - [Hash] is the x509_hash client identifier value of a certificate.
package x509ca

import (
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net/url"
	"time"

	"github.com/lestrrat-go/jwx/v3/cert"
)

// Limits.
const (
	// MaxChain bounds the certificates in an x5c header.
	MaxChain = 5
	// DefaultRootValidity and DefaultLeafValidity are the validity periods
	// NewRoot and Issue use when given zero.
	DefaultRootValidity = 10 * 365 * 24 * time.Hour
	DefaultLeafValidity = 365 * 24 * time.Hour
)

// Errors of chain verification. Callers branch on them to pick a protocol
// error code.
var (
	// ErrUntrusted: the chain does not reach a certificate of the trust list.
	ErrUntrusted = errors.New("x509ca: certificate chain does not reach the trust list")
	// ErrMalformed: the x5c value is not a chain of base64 DER certificates
	// within the limits, or includes the trust anchor, or its leaf is
	// self-signed (HAIP forbids both).
	ErrMalformed = errors.New("x509ca: malformed certificate chain")
)

// NewRoot makes a self-signed CA certificate for the city trust authority,
// signed by key, and returns it DER-encoded.
func NewRoot(key crypto.Signer, commonName string, now time.Time, validity time.Duration) ([]byte, error) {
	if validity == 0 {
		validity = DefaultRootValidity
	}
	serial, err := serialNumber()
	if err != nil {
		return nil, err
	}
	ski, err := keyID(key.Public())
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            0,
		MaxPathLenZero:        true,
		SubjectKeyId:          ski,
	}
	return x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
}

// Leaf describes an end-entity certificate.
type Leaf struct {
	CommonName   string
	Organization string
	// DNSNames and URIs become subject alternative names.
	DNSNames []string
	URIs     []string
	// Validity is from now; zero means DefaultLeafValidity.
	Validity time.Duration
}

// Issue issues an end-entity certificate for pub, signed by the CA (its
// DER certificate and key), for digital signatures only.
func Issue(caDER []byte, caKey crypto.Signer, pub crypto.PublicKey, l Leaf, now time.Time) ([]byte, error) {
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("x509ca: CA certificate: %w", err)
	}
	if !ca.IsCA {
		return nil, errors.New("x509ca: the issuing certificate is not a CA")
	}
	if l.CommonName == "" {
		return nil, errors.New("x509ca: a certificate needs a common name")
	}
	validity := l.Validity
	if validity == 0 {
		validity = DefaultLeafValidity
	}
	serial, err := serialNumber()
	if err != nil {
		return nil, err
	}
	ski, err := keyID(pub)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: l.CommonName},
		NotBefore:             now.Add(-time.Minute),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		DNSNames:              l.DNSNames,
		SubjectKeyId:          ski,
		AuthorityKeyId:        ca.SubjectKeyId,
	}
	if l.Organization != "" {
		tmpl.Subject.Organization = []string{l.Organization}
	}
	for _, s := range l.URIs {
		u, err := url.Parse(s)
		if err != nil || u.Scheme == "" {
			return nil, fmt.Errorf("x509ca: bad URI %q", s)
		}
		tmpl.URIs = append(tmpl.URIs, u)
	}
	if tmpl.NotAfter.After(ca.NotAfter) {
		tmpl.NotAfter = ca.NotAfter
	}
	return x509.CreateCertificate(rand.Reader, tmpl, ca, pub, caKey)
}

// Hash is the x509_hash client identifier value of a DER certificate.
//
// Spec: OpenID4VP 1.0 #client_identifier_prefix: "The value of x509_hash
// is the base64url-encoded value of the SHA-256 hash of the DER-encoded
// X.509 certificate."
func Hash(der []byte) string {
	sum := sha256.Sum256(der)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// EncodeX5C encodes DER certificates as x5c values (standard base64).
func EncodeX5C(ders ...[]byte) []string {
	out := make([]string, len(ders))
	for i, d := range ders {
		out[i] = base64.StdEncoding.EncodeToString(d)
	}
	return out
}

// TrustList is a set of trusted root certificates (the city CA, and any
// other CA a deployment trusts).
type TrustList struct {
	pool  *x509.CertPool
	roots []*x509.Certificate
}

// NewTrustList makes a trust list of DER certificates.
func NewTrustList(ders ...[]byte) (*TrustList, error) {
	t := &TrustList{pool: x509.NewCertPool()}
	for _, d := range ders {
		c, err := x509.ParseCertificate(d)
		if err != nil {
			return nil, fmt.Errorf("x509ca: trust list: %w", err)
		}
		t.pool.AddCert(c)
		t.roots = append(t.roots, c)
	}
	return t, nil
}

// ParsePEM reads the CERTIFICATE blocks of a PEM file as DER.
func ParsePEM(data []byte) ([][]byte, error) {
	var out [][]byte
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type == "CERTIFICATE" {
			out = append(out, b.Bytes)
		}
	}
	if len(out) == 0 {
		return nil, errors.New("x509ca: no CERTIFICATE block in PEM")
	}
	return out, nil
}

// EncodePEM encodes DER certificates as PEM.
func EncodePEM(ders ...[]byte) []byte {
	var out []byte
	for _, d := range ders {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: d})...)
	}
	return out
}

// Verify checks an x5c chain (leaf first, standard base64 DER) at time at
// and returns the leaf certificate and its DER bytes. The chain must not
// include a trust anchor, its leaf must not be self-signed, and it must
// reach one of the trust list's roots with a leaf usable for digital
// signatures.
func (t *TrustList) Verify(x5c []string, at time.Time) (*x509.Certificate, []byte, error) {
	if t == nil || len(t.roots) == 0 {
		return nil, nil, fmt.Errorf("%w: the trust list is empty", ErrUntrusted)
	}
	if len(x5c) == 0 || len(x5c) > MaxChain {
		return nil, nil, fmt.Errorf("%w: x5c must hold 1 to %d certificates", ErrMalformed, MaxChain)
	}
	certs := make([]*x509.Certificate, len(x5c))
	for i, s := range x5c {
		c, err := cert.Parse([]byte(s))
		if err != nil {
			return nil, nil, fmt.Errorf("%w: x5c[%d]: %v", ErrMalformed, i, err)
		}
		certs[i] = c
	}
	for _, c := range certs {
		for _, r := range t.roots {
			if c.Equal(r) {
				return nil, nil, fmt.Errorf("%w: x5c includes the trust anchor %q", ErrMalformed, r.Subject.CommonName)
			}
		}
	}
	leaf := certs[0]
	if leaf.CheckSignatureFrom(leaf) == nil {
		return nil, nil, fmt.Errorf("%w: the leaf certificate is self-signed", ErrMalformed)
	}
	inter := x509.NewCertPool()
	for _, c := range certs[1:] {
		inter.AddCert(c)
	}
	_, err := leaf.Verify(x509.VerifyOptions{Roots: t.pool, Intermediates: inter, CurrentTime: at,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrUntrusted, err)
	}
	if leaf.KeyUsage != 0 && leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0 {
		return nil, nil, fmt.Errorf("%w: the leaf certificate is not for digital signatures", ErrUntrusted)
	}
	return leaf, leaf.Raw, nil
}

func serialNumber() (*big.Int, error) {
	return rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
}

// keyID is the SHA-1-free key identifier of RFC 7093 method 1: the
// leftmost 160 bits of the SHA-256 of the subjectPublicKey bits.
func keyID(pub crypto.PublicKey) ([]byte, error) {
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, err
	}
	var info struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(spki, &info); err != nil {
		return nil, err
	}
	sum := sha256.Sum256(info.PublicKey.Bytes)
	return sum[:20], nil
}
