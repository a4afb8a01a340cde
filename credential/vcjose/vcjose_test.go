package vcjose

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"strings"
	"testing"
	"time"

	"github.com/tongid/tong/credential/statuslist"
	"github.com/tongid/tong/did"
	"github.com/tongid/tong/internal/jose"
)

var now = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func sample() Credential {
	return Credential{
		Issuer:     "https://tong.example/issuers/housing",
		Type:       []string{TypeVC, "BeijingResidenceCredential"},
		ValidFrom:  "2026-01-01T00:00:00Z",
		ValidUntil: "2027-01-01T00:00:00Z",
		CredentialSubject: map[string]any{
			"address": map[string]any{"locality": "Beijing", "district": "Dongcheng"},
		},
		CredentialStatus: &statuslist.BitstringStatusListEntry{
			ID: "https://tong.example/status/3#94567", Type: statuslist.TypeBitstringStatusListEntry,
			StatusPurpose: statuslist.PurposeRevocation, StatusListIndex: "94567",
			StatusListCredential: "https://tong.example/status/3",
		},
	}
}

func static(k crypto.PublicKey) KeyResolver {
	return KeyFunc(func(context.Context, string, string) (crypto.PublicKey, error) { return k, nil })
}

func TestIssueVerify(t *testing.T) {
	t.Parallel()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tok, err := Issue(k, "k1", sample())
	if err != nil {
		t.Fatal(err)
	}
	j, _ := jose.Parse(tok, MaxSize)
	if j.Header.Typ != Typ || strings.Contains(string(j.Payload), `"vc":`) {
		t.Errorf("header typ %q payload %s: want vc+jwt and the credential as the payload", j.Header.Typ, j.Payload)
	}
	r, err := Verify(context.Background(), tok, static(&k.PublicKey), Options{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatalf("Verify = %v (%v)", err, r.Checks)
	}
	if r.Status == nil || r.Status.StatusListIndex != "94567" || r.Issuer != sample().Issuer {
		t.Errorf("result = %+v", r)
	}
	if len(r.Checks) != 6 {
		t.Errorf("checks = %v, want 6 passed", r.Checks)
	}
}

func TestDIDIssuer(t *testing.T) {
	t.Parallel()
	_, k, _ := ed25519.GenerateKey(rand.Reader)
	id, _ := did.NewKeyDID(k.Public())
	c := sample()
	c.Issuer = id
	tok, err := Issue(k, "#"+strings.TrimPrefix(id, "did:key:"), c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Verify(context.Background(), tok, DIDKeys{Resolver: did.KeyResolver{}}, Options{Now: func() time.Time { return now }}); err != nil {
		t.Fatalf("Verify(did:key issuer) = %v", err)
	}
}

func TestHostile(t *testing.T) {
	t.Parallel()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	sign := func(h map[string]any, payload string) string {
		tok, err := jose.Sign(k, h, []byte(payload))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	good, _ := Issue(k, "", sample())
	vc := func(mod string) string {
		return `{"@context":["` + ContextV2 + `"],"type":["VerifiableCredential"],"issuer":"https://i.example","credentialSubject":{"a":1}` + mod + `}`
	}
	h := map[string]any{"alg": "ES256", "typ": Typ}
	for _, tc := range []struct {
		name, token string
		key         crypto.PublicKey
		want        Code
	}{
		{"alg none", "eyJhbGciOiJub25lIiwidHlwIjoidmMrand0In0." + strings.Split(good, ".")[1] + ".", &k.PublicKey, CodeAlg},
		{"typ missing", sign(map[string]any{"alg": "ES256"}, vc("")), &k.PublicKey, CodeTypMissing},
		{"typ JWT", sign(map[string]any{"alg": "ES256", "typ": "JWT"}, vc("")), &k.PublicKey, CodeTypWrong},
		{"other key", good, &other.PublicKey, CodeInvalidSignature},
		{"v1 context", sign(h, strings.Replace(vc(""), ContextV2, "https://www.w3.org/2018/credentials/v1", 1)), &k.PublicKey, CodeDataModel},
		{"no VerifiableCredential type", sign(h, strings.Replace(vc(""), `"VerifiableCredential"`, `"X"`, 1)), &k.PublicKey, CodeDataModel},
		{"no subject", sign(h, strings.Replace(vc(""), `"credentialSubject":{"a":1}`, `"credentialSubject":{}`, 1)), &k.PublicKey, CodeDataModel},
		{"expired", sign(h, vc(`,"validUntil":"2026-01-01T00:00:00Z"`)), &k.PublicKey, CodeExpired},
		{"not yet valid", sign(h, vc(`,"validFrom":"2027-01-01T00:00:00Z"`)), &k.PublicKey, CodeNotYetValid},
		{"bad date", sign(h, vc(`,"validFrom":"yesterday"`)), &k.PublicKey, CodeDataModel},
		{"bad status index", sign(h, vc(`,"credentialStatus":{"type":"BitstringStatusListEntry","statusPurpose":"revocation","statusListIndex":"-1","statusListCredential":"https://s"}`)), &k.PublicKey, CodeDataModel},
		{"duplicate issuer", sign(h, vc(`,"issuer":"https://evil.example"`)), &k.PublicKey, CodeMalformed},
		{"too deep", sign(h, vc(`,"x":`+strings.Repeat("[", 40)+strings.Repeat("]", 40))), &k.PublicKey, CodeTooDeep},
		{"too large", strings.Repeat("a", MaxSize+1), &k.PublicKey, CodeTooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r, err := Verify(context.Background(), tc.token, static(tc.key), Options{Now: func() time.Time { return now }})
			if CodeOf(err) != tc.want {
				t.Fatalf("Verify(%s) = %v, want %s", tc.name, err, tc.want)
			}
			if last := r.Checks[len(r.Checks)-1]; last.OK || last.Code != tc.want {
				t.Errorf("last check = %+v", last)
			}
		})
	}
}

func FuzzVerify(f *testing.F) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	good, _ := Issue(k, "", sample())
	f.Add(good)
	f.Add("e30.e30.")
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Verify(context.Background(), s, static(&k.PublicKey), Options{Now: func() time.Time { return now }})
		if err != nil && (CodeOf(err) == "" || len(r.Checks) == 0) {
			t.Fatalf("error without a code or a check: %v", err)
		}
		if err == nil && s != good {
			t.Fatalf("a mutated credential verified: %q", s)
		}
	})
}
