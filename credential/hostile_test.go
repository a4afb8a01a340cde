package credential

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/tongid/tong/internal/jose"
)

func b64u(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// Every hostile input of issue 3 fails with its own exported code, and
// nothing panics.
func TestHostileInputs(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	good := f.present(t, Path{"given_name"}, Path{"age_equal_or_over", "18"})
	jwt := good[:strings.IndexByte(good, '~')]
	hdrVC := map[string]any{"alg": "ES256", "typ": TypSDJWTVC}
	base := func() map[string]any {
		return map[string]any{"iss": testIssuer, "vct": "urn:tong:vct:test", "iat": f.now.Unix(), "_sd_alg": "sha-256"}
	}
	withSD := func(p map[string]any, sd ...any) map[string]any { p["_sd"] = sd; return p }

	// HS256 keyed with the issuer's public key (the classic confusion).
	pubJWK, _ := jose.PublicJWK(&f.issuer.PublicKey)
	pubBytes, _ := json.Marshal(pubJWK)
	hsInput := b64u(`{"alg":"HS256","typ":"dc+sd-jwt"}`) + "." + strings.SplitN(jwt, ".", 3)[1]
	mac := hmac.New(sha256.New, pubBytes)
	mac.Write([]byte(hsInput))
	hs256 := hsInput + "." + base64.RawURLEncoding.EncodeToString(mac.Sum(nil)) + "~"

	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherFixture := newFixture(t)
	foreignDisclosure := strings.Split(otherFixture.token, "~")[1]
	presented := good[:strings.LastIndexByte(good, '~')+1]
	disclosures := strings.Split(presented, "~")

	kb := func(mod func(*KeyBinding), signer *ecdsa.PrivateKey) string {
		k := KeyBinding{Nonce: testKB.Nonce, Audience: testKB.Audience, IssuedAt: f.now}
		mod(&k)
		p, err := Present(f.token, []Path{{"given_name"}}, signer, k)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	noop := func(*KeyBinding) {}
	// A KB-JWT whose sd_hash covers a different set of disclosures.
	sdHashMismatch := func() string {
		p := kb(noop, f.holder)
		kbjwt := p[strings.LastIndexByte(p, '~')+1:]
		withMore := f.present(t, Path{"given_name"}, Path{"family_name"})
		return withMore[:strings.LastIndexByte(withMore, '~')+1] + kbjwt
	}()

	for _, tc := range []struct {
		name  string
		token string
		kb    *KBPolicy
		want  Code
	}{
		{"alg none", b64u(`{"alg":"none","typ":"dc+sd-jwt"}`) + "." + strings.SplitN(jwt, ".", 3)[1] + ".~", nil, CodeAlgNone},
		{"HS256 with the public key", hs256, nil, CodeMACAlg},
		{"typ missing", forge(t, f.issuer, map[string]any{"alg": "ES256"}, base()), nil, CodeTypMissing},
		{"typ vc+sd-jwt", forge(t, f.issuer, map[string]any{"alg": "ES256", "typ": "vc+sd-jwt"}, base()), nil, CodeTypLegacy},
		{"typ JWT", forge(t, f.issuer, map[string]any{"alg": "ES256", "typ": "JWT"}, base()), nil, CodeTypWrong},
		{"unknown crit", forge(t, f.issuer, map[string]any{"alg": "ES256", "typ": TypSDJWTVC, "crit": []string{"x-tong"}, "x-tong": 1}, base()), nil, CodeUnknownCrit},
		{"signed by another key", forge(t, other, hdrVC, base()), nil, CodeInvalidSignature},
		{"unreferenced disclosure", presented + foreignDisclosure + "~", nil, CodeUnreferencedDisclosure},
		{"duplicate disclosure", presented + disclosures[1] + "~", nil, CodeDuplicateDisclosure},
		{"tampered disclosure", strings.Replace(presented, disclosures[1], b64u(`["salt","given_name","Mallory"]`), 1), nil, CodeUnreferencedDisclosure},
		{"_sd as a claim name", forge(t, f.issuer, hdrVC, withSD(base(), "$d0"), []any{"c2FsdHNhbHRzYWx0", "_sd", "x"}), nil, CodeReservedClaimName},
		{"... as a claim name", forge(t, f.issuer, hdrVC, withSD(base(), "$d0"), []any{"c2FsdHNhbHRzYWx0", "...", "x"}), nil, CodeReservedClaimName},
		{"_sd as a plain claim value holder", forge(t, f.issuer, hdrVC, map[string]any{"iss": testIssuer, "vct": "v", "_sd": "notarray"}), nil, CodeMalformed},
		{"iss disclosable", forge(t, f.issuer, hdrVC, withSD(map[string]any{"vct": "v"}, "$d0"), []any{"c2FsdA", "iss", testIssuer}), nil, CodeNeverDisclosable},
		{"vct disclosable", forge(t, f.issuer, hdrVC, withSD(map[string]any{"iss": testIssuer}, "$d0"), []any{"c2FsdA", "vct", "v"}), nil, CodeNeverDisclosable},
		{"cnf disclosable", forge(t, f.issuer, hdrVC, withSD(base(), "$d0"), []any{"c2FsdA", "cnf", map[string]any{"jwk": pubJWK}}), nil, CodeNeverDisclosable},
		{"disclosure overwrites a claim", forge(t, f.issuer, hdrVC, withSD(map[string]any{"iss": testIssuer, "vct": "v", "name": "a"}, "$d0"), []any{"c2FsdA", "name", "b"}), nil, CodeClaimExists},
		{"digest used twice", forge(t, f.issuer, hdrVC, withSD(map[string]any{"iss": testIssuer, "vct": "v", "o": map[string]any{"_sd": []any{"$d0"}}}, "$d0"), []any{"c2FsdA", "name", "b"}), nil, CodeDuplicateDigest},
		{"array disclosure in _sd", forge(t, f.issuer, hdrVC, withSD(base(), "$d0"), []any{"c2FsdA", "b"}), nil, CodeDisclosureShape},
		{"expired", forge(t, f.issuer, hdrVC, map[string]any{"iss": testIssuer, "vct": "v", "exp": f.now.Add(-2 * time.Minute).Unix()}), nil, CodeExpired},
		{"nbf in the future", forge(t, f.issuer, hdrVC, map[string]any{"iss": testIssuer, "vct": "v", "nbf": f.now.Add(time.Hour).Unix()}), nil, CodeNotYetValid},
		{"iat in the future", forge(t, f.issuer, hdrVC, map[string]any{"iss": testIssuer, "vct": "v", "iat": f.now.Add(time.Hour).Unix()}), nil, CodeIssuedInFuture},
		{"exp not a number", forge(t, f.issuer, hdrVC, map[string]any{"iss": testIssuer, "vct": "v", "exp": "tomorrow"}), nil, CodeClaimInvalid},
		{"no vct", forge(t, f.issuer, hdrVC, map[string]any{"iss": testIssuer}), nil, CodeClaimMissing},
		{"unsupported _sd_alg", forge(t, f.issuer, hdrVC, map[string]any{"iss": testIssuer, "vct": "v", "_sd_alg": "md5"}), nil, CodeHashAlg},
		{"KB-JWT missing", presented, &testKB, CodeKBMissing},
		{"KB wrong nonce", kb(func(k *KeyBinding) { k.Nonce = "other" }, f.holder), &testKB, CodeKBNonce},
		{"KB wrong aud", kb(func(k *KeyBinding) { k.Audience = "decentralized_identifier:did:tong:zOther" }, f.holder), &testKB, CodeKBAudience},
		{"KB sd_hash mismatch", sdHashMismatch, &testKB, CodeKBSDHash},
		{"KB stale iat", kb(func(k *KeyBinding) { k.IssuedAt = f.now.Add(-time.Hour) }, f.holder), &testKB, CodeKBStale},
		{"KB future iat", kb(func(k *KeyBinding) { k.IssuedAt = f.now.Add(time.Hour) }, f.holder), &testKB, CodeKBFuture},
		{"KB signed by another key", kb(noop, other), &testKB, CodeKBSignature},
		{"token over 1 MiB", jwt + "~" + strings.Repeat("A", MaxTokenSize) + "~", nil, CodeTooLarge},
		{"nesting deeper than 32", forge(t, f.issuer, hdrVC, map[string]any{"iss": testIssuer, "vct": "v", "deep": deep(40)}), nil, CodeTooDeep},
		{"not an SD-JWT", "eyJ.eyJ.sig", nil, CodeMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := f.verifier().Verify(context.Background(), tc.token, VerifyOptions{KeyBinding: tc.kb})
			var e *Error
			if !errors.As(err, &e) || e.Code != tc.want {
				t.Fatalf("Verify(%s) = %v, want code %s", tc.name, err, tc.want)
			}
			last := res.Checks[len(res.Checks)-1]
			if last.OK || last.Code != tc.want {
				t.Errorf("last check = %+v, want a failed check with code %s", last, tc.want)
			}
		})
	}
}

func deep(n int) any {
	var v any = "x"
	for range n {
		v = []any{v}
	}
	return v
}

// The issuer refuses to make registered claims disclosable, and reserved
// names in claims.
func TestIssueRefuses(t *testing.T) {
	t.Parallel()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	for _, tc := range []struct {
		name string
		vc   VC
		want Code
	}{
		{"no vct", VC{Issuer: testIssuer}, CodeClaimMissing},
		{"iss in Claims", VC{Issuer: testIssuer, VCT: "v", Claims: map[string]any{"iss": "x"}}, CodeClaimInvalid},
		{"status disclosable", VC{Issuer: testIssuer, VCT: "v", Status: &StatusRef{URI: "u"}, Disclosable: []Path{{"status"}}}, CodeNeverDisclosable},
		{"path to nothing", VC{Issuer: testIssuer, VCT: "v", Claims: map[string]any{"a": 1}, Disclosable: []Path{{"b"}}}, CodeInvalidPath},
		{"_sd claim", VC{Issuer: testIssuer, VCT: "v", Claims: map[string]any{"o": map[string]any{"_sd": 1}}}, CodeReservedClaimName},
	} {
		if _, err := IssueVC(k, tc.vc, IssueOptions{}); CodeOf(err) != tc.want {
			t.Errorf("IssueVC(%s) = %v, want %s", tc.name, err, tc.want)
		}
	}
}
