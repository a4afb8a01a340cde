package credential_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"time"

	"github.com/tongid/tong/credential"
)

// An agency issues a citizen identity credential, the citizen's wallet
// presents only the given name and the age-over-18 flag, and a counter
// verifies the presentation.
func Example() {
	issuerKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	holderKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	const iss = "https://tong.example/issuers/psb"

	vc, err := credential.IssueVC(issuerKey, credential.VC{
		Issuer: iss,
		VCT:    "urn:tong:vct:citizen-identity:1",
		Expiry: time.Now().AddDate(5, 0, 0),
		Holder: &holderKey.PublicKey,
		Claims: map[string]any{
			"given_name":        "Fang",
			"family_name":       "Wang",
			"age_equal_or_over": map[string]any{"18": true},
		},
		Disclosable: []credential.Path{{"given_name"}, {"family_name"}, {"age_equal_or_over", "18"}},
	}, credential.IssueOptions{})
	if err != nil {
		panic(err)
	}

	kb := credential.KeyBinding{Nonce: "n-4Sd9", Audience: "decentralized_identifier:did:tong:zCounter"}
	vp, err := credential.Present(vc, []credential.Path{{"given_name"}, {"age_equal_or_over", "18"}}, holderKey, kb)
	if err != nil {
		panic(err)
	}

	v := &credential.Verifier{Keys: credential.StaticIssuerKeys{iss: &issuerKey.PublicKey}}
	res, err := v.Verify(context.Background(), vp, credential.VerifyOptions{
		KeyBinding: &credential.KBPolicy{Nonce: kb.Nonce, Audience: kb.Audience},
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.VCT)
	fmt.Println(res.Claims["given_name"], res.Claims["age_equal_or_over"], res.Claims["family_name"])
	for _, c := range res.Checks {
		fmt.Println(c.Name, c.OK)
	}
	// Output:
	// urn:tong:vct:citizen-identity:1
	// Fang map[18:true] <nil>
	// syntax true
	// typ true
	// issuer_key true
	// signature true
	// claims true
	// validity true
	// disclosures true
	// key_binding true
}

// A refusal carries a stable code.
func ExampleCodeOf() {
	_, err := credential.Parse("eyJhbGciOiJub25lIn0.e30.~")
	fmt.Println(credential.CodeOf(err))
	// Output: alg_none
}

func ExampleJWTVCIssuerMetadataURL() {
	u, _ := credential.JWTVCIssuerMetadataURL("https://tong.example/issuers/psb")
	fmt.Println(u)
	// Output: https://tong.example/.well-known/jwt-vc-issuer/issuers/psb
}
