package issuer_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/tongid/tong/credential"
	"github.com/tongid/tong/internal/jose"
	"github.com/tongid/tong/internal/keys"
	"github.com/tongid/tong/internal/store"
	"github.com/tongid/tong/issuer"
)

// An agency offers a citizen identity, the wallet redeems the offer with
// its PIN, proves a key and receives an SD-JWT VC bound to it; then the
// agency revokes it. These are the calls issuer/oid4vci makes for the
// OpenID4VCI endpoints (token, nonce, credential) and the staff API.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "issuer-example")
	defer os.RemoveAll(dir)
	// openDB (opendb_test.go) opens SQLite: store.Open, or sqlitedb.Open
	// where the driver lives in its own package.
	db, err := openDB(ctx, filepath.Join(dir, "tong.db"), store.Options{})
	if err != nil {
		panic(err)
	}
	defer db.Close()
	kd, _ := keys.OpenDir(filepath.Join(dir, "keys"), make([]byte, keys.MasterKeySize))
	_, _ = kd.Create("org-psb", keys.ES256)

	secret := make([]byte, 32) // DATA/issuer.secret in tong serve
	svc, err := issuer.New(ctx, issuer.Config{DB: db, Keys: kd, Secret: secret})
	if err != nil {
		panic(err)
	}
	const url = "https://psb.example/issuers/psb"
	if err := svc.AddAgency(ctx, issuer.Agency{Slug: "psb", Name: "Public Security Bureau", IssuerURL: url,
		DID: "did:tong:zPSB", KeyName: "org-psb", KeyID: "did:tong:zPSB#key-1"}); err != nil {
		panic(err)
	}
	types, _ := issuer.DemoTypes()
	identity := types["citizen-identity"]
	_ = svc.PutType(ctx, "psb", "admin", identity)

	// Staff: an offer, and the PIN the citizen is told apart.
	offer, err := svc.CreateOffer(ctx, "psb", "officer", issuer.OfferRequest{Type: identity.ID, Claims: identity.ExampleClaims})
	if err != nil {
		panic(err)
	}
	fmt.Println(strings.HasPrefix(offer.OfferURI, "openid-credential-offer://?credential_offer_uri="), len(offer.TxCode))

	// Wallet: the offer object, then the token endpoint.
	obj, _ := svc.CredentialOfferObject(ctx, "psb", offer.ID)
	code := obj.Grants[issuer.GrantPreAuthorizedCode].PreAuthorizedCode
	tok, err := svc.Token(ctx, "psb", issuer.TokenRequest{GrantType: issuer.GrantPreAuthorizedCode, PreAuthorizedCode: code, TxCode: offer.TxCode, TxCodeSent: true})
	if err != nil {
		panic(err)
	}
	fmt.Println(tok.TokenType)

	// Wallet: a key proof over a fresh c_nonce, then the credential.
	holder, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwk, _ := jose.PublicJWK(holder.Public())
	claims, _ := json.Marshal(map[string]any{"aud": url, "iat": time.Now().Unix(), "nonce": svc.Nonce()})
	proof, _ := jose.Sign(holder, map[string]any{"alg": "ES256", "typ": issuer.TypProof, "jwk": jwk}, claims)
	proofs, _ := json.Marshal(map[string][]string{"jwt": {proof}})
	resp, status, err := svc.Credential(ctx, "psb", tok.AccessToken, "", &issuer.CredentialRequest{CredentialConfigurationID: identity.ID, Proofs: proofs})
	if err != nil {
		panic(err)
	}
	sd, _ := credential.Parse(resp.Credentials[0].Credential)
	got, _ := sd.Process()
	fmt.Println(status, len(resp.Credentials), got["vct"] == identity.VCT, got["iss"])

	// The same token cannot fetch it twice.
	_, _, err = svc.Credential(ctx, "psb", tok.AccessToken, "", &issuer.CredentialRequest{CredentialConfigurationID: identity.ID, Proofs: proofs})
	fmt.Println(issuer.CodeOf(err))

	// Staff: revoke it; every copy's status list entry changes.
	info, _ := svc.SetStatus(ctx, "psb", "officer", offer.CredentialID, issuer.StatusRevoked)
	fmt.Println(info.Status, info.Copies)
	// Output:
	// true 6
	// Bearer
	// 200 1 true https://psb.example/issuers/psb
	// invalid_token
	// revoked 1
}
