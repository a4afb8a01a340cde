package httpapi_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"math/big"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tongid/tong/credential"
	"github.com/tongid/tong/internal/keys"
	"github.com/tongid/tong/internal/x509ca"
	"github.com/tongid/tong/issuer"
	"github.com/tongid/tong/verifier"
	"github.com/tongid/tong/wallet"
)

// certifiedPurpose is a test-only purpose: identity-basic's claims, from
// an issuer certified by the CA whose key identifier is kid.
func certifiedPurpose(kid string) []byte {
	return []byte(`{"id":"identity-certified","display":[{"name":"Identity check (certified issuer)","locale":"en"}],
 "dcql_query":{"credentials":[{"id":"pid","format":"dc+sd-jwt","meta":{"vct_values":["urn:tong:vct:citizen-identity:1"]},
  "trusted_authorities":[{"type":"aki","values":["` + kid + `"]}],
  "claims":[{"path":["family_name"]},{"path":["given_name"]},{"path":["age_equal_or_over","18"],"values":[true]}]}]}}`)
}

// certifiedCity is a HAIP city with the test-only purpose and a counter
// for it; the PSB's certificate from the city CA is installed when psbCert
// is set. It returns the counter's token.
func certifiedCity(t *testing.T, psbCert bool) (*haipCity, string) {
	t.Helper()
	c := newHAIPCity(t)
	ca, _ := x509.ParseCertificate(c.ca)
	if _, err := c.Verifier.PutPurpose(t.Context(), certifiedPurpose(base64.RawURLEncoding.EncodeToString(ca.SubjectKeyId))); err != nil {
		t.Fatal(err)
	}
	_, tok, err := c.Verifier.AddCounter(t.Context(), "dongcheng", "Certified desk", []string{"identity-certified"})
	if err != nil {
		t.Fatal(err)
	}
	if psbCert {
		leaf, err := x509ca.Issue(c.ca, c.caKey, c.PSB.Signer().Public(), x509ca.Leaf{CommonName: c.PSB.Name, URIs: []string{c.PSB.IssuerURL}}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Issuer.SetCertificate(t.Context(), "psb", x509ca.EncodeX5C(leaf)); err != nil {
			t.Fatal(err)
		}
	}
	return c, tok
}

// TestTrustedAuthoritiesHostile: for a purpose whose query has
// trusted_authorities (aki: the city CA's key identifier), the verifier
// checks the presented credential's x5c chain itself, whatever the
// wallet matched: a credential from the PSB certified by the city CA is
// accepted; one without x5c, one whose chain another CA signed (even
// with the city CA's key identifier forged into its
// AuthorityKeyIdentifier, which the wallet's matching would take), and
// one whose certificate is for another key are refused with
// untrusted_authority. The presentations are built by hand, as a wallet
// that ignores trusted_authorities would.
func TestTrustedAuthoritiesHostile(t *testing.T) {
	c, tok := certifiedCity(t, false)
	ca, _ := x509.ParseCertificate(c.ca)
	types, _ := issuer.DemoTypes()
	now := time.Now()

	// A rogue CA that copies the city CA's subject key identifier, so the
	// certificates it issues carry the city CA's key identifier as their
	// AuthorityKeyIdentifier.
	rogueKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "Beijing City Trust Authority"},
		NotBefore: now.Add(-time.Minute), NotAfter: now.Add(time.Hour), KeyUsage: x509.KeyUsageCertSign,
		BasicConstraintsValid: true, IsCA: true, SubjectKeyId: ca.SubjectKeyId}
	rogueCA, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, rogueKey.Public(), rogueKey)
	if err != nil {
		t.Fatal(err)
	}
	issue := func(caDER []byte, caKey *ecdsa.PrivateKey, pub any) []string {
		leaf, err := x509ca.Issue(caDER, caKey, pub, x509ca.Leaf{CommonName: c.PSB.Name, URIs: []string{c.PSB.IssuerURL}}, now)
		if err != nil {
			t.Fatal(err)
		}
		return x509ca.EncodeX5C(leaf)
	}
	otherKey, _ := keys.Generate(nil, keys.ES256)
	forged := issue(rogueCA, rogueKey, c.PSB.Signer().Public())
	if akis, _ := credential.AuthorityKeyIDs(forged); len(akis) != 1 || akis[0] != base64.RawURLEncoding.EncodeToString(ca.SubjectKeyId) {
		t.Fatalf("the forged chain's aki values are %q, want the city CA's", akis)
	}

	for _, tc := range []struct {
		name string
		x5c  []string
		code string // "" accepted
	}{
		{"certified by the city CA", issue(c.ca, c.caKey, c.PSB.Signer().Public()), ""},
		{"no x5c", nil, "untrusted_authority"},
		{"signed by a rogue CA with the city CA's key identifier", forged, "untrusted_authority"},
		{"the city CA's certificate for another key", issue(c.ca, c.caKey, otherKey.Public()), "untrusted_authority"},
		{"chain out of order", append(issue(c.ca, c.caKey, c.PSB.Signer().Public()), forged[0]), "untrusted_authority"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			holder, _ := keys.Generate(nil, keys.ES256)
			sd, err := credential.IssueVC(c.PSB.Signer(), credential.VC{Issuer: c.PSB.IssuerURL, VCT: "urn:tong:vct:citizen-identity:1", KeyID: c.PSB.KeyID,
				X5C: tc.x5c, Expiry: now.Add(time.Hour), Holder: holder.Public(), Claims: types["citizen-identity"].ExampleClaims,
				Disclosable: basicPaths}, credential.IssueOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var s verifier.Session
			if st := call(t, c.City, http.MethodPost, "/verifier/sessions", tok, verifier.NewRequest{Purpose: "identity-certified"}, &s); st != http.StatusCreated {
				t.Fatalf("create session: HTTP %d", st)
			}
			p := params(t, c.City, &s)
			vp, err := credential.Present(sd, basicPaths, holder, credential.KeyBinding{Nonce: p.Nonce, Audience: p.ClientID})
			if err != nil {
				t.Fatal(err)
			}
			st, code := post(t, c.City, p.ResponseURI, url.Values{"state": {p.State}, "vp_token": {vpToken("pid", vp)}})
			var got verifier.Session
			call(t, c.City, http.MethodGet, "/verifier/sessions/"+s.ID, tok, nil, &got)
			if tc.code == "" {
				if st != http.StatusOK || got.Status != verifier.StatusAccepted {
					t.Fatalf("got HTTP %d %q, session %s; want accepted", st, code, got.Status)
				}
				return
			}
			if st != http.StatusBadRequest || code != tc.code {
				t.Fatalf("got HTTP %d %q, want 400 %q", st, code, tc.code)
			}
			if got.Status != verifier.StatusRejected || got.Result == nil || string(got.Result.Code) != tc.code || len(got.Result.Credentials) != 0 {
				t.Fatalf("session %s result %+v", got.Status, got.Result)
			}
		})
	}
}

// TestTrustedAuthoritiesOtherAuthority: a chain the trust list accepts
// is still refused when the purpose names another authority.
func TestTrustedAuthoritiesOtherAuthority(t *testing.T) {
	c, _ := certifiedCity(t, true)
	raw := []byte(strings.Replace(string(certifiedPurpose("s9tIpPmhxdiuNkHMEWNpYim8S8Y")), "identity-certified", "identity-other-ca", 1))
	if _, err := c.Verifier.PutPurpose(t.Context(), raw); err != nil {
		t.Fatal(err)
	}
	_, tok, err := c.Verifier.AddCounter(t.Context(), "dongcheng", "Other desk", []string{"identity-other-ca"})
	if err != nil {
		t.Fatal(err)
	}
	sd, holder := issueRaw(t, c.City, "psb", "citizen-identity")
	var s verifier.Session
	if st := call(t, c.City, http.MethodPost, "/verifier/sessions", tok, verifier.NewRequest{Purpose: "identity-other-ca"}, &s); st != http.StatusCreated {
		t.Fatalf("create session: HTTP %d", st)
	}
	p := params(t, c.City, &s)
	vp, err := credential.Present(sd, basicPaths, holder, credential.KeyBinding{Nonce: p.Nonce, Audience: p.ClientID})
	if err != nil {
		t.Fatal(err)
	}
	if st, code := post(t, c.City, p.ResponseURI, url.Values{"state": {p.State}, "vp_token": {vpToken("pid", vp)}}); st != http.StatusBadRequest || code != "untrusted_authority" {
		t.Fatalf("got HTTP %d %q, want 400 untrusted_authority", st, code)
	}
}

// TestTrustedAuthoritiesEndToEnd: Tong's wallet answers the certified
// purpose with the PSB credential its issuer signed with the city CA's
// chain in x5c, and the verifier accepts it; without the certificate
// the wallet holds nothing that matches and the verifier never sees a
// credential.
func TestTrustedAuthoritiesEndToEnd(t *testing.T) {
	for _, certified := range []bool{true, false} {
		c, tok := certifiedCity(t, certified)
		w, err := wallet.Create(t.Context(), filepath.Join(t.TempDir(), "w.db"), []byte("pass"), wallet.Options{
			HTTPClient: c.Client(), AllowLoopbackHTTP: true, Registry: c.Registry, RequireRegistry: true, Copies: 2,
			TrustedCAs: [][]byte{c.ca}, KDF: fastKDF})
		if err != nil {
			t.Fatal(err)
		}
		types, _ := issuer.DemoTypes()
		o, _ := c.Issuer.CreateOffer(t.Context(), "psb", "test", issuer.OfferRequest{Type: "citizen-identity", Claims: types["citizen-identity"].ExampleClaims})
		if _, err := w.Receive(t.Context(), o.OfferURI, o.TxCode); err != nil {
			t.Fatal(err)
		}
		var s verifier.Session
		nr := verifier.NewRequest{Purpose: "identity-certified", ClientIDPrefix: "x509_hash", ResponseMode: verifier.ResponseModeDirectPostJWT}
		if st := call(t, c.City, http.MethodPost, "/verifier/sessions", tok, nr, &s); st != http.StatusCreated {
			t.Fatalf("create session: HTTP %d", st)
		}
		req, err := w.Match(t.Context(), s.RequestURI)
		if err != nil {
			t.Fatal(err)
		}
		if req.Match.Satisfied != certified {
			t.Fatalf("certified %v: Match.Satisfied = %v", certified, req.Match.Satisfied)
		}
		if !certified {
			w.Close()
			continue
		}
		if _, err := w.Present(t.Context(), req, approve); err != nil {
			t.Fatal(err)
		}
		var got verifier.Session
		call(t, c.City, http.MethodGet, "/verifier/sessions/"+s.ID+"?wait=5s", tok, nil, &got)
		if got.Status != verifier.StatusAccepted || got.Result.Credentials[0].Claims["family_name"] != "王" {
			t.Fatalf("session %s %+v", got.Status, got.Result)
		}
		checked := false
		for _, ch := range got.Result.Checks {
			checked = checked || (ch.Name == "trusted_authorities" && ch.OK)
		}
		if !checked {
			t.Errorf("checks %+v lack trusted_authorities", got.Result.Checks)
		}
		w.Close()
	}
}
