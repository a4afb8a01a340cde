package credential_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/tongid/tong/credential"
	"github.com/tongid/tong/internal/x509ca"
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

// A wallet lists the aki values a credential's x5c chain answers, to
// match a DCQL trusted_authorities query: the city CA's key identifier
// for an agency certificate the CA issued.
func ExampleAuthorityKeyIDs() {
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	agencyKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca, _ := x509ca.NewRoot(caKey, "City CA", time.Now(), 0)
	leaf, _ := x509ca.Issue(ca, caKey, agencyKey.Public(), x509ca.Leaf{CommonName: "PSB"}, time.Now())

	akis, err := credential.AuthorityKeyIDs(x509ca.EncodeX5C(leaf))
	if err != nil {
		panic(err)
	}
	root, _ := x509.ParseCertificate(ca)
	fmt.Println(len(akis), akis[0] == base64.RawURLEncoding.EncodeToString(root.SubjectKeyId))
	// Output: 1 true
}
