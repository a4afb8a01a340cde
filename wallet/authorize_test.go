//go:build !js

package wallet_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tongid/tong/credential/vciwire"
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

// TestReceiveAuthorizedSessionFixation: an attacker runs PAR and opens the
// authorization page (and keeps its cookie and status_uri), and the
// citizen's Tong wallet answers the page's presentation request, as if
// the citizen had scanned the attacker's QR code. The real verifier sends
// the wallet back with a response_code; the attacker's page learns only
// that the citizen presented, the citizen's browser following the
// wallet's redirect without the page's cookie gets session_mismatch and
// no code, and the authorization is spent; the attacker's cookie with a
// missing or made-up response_code gets the same. The credential staged for the
// citizen is still theirs: their own ReceiveAuthorized then gets it.
func TestReceiveAuthorizedSessionFixation(t *testing.T) {
	authn := &web.IssuerAuthenticator{}
	c := tongtest.New(t, tongtest.Options{IssuerConfig: func(cfg *issuer.Config) { cfg.Authenticator = authn }})
	ctx := context.Background()
	var err error
	if authn.Counter, err = c.Verifier.Authenticate(ctx, c.CounterTokens[web.PurposeIssuerSignIn]); err != nil {
		t.Fatal(err)
	}
	authn.Verifier = c.Verifier
	victim := c.Citizen(t, nil)
	types, _ := issuer.DemoTypes()
	pan := types["citizen-identity"].ExampleClaims[issuer.SubjectClaim].(string)
	if _, err := c.Issuer.CreateOffer(ctx, "housing", "test", issuer.OfferRequest{Type: "beijing-residence", Claims: types["beijing-residence"].ExampleClaims, Subject: pan}); err != nil {
		t.Fatal(err)
	}
	housing, _ := c.Issuer.Agency(ctx, "housing")
	hc := c.Client()
	get := func(u, cookie string, out any) (int, http.Header) {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Accept", "application/json")
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		_ = json.NewDecoder(resp.Body).Decode(out)
		return resp.StatusCode, resp.Header
	}

	// attack runs the attacker's flow (PAR with their own PKCE and
	// redirect_uri, the authorization page) and has the victim's wallet
	// answer the page; it returns the page, the attacker's cookie and the
	// wallet's receipt.
	attack := func() (vciwire.AuthorizationStatus, string, *wallet.Receipt) {
		t.Helper()
		sum := sha256.Sum256([]byte(strings.Repeat("v", 43)))
		form := url.Values{"response_type": {"code"}, "client_id": {"attacker"}, "redirect_uri": {"https://attacker.example/cb"}, "state": {"s"},
			"code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"},
			"authorization_details": {`[{"type":"openid_credential","credential_configuration_id":"beijing-residence"}]`}}
		resp, err := hc.PostForm(housing.IssuerURL+"/par", form)
		if err != nil {
			t.Fatal(err)
		}
		var par vciwire.PARResponse
		_ = json.NewDecoder(resp.Body).Decode(&par)
		resp.Body.Close()
		if resp.StatusCode != 201 {
			t.Fatalf("PAR: %d", resp.StatusCode)
		}
		var page vciwire.AuthorizationStatus
		st, h := get(housing.IssuerURL+"/authorize?"+url.Values{"client_id": {"attacker"}, "request_uri": {par.RequestURI}}.Encode(), "", &page)
		cookies := (&http.Response{Header: h}).Cookies()
		if st != 200 || page.PresentationURI == "" || len(cookies) != 1 {
			t.Fatalf("authorize: %d %+v, cookies %v", st, page, cookies)
		}
		req, err := victim.Match(ctx, page.PresentationURI)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := victim.Present(ctx, req, func(context.Context, *wallet.ConsentRequest) (wallet.Decision, error) {
			return wallet.Decision{Approve: true}, nil
		})
		if err != nil {
			t.Fatalf("Present: %v", err)
		}
		if !strings.HasPrefix(rec.RedirectURI, page.StatusURI+issuer.ReturnPath+"?response_code=") {
			t.Fatalf("the verifier sent the wallet to %q, want the authorization's return URL with a response_code", rec.RedirectURI)
		}
		return page, cookies[0].Name + "=" + cookies[0].Value, rec
	}
	type answer struct {
		vciwire.AuthorizationStatus
		Error string `json:"error"`
	}
	page, attackerCookie, rec := attack()

	// The attacker's page: presented, no code.
	var polled vciwire.AuthorizationStatus
	if st, _ := get(page.StatusURI, attackerCookie, &polled); st != 200 || polled.Status != "presented" || polled.RedirectTo != "" {
		t.Fatalf("the attacker's page after the victim presented: %d %+v, want presented and no redirect", st, polled)
	}
	// The victim's browser, back from the wallet without the page's
	// cookie: refused, no code; and the authorization is spent.
	var back answer
	if st, _ := get(rec.RedirectURI, "", &back); st != http.StatusForbidden || back.Error != string(issuer.CodeSessionMismatch) || back.RedirectTo != "" {
		t.Fatalf("the victim's browser at the return URL: %d %+v, want 403 %s", st, back, issuer.CodeSessionMismatch)
	}
	back.Error = ""
	if st, _ := get(rec.RedirectURI, attackerCookie, &back); st != http.StatusNotFound || back.Error != string(issuer.CodeNotFound) || back.RedirectTo != "" {
		t.Fatalf("the attacker's cookie with the victim's response_code afterwards: %d %+v, want 404 not_found", st, back)
	}

	// The attacker's own cookie without the victim's response_code, or
	// with a made-up one, gets no code either.
	for _, code := range []string{"", "AAAAAAAAAAAAAAAAAAAAAA"} {
		page, attackerCookie, _ := attack()
		back = answer{}
		if st, _ := get(page.StatusURI+issuer.ReturnPath+"?response_code="+code, attackerCookie, &back); st != http.StatusForbidden || back.Error != string(issuer.CodeSessionMismatch) || back.RedirectTo != "" {
			t.Fatalf("the attacker's cookie with response_code %q: %d %+v, want 403 %s", code, st, back, issuer.CodeSessionMismatch)
		}
	}

	// The staged credential still waits for the citizen.
	cred, err := victim.ReceiveAuthorized(ctx, housing.IssuerURL, "beijing-residence", func(context.Context, *wallet.ConsentRequest) (wallet.Decision, error) {
		return wallet.Decision{Approve: true}, nil
	})
	if err != nil || cred.VCT != "urn:tong:vct:beijing-residence:1" {
		t.Fatalf("the citizen's own ReceiveAuthorized after the attempt: %v", err)
	}
}
