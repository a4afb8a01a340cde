package oid4vci_test

import (
	"crypto/rand"
	"encoding/base64"
	"testing"
	"time"

	"github.com/tongid/tong/internal/jose"
	"github.com/tongid/tong/internal/keys"
	"github.com/tongid/tong/issuer"
)

const testAttester = "https://wallet-provider.example"

// attest makes a Client Attestation JWT for the instance key, signed by
// attester, and a PoP by instance for aud; modA and modP change claims.
func attest(tb testing.TB, attester, instance *keys.Signer, clientID, aud string, modA, modP func(map[string]any)) (string, string) {
	tb.Helper()
	jwk, _ := jose.PublicJWK(instance.Public())
	a := map[string]any{"iss": testAttester, "sub": clientID, "iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(), "cnf": map[string]any{"jwk": jwk}}
	if modA != nil {
		modA(a)
	}
	att, err := jose.SignRaw(attester, mustJSON(map[string]any{"alg": attester.Alg(), "typ": issuer.TypClientAttestation}), mustJSON(a))
	if err != nil {
		tb.Fatal(err)
	}
	jti := make([]byte, 12)
	_, _ = rand.Read(jti)
	p := map[string]any{"aud": aud, "jti": base64.RawURLEncoding.EncodeToString(jti), "iat": time.Now().Unix()}
	if modP != nil {
		modP(p)
	}
	pop, err := jose.SignRaw(instance, mustJSON(map[string]any{"alg": instance.Alg(), "typ": issuer.TypClientAttestationPoP}), mustJSON(p))
	if err != nil {
		tb.Fatal(err)
	}
	return att, pop
}

// TestClientAttestation: a wallet attestation from the trusted attester
// is accepted at PAR and token endpoints (and advertised); each hostile
// variant is invalid_client; without the headers a public client is
// still served.
//
// Spec: draft-ietf-oauth-attestation-based-client-auth §5: the attestation
// is signed by the attester and names the client in sub, with the
// instance key in cnf; the PoP is signed by that key, for the
// authorization server (aud), with a jti and iat the server checks.
func TestClientAttestation(t *testing.T) {
	ks := newKeys(t, 3)
	attester, instance, other := ks[0], ks[1], ks[2]
	e, si := authzEnv(t, func(c *issuer.Config) {
		c.ClientAttesters = []issuer.ClientAttester{{Issuer: testAttester, Key: attester.Public()}}
	})
	var asm struct {
		TokenEndpointAuthMethodsSupported []string `json:"token_endpoint_auth_methods_supported"`
	}
	e.call(t, "GET", "/.well-known/oauth-authorization-server/issuers/psb", "", nil, nil, &asm)
	if len(asm.TokenEndpointAuthMethodsSupported) != 2 || asm.TokenEndpointAuthMethodsSupported[1] != issuer.AuthMethodAttestJWT {
		t.Fatalf("token_endpoint_auth_methods_supported %v", asm.TokenEndpointAuthMethodsSupported)
	}
	aud := e.ag.IssuerURL
	_, challenge := pkce()
	hdr := func(att, pop string) map[string]string {
		return map[string]string{issuer.HeaderClientAttestation: att, issuer.HeaderClientAttestationPoP: pop}
	}
	for _, name := range []string{"attestation by another key", "unknown attester", "sub is another client", "expired",
		"PoP by another key (cnf)", "PoP for another aud", "PoP stale iat", "PoP without jti", "wrong typ", "attestation without PoP"} {
		t.Run(name, func(t *testing.T) {
			var att, pop string
			switch name {
			case "attestation by another key":
				att, pop = attest(t, other, instance, testClient, aud, nil, nil)
			case "unknown attester":
				att, pop = attest(t, attester, instance, testClient, aud, func(c map[string]any) { c["iss"] = "https://evil.example" }, nil)
			case "sub is another client":
				att, pop = attest(t, attester, instance, "another-client", aud, nil, nil)
			case "expired":
				att, pop = attest(t, attester, instance, testClient, aud, func(c map[string]any) { c["exp"] = time.Now().Add(-time.Hour).Unix() }, nil)
			case "PoP by another key (cnf)":
				att, _ = attest(t, attester, instance, testClient, aud, nil, nil)
				_, pop = attest(t, attester, other, testClient, aud, nil, nil)
			case "PoP for another aud":
				att, pop = attest(t, attester, instance, testClient, "https://other-as.example", nil, nil)
			case "PoP stale iat":
				att, pop = attest(t, attester, instance, testClient, aud, nil, func(c map[string]any) { c["iat"] = time.Now().Add(-time.Hour).Unix() })
			case "PoP without jti":
				att, pop = attest(t, attester, instance, testClient, aud, nil, func(c map[string]any) { delete(c, "jti") })
			case "wrong typ":
				a, p := attest(t, attester, instance, testClient, aud, nil, nil)
				att, pop = p, a // each with the other's typ
			case "attestation without PoP":
				att, _ = attest(t, attester, instance, testClient, aud, nil, nil)
			}
			h := hdr(att, pop)
			if pop == "" {
				delete(h, issuer.HeaderClientAttestationPoP)
			}
			var p parOut
			if st := e.form(t, "/issuers/psb/par", parForm(challenge), h, &p); st != 400 || p.Error != "invalid_client" {
				t.Fatalf("%s: %d %+v, want 400 invalid_client", name, st, p)
			}
		})
	}
	// A good attestation: PAR accepted; its PoP works once.
	att, pop := attest(t, attester, instance, testClient, aud, nil, nil)
	var p parOut
	if st := e.form(t, "/issuers/psb/par", parForm(challenge), hdr(att, pop), &p); st != 201 {
		t.Fatalf("PAR with a good attestation: %d %+v", st, p)
	}
	p = parOut{}
	if st := e.form(t, "/issuers/psb/par", parForm(challenge), hdr(att, pop), &p); st != 400 || p.Error != "invalid_client" {
		t.Fatalf("replayed PoP: %d %+v, want invalid_client", st, p)
	}
	// The whole flow with attestations at PAR and token.
	e.stage(t, "citizen-identity", testSubject)
	verifier, challenge := pkce()
	att, pop = attest(t, attester, instance, testClient, aud, nil, nil)
	code := e.authorized(t, si, parForm(challenge), hdr(att, pop))
	att, pop = attest(t, attester, instance, testClient, aud, nil, nil)
	var tok tokenOut
	if st := e.form(t, "/issuers/psb/token", codeForm(code, verifier), hdr(att, pop), &tok); st != 200 || tok.AccessToken == "" {
		t.Fatalf("token with a good attestation: %d %+v", st, tok)
	}
	// Without headers a public client is still served.
	if st := e.form(t, "/issuers/psb/par", parForm(challenge), nil, &p); st != 201 {
		t.Fatalf("PAR without attestation: %d %+v", st, p)
	}
}
