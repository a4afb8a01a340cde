package credential

import (
	"crypto"
	"encoding/base64"
	"encoding/json"
	"time"

	"github.com/tongid/tong/internal/jose"
)

// Media types and JOSE "typ" values.
const (
	// TypSDJWTVC is the SD-JWT VC header typ (draft-ietf-oauth-sd-jwt-vc-18 §3.2.1).
	TypSDJWTVC = "dc+sd-jwt"
	// TypLegacySDJWTVC is the typ of drafts before -06, refused on input.
	TypLegacySDJWTVC = "vc+sd-jwt"
	// TypKB is the key-binding JWT typ (RFC 9901 §4.3).
	TypKB = "kb+jwt"
)

// Header is a JWT's protected header, as far as verifiers need it.
type Header struct {
	Alg string
	Typ string
	Kid string
	// X5C is the certificate chain, when the issuer uses one (HAIP);
	// X509IssuerKeys resolves the issuer key from it.
	X5C []string
	// Raw holds every member as sent, decoded; numbers are json.Number.
	Raw map[string]any
}

func headerOf(j *jose.JWS) Header {
	if j == nil {
		return Header{}
	}
	return Header{Alg: j.Header.Alg, Typ: j.Header.Typ, Kid: j.Header.Kid, X5C: j.Header.X5C, Raw: j.Header.Raw}
}

// KeyBinding is what a holder signs into a KB-JWT (RFC 9901 §4.3).
type KeyBinding struct {
	// Nonce and Audience come from the verifier's request; Audience is
	// the full client_id in OpenID4VP.
	Nonce    string
	Audience string
	// IssuedAt defaults to now.
	IssuedAt time.Time
	// Extra claims, e.g. OpenID4VP's transaction_data_hashes and
	// transaction_data_hashes_alg.
	Extra map[string]any
}

// KBClaims are the verified claims of a KB-JWT.
type KBClaims struct {
	Nonce    string
	Audience string
	IssuedAt time.Time
	SDHash   string
	// Raw holds every claim, for extensions such as transaction data;
	// numbers are json.Number.
	Raw map[string]any
}

// Present builds a presentation of the SD-JWT sdjwt that reveals only the
// claims at paths (see [SDJWT.Select]) and, when holder is not nil, binds
// it to kb with a KB-JWT signed by holder. It returns JWT~D...~KB-JWT.
func Present(sdjwt string, paths []Path, holder crypto.Signer, kb KeyBinding) (string, error) {
	t, err := Parse(sdjwt)
	if err != nil {
		return "", err
	}
	claims, err := t.Process()
	if err != nil {
		return "", err
	}
	sel, err := t.Select(claims, paths)
	if err != nil {
		return "", err
	}
	presented := sel.presented()
	if holder == nil {
		return presented, nil
	}
	kbjwt, err := signKB(holder, presented, kb)
	if err != nil {
		return "", err
	}
	return presented + kbjwt, nil
}

// sdHash is base64url(SHA-256(ASCII(presented))) (RFC 9901 §4.3.1).
func sdHash(presented string) string {
	d := digestOfString(presented)
	return string(d[:])
}

func signKB(holder crypto.Signer, presented string, kb KeyBinding) (string, error) {
	alg, err := jose.AlgFor(holder.Public())
	if err != nil {
		return "", fromJOSE(err, true)
	}
	iat := kb.IssuedAt
	if iat.IsZero() {
		iat = time.Now()
	}
	claims := make(map[string]any, 4+len(kb.Extra))
	for k, v := range kb.Extra {
		claims[k] = v
	}
	claims["iat"] = iat.Unix()
	claims["aud"] = kb.Audience
	claims["nonce"] = kb.Nonce
	claims["sd_hash"] = sdHash(presented)
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	tok, err := jose.Sign(holder, map[string]any{"alg": alg, "typ": TypKB}, payload)
	if err != nil {
		return "", fromJOSE(err, true)
	}
	return tok, nil
}

// KBPolicy is what the verifier expects of the key binding.
type KBPolicy struct {
	// Nonce and Audience must equal the KB-JWT's nonce and aud.
	Nonce    string
	Audience string
	// MaxAge bounds how old the KB-JWT's iat may be; zero means
	// DefaultKBMaxAge.
	MaxAge time.Duration
}

// DefaultKBMaxAge is how old a KB-JWT may be: long enough for a citizen to
// consent on a phone, short enough to limit replay.
const DefaultKBMaxAge = 5 * time.Minute

// verifyKB checks a KB-JWT against the holder key, the presented string
// and the policy (RFC 9901 §7.3).
// presentedSHA256, when not nil, is SHA-256(presented), hashed by the
// caller along with the issuer JWT's signing input.
func verifyKB(kbjwt, presented string, presentedSHA256 *[32]byte, holder crypto.PublicKey, pol *KBPolicy, now time.Time, skew time.Duration) (*KBClaims, error) {
	j, err := jose.Parse(kbjwt, MaxTokenSize)
	if err != nil {
		return nil, fromJOSE(err, true)
	}
	if j.Header.Typ != TypKB {
		return nil, errf(CodeKBTyp, "KB-JWT typ is %q, want %q", j.Header.Typ, TypKB)
	}
	if err := j.Verify(holder); err != nil {
		return nil, fromJOSE(err, true)
	}
	raw, err := jose.ParseJSONObject(j.Payload, MaxDepth)
	if err != nil {
		return nil, errf(CodeKBClaims, "KB-JWT payload: %v", err)
	}
	var c struct{ Aud, Nonce, SDHash string }
	ok := true
	for _, f := range [...]struct {
		name string
		dst  *string
	}{{"aud", &c.Aud}, {"nonce", &c.Nonce}, {"sd_hash", &c.SDHash}} {
		if v, present := raw[f.name]; present && ok {
			*f.dst, ok = v.(string)
		}
	}
	iat, isNum := raw["iat"].(json.Number)
	iatSec, err := iat.Int64()
	if !ok || !isNum || err != nil {
		return nil, errf(CodeKBClaims, "KB-JWT claims of the wrong type, or no integer iat")
	}
	out := &KBClaims{Nonce: c.Nonce, Audience: c.Aud, IssuedAt: time.Unix(iatSec, 0), SDHash: c.SDHash, Raw: raw}
	var want digest
	if presentedSHA256 != nil {
		base64.RawURLEncoding.Encode(want[:], presentedSHA256[:])
	} else {
		want = digestOfString(presented)
	}
	if c.SDHash != string(want[:]) {
		return out, errf(CodeKBSDHash, "sd_hash does not match the presented SD-JWT")
	}
	if pol == nil {
		return out, nil
	}
	if c.Nonce != pol.Nonce {
		return out, errf(CodeKBNonce, "nonce does not match the request")
	}
	if c.Aud != pol.Audience {
		return out, errf(CodeKBAudience, "aud %q is not this verifier", c.Aud)
	}
	maxAge := pol.MaxAge
	if maxAge == 0 {
		maxAge = DefaultKBMaxAge
	}
	if out.IssuedAt.After(now.Add(skew)) {
		return out, errf(CodeKBFuture, "KB-JWT iat is in the future")
	}
	if out.IssuedAt.Before(now.Add(-maxAge - skew)) {
		return out, errf(CodeKBStale, "KB-JWT is older than %s", maxAge)
	}
	return out, nil
}
