package vcjose_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"

	"github.com/tongid/tong/credential/vcjose"
)

func Example() {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tok, _ := vcjose.Issue(key, "housing-1", vcjose.Credential{
		Issuer:            "https://tong.example/issuers/housing",
		Type:              []string{"VerifiableCredential", "BeijingResidenceCredential"},
		CredentialSubject: map[string]any{"address": map[string]any{"locality": "Beijing"}},
	})
	keys := vcjose.KeyFunc(func(context.Context, string, string) (crypto.PublicKey, error) { return &key.PublicKey, nil })
	r, err := vcjose.Verify(context.Background(), tok, keys, vcjose.Options{})
	fmt.Println(err, r.Issuer, r.Header.Typ)
	// Output: <nil> https://tong.example/issuers/housing vc+jwt
}
