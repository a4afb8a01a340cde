package credential

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/tongid/tong/internal/jose"
)

const testIssuer = "https://issuer.tong.example/psb"

// citizen is the citizen-identity credential the tests and benchmarks
// use: 8 claims, all selectively disclosable.
func citizenClaims() map[string]any {
	return map[string]any{
		"family_name":                    "Wang",
		"given_name":                     "Fang",
		"birthdate":                      "1990-05-04",
		"age_equal_or_over":              map[string]any{"18": true, "60": false},
		"nationalities":                  []any{"CN"},
		"address":                        map[string]any{"locality": "Beijing", "region": "Dongcheng"},
		"personal_administrative_number": "110101199005041234",
		"sex":                            2,
	}
}

var citizenSD = []Path{
	{"family_name"}, {"given_name"}, {"birthdate"}, {"age_equal_or_over", "18"}, {"age_equal_or_over", "60"},
	{"age_equal_or_over"}, {"nationalities", nil}, {"address"}, {"address", "locality"}, {"address", "region"},
	{"personal_administrative_number"}, {"sex"},
}

type fixture struct {
	issuer, holder *ecdsa.PrivateKey
	now            time.Time
	token          string // the credential as issued, every disclosure
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	f := &fixture{now: time.Unix(1_800_000_000, 0)}
	f.issuer, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	f.holder, _ = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tok, err := IssueVC(f.issuer, VC{
		Issuer: testIssuer, VCT: "urn:tong:vct:citizen-identity:1", KeyID: "psb-1",
		IssuedAt: f.now.Add(-time.Hour), Expiry: f.now.Add(365 * 24 * time.Hour),
		Holder: &f.holder.PublicKey, Status: &StatusRef{Index: 42, URI: testIssuer + "/status/1"},
		Claims: citizenClaims(), Disclosable: citizenSD,
	}, IssueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	f.token = tok
	return f
}

func (f *fixture) verifier() *Verifier {
	return &Verifier{Keys: StaticIssuerKeys{testIssuer: &f.issuer.PublicKey}, Now: func() time.Time { return f.now }}
}

var testKB = KBPolicy{Nonce: "n-0S6_WzA2Mj", Audience: "decentralized_identifier:did:tong:zCounter"}

// present discloses paths with a KB-JWT for testKB.
func (f *fixture) present(t testing.TB, paths ...Path) string {
	t.Helper()
	p, err := Present(f.token, paths, f.holder, KeyBinding{Nonce: testKB.Nonce, Audience: testKB.Audience, IssuedAt: f.now})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// forge signs an arbitrary header and payload with key and appends the
// given disclosures (as JSON arrays), for hostile tests. It returns the
// SD-JWT and the digests of the disclosures, in order.
func forge(t testing.TB, key crypto.Signer, header, payload map[string]any, disclosures ...[]any) string {
	t.Helper()
	encs := make([]string, len(disclosures))
	for i, d := range disclosures {
		raw, _ := json.Marshal(d)
		encs[i] = base64.RawURLEncoding.EncodeToString(raw)
	}
	// Payload values of the form "$dN" become the digest of disclosure N.
	var subst func(v any) any
	subst = func(v any) any {
		switch x := v.(type) {
		case string:
			if len(x) == 3 && x[:2] == "$d" {
				return digestOf(encs[x[2]-'0'])
			}
		case map[string]any:
			out := map[string]any{}
			for k, e := range x {
				out[k] = subst(e)
			}
			return out
		case []any:
			out := make([]any, len(x))
			for i, e := range x {
				out[i] = subst(e)
			}
			return out
		}
		return v
	}
	body, _ := json.Marshal(subst(payload))
	hdr, _ := json.Marshal(header)
	jwt, err := jose.SignRaw(key, hdr, body)
	if err != nil {
		t.Fatal(err)
	}
	out := jwt + "~"
	for _, e := range encs {
		out += e + "~"
	}
	return out
}
