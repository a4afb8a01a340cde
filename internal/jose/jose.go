// Package jose is Tong's strict, lean layer over JSON Web Signature (RFC
// 7515) compact serialization and JSON Web Keys (RFC 7517), for the two
// algorithms Tong uses: ES256 (RFC 7518 §3.4) and Ed25519 (RFC 8037, named
// "EdDSA" there and "Ed25519" in RFC 9864).
//
// It exists beside lestrrat-go/jwx because verification sits on the
// counters' hot path: [Parse] decodes one header and one payload with no
// generic re-marshalling, and [JWS.Verify] calls crypto/ecdsa or
// crypto/ed25519 directly, so the work beyond the signature check stays
// small. Everything else about JOSE (x5c chains, JWE) is out of scope.
//
// # Strictness
//
//   - exactly three base64url parts without padding, at most a caller-set
//     size;
//   - the header is one JSON object with no duplicate member names;
//   - "alg" must be ES256, EdDSA or Ed25519: "none" and every MAC or RSA
//     algorithm are refused with their own codes before any key is touched;
//   - "crit" may name only extensions the caller says it understands
//     (RFC 7515 §4.1.11);
//   - the key must match the algorithm (an HS256 token "signed with the
//     public key" fails as [CodeAlgKeyMismatch] or [CodeMACAlg]).
//
// Signature failures are one error, [CodeInvalidSignature], with no detail.
package jose

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/crypto/cryptobyte"
	"golang.org/x/crypto/cryptobyte/asn1"

	"github.com/tongid/tong/internal/fault"
)

// Algorithms.
const (
	ES256 = "ES256"
	// EdDSA is the RFC 8037 name for Ed25519 signatures; Tong emits it
	// because it is what deployed wallets and verifiers accept today.
	EdDSA = "EdDSA"
	// Ed25519 is the fully specified name from RFC 9864, accepted on input.
	Ed25519 = "Ed25519"
)

// Code is a stable, machine-readable reason a token was refused.
type Code string

// Codes.
const (
	CodeMalformed        Code = "malformed_jws"
	CodeTooLarge         Code = "too_large"
	CodeAlgNone          Code = "alg_none"
	CodeMACAlg           Code = "mac_alg_forbidden"
	CodeUnsupportedAlg   Code = "unsupported_alg"
	CodeAlgKeyMismatch   Code = "alg_key_mismatch"
	CodeUnknownCrit      Code = "unknown_crit"
	CodeInvalidSignature Code = "invalid_signature"
	CodeInvalidKey       Code = "invalid_key"
)

// Error is a refusal with a stable code. Its message is
// "jose: code: description: cause", and errors.Is(err, &Error{Code: c})
// matches on the code.
type Error = fault.Error[Code, kind]

// kind is the fault.Kind of this package's errors.
type kind struct{}

// Prefix is "jose".
func (kind) Prefix() string { return "jose" }

func errf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Description: fmt.Sprintf(format, args...)}
}

// CodeOf returns the code of the first *Error in err's chain, or "".
func CodeOf(err error) Code { return fault.CodeOf[Code, kind](err) }

var errBadSignature = &Error{Code: CodeInvalidSignature, Description: "signature does not verify"}

// Header is a JOSE header. Raw holds every member as it was sent, for
// callers that need the ones not listed here.
type Header struct {
	Alg  string          `json:"alg"`
	Typ  string          `json:"typ,omitempty"`
	Kid  string          `json:"kid,omitempty"`
	Cty  string          `json:"cty,omitempty"`
	JWK  json.RawMessage `json:"jwk,omitempty"`
	X5C  []string        `json:"x5c,omitempty"`
	Crit []string        `json:"crit,omitempty"`
	Raw  map[string]any
}

// JWS is a parsed compact JWS. Its signature is not checked until Verify.
type JWS struct {
	Header    Header
	RawHeader []byte // decoded protected header
	Payload   string // decoded payload (a string: JSON parses of it need no copy)
	// SigningInput is BASE64URL(header) || '.' || BASE64URL(payload).
	SigningInput string
	Signature    []byte
}

// ParseOptions tune Parse. The zero value is the strict default.
type ParseOptions struct {
	// Crit lists the header parameters the caller understands and
	// processes when they appear in "crit".
	Crit []string
}

// Parse parses a compact JWS of at most maxSize bytes. See the package
// doc for the checks.
func Parse(compact string, maxSize int) (*JWS, error) {
	return ParseWith(compact, maxSize, ParseOptions{})
}

// ParseWith is Parse with options.
func ParseWith(compact string, maxSize int, opts ParseOptions) (*JWS, error) {
	if len(compact) > maxSize {
		return nil, errf(CodeTooLarge, "token is %d bytes, limit %d", len(compact), maxSize)
	}
	h, rest, ok1 := strings.Cut(compact, ".")
	p, s, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || strings.IndexByte(s, '.') >= 0 {
		return nil, errf(CodeMalformed, "want three dot-separated parts")
	}
	// One buffer for the header and the signature; the payload is
	// decoded on the stack and becomes a string in one copy.
	buf := make([]byte, 0, strictB64.DecodedLen(len(h))+strictB64.DecodedLen(len(s)))
	hdr, buf, err := decodePart(buf, h)
	if err != nil || len(hdr) == 0 {
		return nil, errf(CodeMalformed, "header is not base64url")
	}
	sig, _, err := decodePart(buf, s)
	if err != nil {
		return nil, errf(CodeMalformed, "signature is not base64url")
	}
	payload, err := DecodeSegment(p)
	if err != nil {
		return nil, errf(CodeMalformed, "payload is not base64url")
	}
	j := &JWS{RawHeader: hdr, Payload: payload, SigningInput: compact[:len(h)+1+len(p)], Signature: sig}
	if err := parseHeader(hdr, &j.Header); err != nil {
		return nil, err
	}
	if err := checkAlg(j.Header.Alg); err != nil {
		return nil, err
	}
	if j.Header.Crit != nil {
		// Spec: RFC 7515 §4.1.11: "Producers MUST NOT use the empty list
		// "[]" as the "crit" value. Recipients MAY consider the JWS to be
		// invalid if the critical list contains any Header Parameter names
		// defined by this specification".
		if len(j.Header.Crit) == 0 {
			return nil, errf(CodeMalformed, "empty crit")
		}
		for _, c := range j.Header.Crit {
			if !contains(opts.Crit, c) {
				return nil, errf(CodeUnknownCrit, "critical header %q is not understood", c)
			}
			if _, ok := j.Header.Raw[c]; !ok {
				return nil, errf(CodeMalformed, "critical header %q is absent", c)
			}
		}
	}
	return j, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// strictB64 is base64url without padding, strictly: RawURLEncoding rejects
// padding and the standard alphabet; Strict rejects non-zero trailing
// bits, so each token has one encoding.
var strictB64 = base64.RawURLEncoding.Strict()

func b64decode(s string) ([]byte, error) { return strictB64.DecodeString(s) }

// DecodeSegment decodes base64url s (no padding, strictly) into a string.
// Up to 4 KiB decode into a stack buffer, so that the string is the only
// allocation; short segments (disclosures) use a short one, because Go
// zeroes the buffer first.
func DecodeSegment(s string) (string, error) {
	if strictB64.DecodedLen(len(s)) <= 256 {
		var stack [256]byte
		return decodeSegment(stack[:0], s)
	}
	var stack [4 << 10]byte
	return decodeSegment(stack[:0], s)
}

func decodeSegment(buf []byte, s string) (string, error) {
	b, err := strictB64.AppendDecode(buf, []byte(s))
	if err != nil {
		return "", err
	}
	return string(b), nil
}

// decodePart decodes s onto buf and returns the decoded part, clipped,
// and buf after it.
func decodePart(buf []byte, s string) (part, rest []byte, err error) {
	start := len(buf)
	buf, err = strictB64.AppendDecode(buf, []byte(s))
	if err != nil {
		return nil, nil, err
	}
	return buf[start:len(buf):len(buf)], buf, nil
}

func parseHeader(raw []byte, h *Header) error {
	m, err := ParseJSONObject(raw, 16)
	if err != nil {
		return &Error{Code: CodeMalformed, Description: "header: " + err.Error(), Err: err}
	}
	h.Raw = m
	var ok bool
	str := func(name string, dst *string) {
		if v, present := m[name]; present && ok {
			*dst, ok = v.(string)
		}
	}
	ok = true
	str("alg", &h.Alg)
	str("typ", &h.Typ)
	str("kid", &h.Kid)
	str("cty", &h.Cty)
	if !ok {
		return errf(CodeMalformed, "header member has the wrong type")
	}
	if _, present := m["alg"]; !present {
		return errf(CodeMalformed, "header has no alg")
	}
	var err2 error
	if h.Crit, err2 = stringList(m, "crit"); err2 != nil {
		return err2
	}
	if h.X5C, err2 = stringList(m, "x5c"); err2 != nil {
		return err2
	}
	if jwk, present := m["jwk"]; present {
		if _, isObj := jwk.(map[string]any); !isObj {
			return errf(CodeMalformed, "header jwk is not an object")
		}
		h.JWK, _ = json.Marshal(jwk)
	}
	return nil
}

func stringList(m map[string]any, name string) ([]string, error) {
	v, present := m[name]
	if !present {
		return nil, nil
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, errf(CodeMalformed, "header %s is not an array", name)
	}
	out := make([]string, len(arr))
	for i, e := range arr {
		if out[i], ok = e.(string); !ok {
			return nil, errf(CodeMalformed, "header %s holds a non-string", name)
		}
	}
	return out, nil
}

func checkAlg(alg string) error {
	switch {
	case alg == ES256 || alg == EdDSA || alg == Ed25519:
		return nil
	case strings.EqualFold(alg, "none"):
		return errf(CodeAlgNone, "alg none is never accepted")
	case strings.HasPrefix(alg, "HS"):
		return errf(CodeMACAlg, "MAC algorithm %q is never accepted", alg)
	}
	return errf(CodeUnsupportedAlg, "alg %q is not accepted (want ES256 or EdDSA)", alg)
}

// Verify checks the signature with pub, which must be a P-256 public key
// for ES256 or an Ed25519 public key for EdDSA/Ed25519.
func (j *JWS) Verify(pub crypto.PublicKey) error {
	return j.verify(pub, nil)
}

// VerifyHashed is Verify for a caller that has hashed the signing input
// already: inputSHA256 must be SHA-256(j.SigningInput) (see SHA256Prefix).
// Only ES256 uses it; EdDSA signs the input itself.
func (j *JWS) VerifyHashed(pub crypto.PublicKey, inputSHA256 [32]byte) error {
	return j.verify(pub, &inputSHA256)
}

func (j *JWS) verify(pub crypto.PublicKey, hashed *[32]byte) error {
	switch j.Header.Alg {
	case ES256:
		k, ok := pub.(*ecdsa.PublicKey)
		if !ok || k.Curve != elliptic.P256() {
			return errf(CodeAlgKeyMismatch, "ES256 needs a P-256 key, got %T", pub)
		}
		if len(j.Signature) != 64 {
			return errBadSignature
		}
		var d [32]byte
		if hashed != nil {
			d = *hashed
		} else {
			d = SHA256String(j.SigningInput)
		}
		if !verifyES256Digest(k, d, j.Signature) {
			return errBadSignature
		}
		return nil
	case EdDSA, Ed25519:
		k, ok := pub.(ed25519.PublicKey)
		if !ok || len(k) != ed25519.PublicKeySize {
			return errf(CodeAlgKeyMismatch, "%s needs an Ed25519 key, got %T", j.Header.Alg, pub)
		}
		if !ed25519.Verify(k, []byte(j.SigningInput), j.Signature) {
			return errBadSignature
		}
		return nil
	}
	return checkAlg(j.Header.Alg)
}

// AlgFor returns the JOSE algorithm Tong uses for a public key.
func AlgFor(pub crypto.PublicKey) (string, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() {
			return ES256, nil
		}
	case ed25519.PublicKey:
		return EdDSA, nil
	}
	return "", errf(CodeInvalidKey, "unsupported key type %T", pub)
}

// Sign makes a compact JWS over payload with s. header must hold "alg"
// matching the key (ES256 for P-256, EdDSA or Ed25519 for Ed25519); its
// members are emitted in sorted order.
func Sign(s crypto.Signer, header map[string]any, payload []byte) (string, error) {
	hdr, err := json.Marshal(header)
	if err != nil {
		return "", fmt.Errorf("jose: header: %w", err)
	}
	return SignRaw(s, hdr, payload)
}

// SignRaw is Sign with the header given as its exact JSON bytes.
func SignRaw(s crypto.Signer, header, payload []byte) (string, error) {
	var h struct {
		Alg string `json:"alg"`
	}
	if err := json.Unmarshal(header, &h); err != nil {
		return "", fmt.Errorf("jose: header: %w", err)
	}
	enc := base64.RawURLEncoding
	buf, err := AppendSign(make([]byte, 0, enc.EncodedLen(len(header))+enc.EncodedLen(len(payload))+90), s, h.Alg, header, payload)
	return string(buf), err
}

// AppendSign is SignRaw appending the compact JWS to dst, for callers
// that wrote header themselves and pass the "alg" they put in it.
func AppendSign(dst []byte, s crypto.Signer, alg string, header, payload []byte) ([]byte, error) {
	want, err := AlgFor(s.Public())
	if err != nil {
		return dst, err
	}
	if alg != want && !(want == EdDSA && alg == Ed25519) {
		return dst, errf(CodeAlgKeyMismatch, "header alg %q does not match the %s key", alg, want)
	}
	enc := base64.RawURLEncoding
	start := len(dst)
	buf := enc.AppendEncode(dst, header)
	buf = append(buf, '.')
	buf = enc.AppendEncode(buf, payload)
	sig, err := signBytes(s, buf[start:])
	if err != nil {
		return dst, err
	}
	buf = append(buf, '.')
	return enc.AppendEncode(buf, sig), nil
}

// signBytes signs the JWS signing input: ES256 as the 64-byte R || S of
// RFC 7518 §3.4, Ed25519 as RFC 8037 §3.1.
func signBytes(s crypto.Signer, input []byte) ([]byte, error) {
	switch pub := s.Public().(type) {
	case *ecdsa.PublicKey:
		d := sha256.Sum256(input)
		der, err := s.Sign(rand.Reader, d[:], crypto.SHA256)
		if err != nil {
			return nil, err
		}
		return derToRS(der, pub)
	case ed25519.PublicKey:
		return s.Sign(rand.Reader, input, crypto.Hash(0))
	}
	return nil, errf(CodeInvalidKey, "unsupported key type %T", s.Public())
}

// VerifyES256 checks a 64-byte R || S signature over msg (hashed with
// SHA-256 here), through ecdsa.VerifyASN1 without big.Int conversions.
func VerifyES256(pub *ecdsa.PublicKey, msg, sig []byte) bool {
	return verifyES256Digest(pub, sha256.Sum256(msg), sig)
}

func verifyES256Digest(pub *ecdsa.PublicKey, d [32]byte, sig []byte) bool {
	if len(sig) != 64 {
		return false
	}
	var der [72]byte
	return ecdsa.VerifyASN1(pub, d[:], rsToDER(der[:0], sig))
}

// SHA256String is sha256.Sum256 of s without copying s to the heap first
// (a signing input or a presentation is kilobytes, hashed once).
func SHA256String(s string) [32]byte {
	var buf [2048]byte
	if len(s) <= len(buf) {
		return sha256.Sum256(buf[:copy(buf[:], s)])
	}
	h := sha256.New()
	for len(s) > 0 {
		n := copy(buf[:], s)
		h.Write(buf[:n])
		s = s[n:]
	}
	var out [32]byte
	h.Sum(out[:0])
	return out
}

// SHA256Prefix returns SHA-256 of prefix and of prefix+rest, reading the
// prefix once: an SD-JWT's signing input is the start of the presentation
// its KB-JWT's sd_hash covers. (hash.Hash's Sum leaves the state as it
// was, so hashing goes on after the prefix's sum.)
func SHA256Prefix(prefix, rest string) (ofPrefix, ofWhole [32]byte) {
	buf := hashBuffers.Get().(*[2048]byte)
	defer hashBuffers.Put(buf)
	h := sha256.New()
	write := func(s string) {
		for len(s) > 0 {
			n := copy(buf[:], s)
			h.Write(buf[:n])
			s = s[n:]
		}
	}
	write(prefix)
	copy(ofPrefix[:], h.Sum(buf[:0]))
	write(rest)
	copy(ofWhole[:], h.Sum(buf[:0]))
	return ofPrefix, ofWhole
}

var hashBuffers = sync.Pool{New: func() any { return new([2048]byte) }}

// rsToDER appends the ASN.1 form of a 64-byte R || S signature to dst
// (72 bytes at most), the form ecdsa.VerifyASN1 takes, without going
// through big.Int as ecdsa.Verify does.
func rsToDER(dst, rs []byte) []byte {
	integer := func(dst, n []byte) []byte {
		for len(n) > 1 && n[0] == 0 {
			n = n[1:]
		}
		if n[0]&0x80 != 0 {
			return append(append(dst, 0x02, byte(len(n)+1), 0), n...)
		}
		return append(append(dst, 0x02, byte(len(n))), n...)
	}
	dst = append(dst, 0x30, 0)
	start := len(dst)
	dst = integer(dst, rs[:32])
	dst = integer(dst, rs[32:])
	dst[start-1] = byte(len(dst) - start)
	return dst
}

// derToRS converts an ASN.1 ECDSA signature to the fixed-size R || S form
// without going through big.Int.
func derToRS(der []byte, pub *ecdsa.PublicKey) ([]byte, error) {
	size := (pub.Curve.Params().BitSize + 7) / 8
	var inner, r, s cryptobyte.String
	in := cryptobyte.String(der)
	if !in.ReadASN1(&inner, asn1.SEQUENCE) || !in.Empty() ||
		!inner.ReadASN1(&r, asn1.INTEGER) || !inner.ReadASN1(&s, asn1.INTEGER) || !inner.Empty() {
		return nil, errors.New("jose: signer returned a malformed ECDSA signature")
	}
	out := make([]byte, 2*size)
	for i, n := range []cryptobyte.String{r, s} {
		if len(n) == 0 || n[0]&0x80 != 0 { // empty or negative
			return nil, errors.New("jose: signer returned a malformed ECDSA signature")
		}
		for len(n) > 1 && n[0] == 0 {
			n = n[1:]
		}
		if len(n) > size {
			return nil, errors.New("jose: signer returned a malformed ECDSA signature")
		}
		copy(out[(i+1)*size-len(n):(i+1)*size], n)
	}
	return out, nil
}

// CheckJSON checks that data is one strict JSON value (see ParseJSON).
// It builds no values, so it costs a fraction of a parse.
func CheckJSON[T ~string | ~[]byte](data T, maxDepth int) error {
	_, err := parseJSON(string(data), maxDepth, true)
	return err
}
