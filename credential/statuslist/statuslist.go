// Package statuslist encodes and decodes the two status list formats
// Tong uses to revoke and suspend credentials without learning where they
// are shown:
//
//   - the IETF [Token Status List] (draft-ietf-oauth-status-list-20) for
//     SD-JWT VCs: 1, 2, 4 or 8 bits per credential, packed least
//     significant bit first, ZLIB-compressed, in a JWT of typ
//     "statuslist+jwt" ([List], [SignToken], [ParseToken]);
//   - the W3C [Bitstring Status List] v1.0 (REC 2025-05-15) for VCDM 2.0
//     credentials: bits packed most significant bit first, GZIP-compressed,
//     multibase base64url ([Bitstring], [BitstringStatusListEntry]).
//
// The two bit orders are opposite; mixing them up is a classic bug, and
// the tests pin each against its spec's vectors.
//
// Decoding is bounded: a list may not claim more than [MaxEntries]
// entries, and decompression stops at that size, so a small "zip bomb"
// cannot exhaust memory.
//
// [Token Status List]: https://datatracker.ietf.org/doc/draft-ietf-oauth-status-list/20/
// [Bitstring Status List]: https://www.w3.org/TR/vc-bitstring-status-list/
package statuslist

import (
	"bytes"
	"compress/zlib"
	"crypto"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"time"

	"github.com/tongid/tong/internal/fault"
	"github.com/tongid/tong/internal/jose"
)

// Status values of the Token Status List.
// Spec: draft-ietf-oauth-status-list-20 §7.1: 0x00 VALID, 0x01 INVALID,
// 0x02 SUSPENDED; 0x03 and 0x0C–0x0F are application-specific.
const (
	Valid     byte = 0x00
	Invalid   byte = 0x01
	Suspended byte = 0x02
)

// Limits.
const (
	// MaxEntries bounds the statuses one list may hold (2^24 entries: 16 MiB
	// at 8 bits per entry).
	MaxEntries = 1 << 24
	// MinHerdSize is the smallest list Tong issues into, so that one
	// credential's lookup hides among many (the W3C minimum is also
	// 131,072).
	MinHerdSize = 131072
)

// TypStatusListJWT is the JOSE typ of a Status List Token.
const TypStatusListJWT = "statuslist+jwt"

// Code is a stable reason a status list or lookup was refused.
type Code string

// Codes.
const (
	CodeMalformed    Code = "status_list_malformed"
	CodeBits         Code = "status_list_bits"      // bits not 1, 2, 4 or 8
	CodeTooLarge     Code = "status_list_too_large" // over MaxEntries
	CodeOutOfRange   Code = "status_index_out_of_range"
	CodeTyp          Code = "status_list_typ"
	CodeSignature    Code = "status_list_signature"
	CodeSubject      Code = "status_list_sub_mismatch" // sub is not the URI the credential names
	CodeExpired      Code = "status_list_expired"
	CodeBadAlgorithm Code = "status_list_alg"
)

// Error is a refusal with a stable code. Its message is
// "statuslist: code: description: cause".
type Error = fault.Error[Code, kind]

// kind is the fault.Kind of this package's errors.
type kind struct{}

// Prefix is "statuslist".
func (kind) Prefix() string { return "statuslist" }

// CodeOf returns the code of the first *Error in err's chain, or "".
func CodeOf(err error) Code { return fault.CodeOf[Code, kind](err) }

func errf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Description: fmt.Sprintf(format, args...)}
}

// List is a Token Status List: Size statuses of Bits bits each.
type List struct {
	bits int
	size int
	data []byte
}

// New makes a list of size entries, all VALID, with bits per entry (1, 2,
// 4 or 8).
func New(bits, size int) (*List, error) {
	if err := checkBits(bits); err != nil {
		return nil, err
	}
	if size <= 0 || size > MaxEntries {
		return nil, errf(CodeTooLarge, "size %d is not in 1..%d", size, MaxEntries)
	}
	return &List{bits: bits, size: size, data: make([]byte, (size*bits+7)/8)}, nil
}

func checkBits(bits int) error {
	switch bits {
	case 1, 2, 4, 8:
		return nil
	}
	return errf(CodeBits, "bits is %d, want 1, 2, 4 or 8", bits)
}

// Bits is the number of bits per entry.
func (l *List) Bits() int { return l.bits }

// Size is the number of entries.
func (l *List) Size() int { return l.size }

// Get returns the status at index.
//
// Spec: draft-ietf-oauth-status-list-20 §4.1: "The status of each
// Referenced Token is identified by the index ... the least significant
// bits of the first byte hold the status of index 0".
func (l *List) Get(index int) (byte, error) {
	if index < 0 || index >= l.size {
		return 0, errf(CodeOutOfRange, "index %d is outside the list of %d entries", index, l.size)
	}
	bit := index * l.bits
	mask := byte(1<<l.bits - 1)
	return (l.data[bit/8] >> (bit % 8)) & mask, nil
}

// Set sets the status at index.
func (l *List) Set(index int, status byte) error {
	if index < 0 || index >= l.size {
		return errf(CodeOutOfRange, "index %d is outside the list of %d entries", index, l.size)
	}
	mask := byte(1<<l.bits - 1)
	if status > mask {
		return errf(CodeBits, "status %#x does not fit in %d bits", status, l.bits)
	}
	bit := index * l.bits
	shift := bit % 8
	l.data[bit/8] = l.data[bit/8]&^(mask<<shift) | status<<shift
	return nil
}

// Bytes returns the uncompressed byte array (a copy).
func (l *List) Bytes() []byte { return bytes.Clone(l.data) }

// Encode returns the ZLIB-compressed byte array as base64url: the "lst"
// member. Spec: §4.1: "compressed using DEFLATE [RFC1951] with the ZLIB
// [RFC1950] data format".
func (l *List) Encode() (string, error) {
	var buf bytes.Buffer
	w, err := zlib.NewWriterLevel(&buf, zlib.BestCompression)
	if err != nil {
		return "", err
	}
	if _, err := w.Write(l.data); err != nil {
		return "", err
	}
	if err := w.Close(); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(buf.Bytes()), nil
}

// Decode decodes an "lst" value with bits per entry. The list's size is
// the number of entries the byte array holds.
func Decode(bits int, lst string) (*List, error) {
	if err := checkBits(bits); err != nil {
		return nil, err
	}
	comp, err := base64.RawURLEncoding.DecodeString(lst)
	if err != nil {
		return nil, &Error{Code: CodeMalformed, Description: "lst is not base64url", Err: err}
	}
	zr, err := zlib.NewReader(bytes.NewReader(comp))
	if err != nil {
		return nil, &Error{Code: CodeMalformed, Description: "lst is not ZLIB data", Err: err}
	}
	data, err := readBounded(zr, MaxEntries*bits/8)
	if err != nil {
		return nil, err
	}
	if len(data) == 0 {
		return nil, errf(CodeMalformed, "the status list is empty")
	}
	return &List{bits: bits, size: len(data) * 8 / bits, data: data}, nil
}

// readBounded reads all of r, refusing more than limit bytes.
func readBounded(r io.Reader, limit int) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, int64(limit)+1))
	if err != nil {
		return nil, &Error{Code: CodeMalformed, Description: "corrupt compressed data", Err: err}
	}
	if len(data) > limit {
		return nil, errf(CodeTooLarge, "decompressed list is over %d bytes", limit)
	}
	return data, nil
}

// JSON is the status_list claim: {"bits", "lst", "aggregation_uri"}.
type JSON struct {
	Bits           int    `json:"bits"`
	Lst            string `json:"lst"`
	AggregationURI string `json:"aggregation_uri,omitempty"`
}

// Token is a Status List Token's claims.
type Token struct {
	Subject  string        // sub: the URI the list is served at
	Issuer   string        // iss, optional
	IssuedAt time.Time     // iat
	Expiry   time.Time     // exp, optional
	TTL      time.Duration // ttl: how long a fetched copy may be reused
	List     *List
	// AggregationURI, optional, lists every status list of the issuer.
	AggregationURI string
	// X5C, optional, is the signer's certificate chain for the x5c header.
	// Spec: HAIP 1.0: "The public key used to validate the signature on
	// the Status List Token ... MUST be included in the x5c JOSE header of
	// the Token."
	X5C []string
}

// SignToken signs t as a Status List Token JWT (typ statuslist+jwt).
// Spec: draft-ietf-oauth-status-list-20 §5.1.
func SignToken(signer crypto.Signer, kid string, t Token) (string, error) {
	lst, err := t.List.Encode()
	if err != nil {
		return "", err
	}
	claims := map[string]any{
		"sub":         t.Subject,
		"iat":         t.IssuedAt.Unix(),
		"status_list": JSON{Bits: t.List.bits, Lst: lst, AggregationURI: t.AggregationURI},
	}
	if t.Issuer != "" {
		claims["iss"] = t.Issuer
	}
	if !t.Expiry.IsZero() {
		claims["exp"] = t.Expiry.Unix()
	}
	if t.TTL > 0 {
		claims["ttl"] = int64(t.TTL / time.Second) // Spec: §5.1: ttl in seconds
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	alg, err := jose.AlgFor(signer.Public())
	if err != nil {
		return "", err
	}
	h := map[string]any{"alg": alg, "typ": TypStatusListJWT}
	if kid != "" {
		h["kid"] = kid
	}
	if len(t.X5C) > 0 {
		h["x5c"] = t.X5C
	}
	return jose.Sign(signer, h, payload)
}

// MaxTokenSize bounds a Status List Token (a 2^24-entry list at 8 bits
// compresses to at most about 16 MiB; real lists are kilobytes).
const MaxTokenSize = 4 << 20

// ParseToken verifies a Status List Token: typ statuslist+jwt, the
// signature with key, sub equal to uri (the URI the credential names),
// and exp against now. It returns the token and its decoded list.
func ParseToken(token, uri string, key crypto.PublicKey, now time.Time) (*Token, error) {
	j, err := jose.Parse(token, MaxTokenSize)
	if err != nil {
		if jose.CodeOf(err) == jose.CodeMalformed || jose.CodeOf(err) == jose.CodeTooLarge {
			return nil, &Error{Code: CodeMalformed, Description: err.Error(), Err: err}
		}
		return nil, &Error{Code: CodeBadAlgorithm, Description: err.Error(), Err: err}
	}
	// Spec: §8.3 step 3: "the typ ... MUST be statuslist+jwt".
	if j.Header.Typ != TypStatusListJWT {
		return nil, errf(CodeTyp, "typ is %q, want %s", j.Header.Typ, TypStatusListJWT)
	}
	if err := j.Verify(key); err != nil {
		return nil, &Error{Code: CodeSignature, Description: "signature does not verify", Err: err}
	}
	m, err := jose.ParseJSONObject(j.Payload, 8)
	if err != nil {
		return nil, &Error{Code: CodeMalformed, Description: err.Error(), Err: err}
	}
	t := &Token{}
	t.Subject, _ = m["sub"].(string)
	t.Issuer, _ = m["iss"].(string)
	// Spec: §8.3 step 5: "The sub claim of the Status List Token MUST be
	// equal to the uri claim in the status_list object of the Referenced
	// Token."
	if uri != "" && t.Subject != uri {
		return nil, errf(CodeSubject, "sub %q is not %q", t.Subject, uri)
	}
	num := func(name string, required bool) (int64, error) {
		v, ok := m[name]
		if !ok {
			if required {
				return 0, errf(CodeMalformed, "%s is missing", name)
			}
			return 0, nil
		}
		n, ok := v.(json.Number)
		i, err := n.Int64()
		if !ok || err != nil || i < 0 {
			return 0, errf(CodeMalformed, "%s is not a non-negative integer", name)
		}
		return i, nil
	}
	iat, err := num("iat", true)
	if err != nil {
		return nil, err
	}
	exp, err := num("exp", false)
	if err != nil {
		return nil, err
	}
	ttl, err := num("ttl", false)
	if err != nil {
		return nil, err
	}
	if ttl > math.MaxInt32 {
		return nil, errf(CodeMalformed, "ttl is too large")
	}
	t.IssuedAt, t.TTL = time.Unix(iat, 0), time.Duration(ttl)*time.Second
	if exp > 0 {
		t.Expiry = time.Unix(exp, 0)
		if !now.Before(t.Expiry) {
			return nil, errf(CodeExpired, "the status list expired at %s", t.Expiry.UTC().Format(time.RFC3339))
		}
	}
	sl, ok := m["status_list"].(map[string]any)
	if !ok {
		return nil, errf(CodeMalformed, "status_list is missing")
	}
	bitsN, _ := sl["bits"].(json.Number)
	bits, err := bitsN.Int64()
	lst, ok2 := sl["lst"].(string)
	if err != nil || !ok2 {
		return nil, errf(CodeMalformed, "status_list needs integer bits and a string lst")
	}
	if bits > 8 {
		return nil, errf(CodeBits, "bits is %d", bits)
	}
	t.AggregationURI, _ = sl["aggregation_uri"].(string)
	if t.List, err = Decode(int(bits), lst); err != nil {
		return nil, err
	}
	return t, nil
}
