//go:build !js

package wallet_test

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/tongid/tong/did"
	"github.com/tongid/tong/didregistry"
	"github.com/tongid/tong/didregistry/client"
	"github.com/tongid/tong/internal/jose"
	"github.com/tongid/tong/internal/keys"
	"github.com/tongid/tong/wallet"
)

// The verifying registry client is what the wallet is given in
// production.
var _ wallet.Registry = (*client.Client)(nil)

// fakeRegistry is a registry that answers from maps, so a test can say
// what the registry knows without running one.
type fakeRegistry struct {
	issuers    map[string]string        // issuer URL → DID
	docs       map[string]*did.Document // DID → document
	accredited map[string]bool          // subject + " " + role + " " + item
}

var errUnknown = errors.New("fake registry: unknown")

func (r *fakeRegistry) DIDForIssuerURL(ctx context.Context, u string) (string, *did.Document, error) {
	id, ok := r.issuers[u]
	if !ok {
		return "", nil, errUnknown
	}
	return id, r.docs[id], nil
}

func (r *fakeRegistry) Resolve(ctx context.Context, id string, opts did.ResolveOptions) (*did.Result, error) {
	doc, ok := r.docs[id]
	if !ok {
		return nil, errUnknown
	}
	return &did.Result{Document: doc}, nil
}

func (r *fakeRegistry) Accredited(ctx context.Context, subject, role, item string, at time.Time) (bool, error) {
	return r.accredited[subject+" "+role+" "+item], nil
}

// docFor is a DID document with k as its one authentication key, #key-1.
func docFor(t *testing.T, id string, k *keys.Signer) *did.Document {
	t.Helper()
	jwk, err := jose.PublicJWK(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := json.Marshal(jwk)
	vm := id + "#key-1"
	return &did.Document{
		ID:                  id,
		VerificationMethods: []did.VerificationMethod{{ID: vm, Type: "JsonWebKey", Controller: id, PublicKeyJwk: raw}},
		Authentication:      []did.VerificationRef{{Ref: vm}},
	}
}

// TestRegistryAnswersAreHonoured runs the wallet against a fake registry
// (RequireRegistry set) and changes what the registry says between steps:
// an issuer or verifier it does not know, or knows but does not accredit,
// is refused; once accredited it is accepted and marked verified.
func TestRegistryAnswersAreHonoured(t *testing.T) {
	const (
		vct         = "urn:tong:vct:citizen-identity:1"
		issuerDID   = "did:tong:fake-issuer"
		verifierDID = "did:tong:fake-counter"
	)
	reg := &fakeRegistry{issuers: map[string]string{}, docs: map[string]*did.Document{}, accredited: map[string]bool{}}
	e := newIssuer(t)
	opts := loopbackOpts(e.srv)
	opts.Registry, opts.RequireRegistry, opts.RefillAt = reg, true, -1
	w, _ := newWallet(t, opts)
	receive := func() (*wallet.Credential, error) {
		t.Helper()
		o, err := e.offer(t, "citizen-identity")
		if err != nil {
			t.Fatal(err)
		}
		return w.Receive(t.Context(), o.OfferURI, o.TxCode)
	}

	if _, err := receive(); wallet.CodeOf(err) != wallet.CodeIssuerUntrusted {
		t.Fatalf("Receive from an issuer the registry does not know = %v, want %s", err, wallet.CodeIssuerUntrusted)
	}
	ag, err := e.svc.Agency(t.Context(), "psb")
	if err != nil {
		t.Fatal(err)
	}
	reg.issuers[ag.IssuerURL] = issuerDID
	reg.docs[issuerDID] = docFor(t, issuerDID, ag.Signer())
	if _, err := receive(); wallet.CodeOf(err) != wallet.CodeIssuerUntrusted {
		t.Fatalf("Receive from an issuer not accredited for %s = %v, want %s", vct, err, wallet.CodeIssuerUntrusted)
	}
	reg.accredited[issuerDID+" "+didregistry.RoleIssuer+" "+vct] = true
	c, err := receive()
	if err != nil {
		t.Fatalf("Receive from an accredited issuer: %v", err)
	}
	if c.IssuerDID != issuerDID {
		t.Fatalf("IssuerDID = %q, want %q (the registry's answer)", c.IssuerDID, issuerDID)
	}

	ctr := newCounter(t, nil)
	ctr.did = verifierDID
	match := func() (*wallet.Request, error) {
		t.Helper()
		uri, _ := ctr.request("identity-basic", ageQuery, nil)
		return w.Match(t.Context(), uri)
	}
	if _, err := match(); wallet.CodeOf(err) != wallet.CodeVerifierUntrusted {
		t.Fatalf("Match for a verifier the registry does not know = %v, want %s", err, wallet.CodeVerifierUntrusted)
	}
	reg.docs[verifierDID] = docFor(t, verifierDID, ctr.key)
	if _, err := match(); wallet.CodeOf(err) != wallet.CodeVerifierNotAccredited {
		t.Fatalf("Match for a verifier not accredited for the purpose = %v, want %s", err, wallet.CodeVerifierNotAccredited)
	}
	reg.accredited[verifierDID+" "+didregistry.RoleVerifier+" identity-basic"] = true
	req, err := match()
	if err != nil {
		t.Fatalf("Match for an accredited verifier: %v", err)
	}
	if !req.Verified || req.VerifierDID != verifierDID {
		t.Fatalf("Match: Verified = %v, VerifierDID = %q; want true, %q", req.Verified, req.VerifierDID, verifierDID)
	}
}
