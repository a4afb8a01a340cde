//go:build !js

package wallet_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/tongid/tong/issuer"
	"github.com/tongid/tong/tongtest"
	"github.com/tongid/tong/wallet"
	"github.com/tongid/tong/web"
)

// TestReceiveAuthorized: Tong's wallet, holding the PSB's citizen
// identity, gets the residence credential the housing commission (set to
// high assurance) staged for the citizen, by the authorization code flow:
// PAR with PKCE and DPoP, sign-in by presenting its own identity
// credential to Tong's verifier, the code, and the DPoP-bound credential
// request. A second try finds nothing staged and is refused with
// authorization_denied.
func TestReceiveAuthorized(t *testing.T) {
	authn := &web.IssuerAuthenticator{}
	c := tongtest.New(t, tongtest.Options{IssuerConfig: func(cfg *issuer.Config) { cfg.Authenticator = authn }})
	ctx := context.Background()
	var err error
	if authn.Counter, err = c.Verifier.Authenticate(ctx, c.CounterTokens[web.PurposeIssuerSignIn]); err != nil {
		t.Fatal(err)
	}
	authn.Verifier = c.Verifier
	if err := c.Issuer.SetProfile(ctx, "housing", issuer.ProfileHAIP); err != nil {
		t.Fatal(err)
	}
	w := c.Citizen(t, nil) // identity and residence, by pre-authorized code
	before, _ := w.Credentials(ctx)
	types, _ := issuer.DemoTypes()
	pan := types["citizen-identity"].ExampleClaims[issuer.SubjectClaim].(string)
	if _, err := c.Issuer.CreateOffer(ctx, "housing", "test", issuer.OfferRequest{Type: "beijing-residence", Claims: types["beijing-residence"].ExampleClaims, Subject: pan}); err != nil {
		t.Fatal(err)
	}
	housing, _ := c.Issuer.Agency(ctx, "housing")
	var asked []string
	consent := func(_ context.Context, req *wallet.ConsentRequest) (wallet.Decision, error) {
		for _, cr := range req.Credentials {
			for _, cl := range cr.Claims {
				for _, p := range cl.Path {
					asked = append(asked, fmt.Sprint(p))
				}
			}
		}
		return wallet.Decision{Approve: true}, nil
	}
	cred, err := w.ReceiveAuthorized(ctx, housing.IssuerURL, "beijing-residence", consent)
	if err != nil {
		t.Fatalf("ReceiveAuthorized: %v", err)
	}
	if cred.VCT != "urn:tong:vct:beijing-residence:1" || cred.Issuer != housing.IssuerURL {
		t.Fatalf("credential %s from %s", cred.VCT, cred.Issuer)
	}
	after, _ := w.Credentials(ctx)
	if len(after) != len(before)+1 {
		t.Fatalf("%d credentials after, %d before", len(after), len(before))
	}
	if len(asked) != 1 || asked[0] != issuer.SubjectClaim {
		t.Errorf("the sign-in asked for %v, want only %s", asked, issuer.SubjectClaim)
	}
	_, err = w.ReceiveAuthorized(ctx, housing.IssuerURL, "beijing-residence", consent)
	var we *wallet.Error
	if !errors.As(err, &we) || we.Code != wallet.CodeAuthorizationDenied {
		t.Fatalf("second ReceiveAuthorized = %v, want %s", err, wallet.CodeAuthorizationDenied)
	}
}
