package httpapi_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwe"
	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/tongid/tong/internal/jose"
	"github.com/tongid/tong/internal/x509ca"
	"github.com/tongid/tong/issuer"
	"github.com/tongid/tong/tongtest"
	"github.com/tongid/tong/verifier"
	"github.com/tongid/tong/wallet"
)

// haipCity is a city whose Dongcheng hall holds a certificate from the
// city CA for its request-signing key.
type haipCity struct {
	*tongtest.City
	ca, leaf []byte
	caKey    *ecdsa.PrivateKey
}

func newHAIPCity(t *testing.T) *haipCity {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca, err := x509ca.NewRoot(caKey, "Beijing City Trust Authority", time.Now(), 0)
	if err != nil {
		t.Fatal(err)
	}
	tl, _ := x509ca.NewTrustList(ca)
	c := tongtest.New(t, tongtest.Options{VerifierConfig: func(cfg *verifier.Config) { cfg.TrustList = tl }})
	hall, err := c.Keys.Load("org-dongcheng")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509ca.Issue(ca, caKey, hall.Public(), x509ca.Leaf{CommonName: "Dongcheng District Government Service Hall"}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Verifier.SetCertificate(t.Context(), "dongcheng", x509ca.EncodeX5C(leaf)); err != nil {
		t.Fatal(err)
	}
	return &haipCity{City: c, ca: ca, leaf: leaf, caKey: caKey}
}

type requestObject struct {
	header struct {
		Alg, Typ, Kid string
		X5C           []string `json:"x5c"`
	}
	claims struct {
		Iss            *string `json:"iss"`
		ClientID       string  `json:"client_id"`
		ResponseMode   string  `json:"response_mode"`
		State          string  `json:"state"`
		ClientMetadata struct {
			JWKS struct {
				Keys []map[string]any `json:"keys"`
			} `json:"jwks"`
			Enc []string `json:"encrypted_response_enc_values_supported"`
		} `json:"client_metadata"`
	}
	jws *jose.JWS
}

func fetchRequestObject(t *testing.T, c *tongtest.City, requestURI string) *requestObject {
	t.Helper()
	u, _ := url.Parse(requestURI)
	resp, err := c.Client().Get(u.Query().Get("request_uri"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	ro := &requestObject{}
	if ro.jws, err = jose.Parse(string(raw), 64<<10); err != nil {
		t.Fatalf("request object: %v", err)
	}
	parts := strings.Split(string(raw), ".")
	for i, v := range []any{&ro.header, &ro.claims} {
		b, _ := base64.RawURLEncoding.DecodeString(parts[i])
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatal(err)
		}
	}
	return ro
}

func haipSession(t *testing.T, c *tongtest.City, nr verifier.NewRequest) *verifier.Session {
	t.Helper()
	nr.Purpose = "identity-basic"
	var s verifier.Session
	if st := call(t, c, http.MethodPost, "/verifier/sessions", c.CounterTokens["identity-basic"], nr, &s); st != http.StatusCreated {
		t.Fatalf("create session: HTTP %d", st)
	}
	return &s
}

// TestX509HashRequestObject: a counter asking for x509_hash and
// direct_post.jwt gets a request object signed by the key of the leaf
// certificate in its x5c header, whose client_id is that leaf's hash, and
// whose client_metadata carries one ephemeral ECDH-ES P-256 key and both
// HAIP encodings.
func TestX509HashRequestObject(t *testing.T) {
	c := newHAIPCity(t)
	s := haipSession(t, c.City, verifier.NewRequest{ClientIDPrefix: "x509_hash", ResponseMode: verifier.ResponseModeDirectPostJWT})
	ro := fetchRequestObject(t, c.City, s.RequestURI)
	if want := "x509_hash:" + x509ca.Hash(c.leaf); ro.claims.ClientID != want || s.ClientID != want {
		t.Errorf("client_id = %q (session %q), want %q", ro.claims.ClientID, s.ClientID, want)
	}
	if !strings.Contains(s.RequestURI, url.QueryEscape(s.ClientID)) {
		t.Errorf("request URI %s does not carry the client_id", s.RequestURI)
	}
	if len(ro.header.X5C) != 1 || ro.header.Kid != "" || ro.claims.Iss != nil {
		t.Errorf("header x5c %d certs, kid %q, iss %v", len(ro.header.X5C), ro.header.Kid, ro.claims.Iss)
	}
	leaf, _ := x509.ParseCertificate(c.leaf)
	if err := ro.jws.Verify(leaf.PublicKey); err != nil {
		t.Errorf("the request object does not verify with the leaf's key: %v", err)
	}
	tl, _ := x509ca.NewTrustList(c.ca)
	if _, _, err := tl.Verify(ro.header.X5C, time.Now()); err != nil {
		t.Errorf("x5c does not reach the city CA: %v", err)
	}
	if ro.claims.ResponseMode != "direct_post.jwt" || len(ro.claims.ClientMetadata.JWKS.Keys) != 1 {
		t.Fatalf("response_mode %q, %d keys", ro.claims.ResponseMode, len(ro.claims.ClientMetadata.JWKS.Keys))
	}
	k := ro.claims.ClientMetadata.JWKS.Keys[0]
	if k["alg"] != "ECDH-ES" || k["crv"] != "P-256" || k["use"] != "enc" || k["kid"] == "" || k["d"] != nil {
		t.Errorf("encryption key %v", k)
	}
	if enc := ro.claims.ClientMetadata.Enc; len(enc) != 2 || enc[0] != "A128GCM" || enc[1] != "A256GCM" {
		t.Errorf("encrypted_response_enc_values_supported = %v", enc)
	}
	// A second session has its own key.
	s2 := haipSession(t, c.City, verifier.NewRequest{ResponseMode: verifier.ResponseModeDirectPostJWT})
	ro2 := fetchRequestObject(t, c.City, s2.RequestURI)
	if ro2.claims.ClientMetadata.JWKS.Keys[0]["x"] == k["x"] {
		t.Error("two sessions share a response encryption key")
	}
	if !strings.HasPrefix(ro2.claims.ClientID, "decentralized_identifier:") {
		t.Errorf("default prefix %q", ro2.claims.ClientID)
	}
}

// TestX509HashNeedsCertificate: without a certificate, a counter cannot
// ask for x509_hash; an unknown prefix or mode is refused.
func TestX509HashNeedsCertificate(t *testing.T) {
	c := tongtest.New(t, tongtest.Options{})
	for _, tc := range []struct {
		nr   verifier.NewRequest
		want verifier.Code
	}{
		{verifier.NewRequest{ClientIDPrefix: "x509_hash"}, verifier.CodeNoCertificate},
		{verifier.NewRequest{ClientIDPrefix: "x509_san_dns"}, verifier.CodeInvalidRequest},
		{verifier.NewRequest{ResponseMode: "fragment"}, verifier.CodeInvalidRequest},
	} {
		tc.nr.Purpose = "identity-basic"
		var e struct{ Error string }
		if st := call(t, c, http.MethodPost, "/verifier/sessions", c.CounterTokens["identity-basic"], tc.nr, &e); st != 400 || e.Error != string(tc.want) {
			t.Errorf("%+v: HTTP %d %q, want 400 %s", tc.nr, st, e.Error, tc.want)
		}
	}
}

// TestSetCertificateHostile: the verifier refuses a certificate for
// another key, and one from a CA outside its trust list.
func TestSetCertificateHostile(t *testing.T) {
	c := newHAIPCity(t)
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	wrongKey, _ := x509ca.Issue(c.ca, c.caKey, other.Public(), x509ca.Leaf{CommonName: "x"}, time.Now())
	otherCA, _ := x509ca.NewRoot(other, "Other CA", time.Now(), 0)
	hall, _ := c.Keys.Load("org-dongcheng")
	foreign, _ := x509ca.Issue(otherCA, other, hall.Public(), x509ca.Leaf{CommonName: "x"}, time.Now())
	for name, x5c := range map[string][]string{"another key": x509ca.EncodeX5C(wrongKey), "untrusted CA": x509ca.EncodeX5C(foreign), "garbage": {"AAAA"}} {
		if err := c.Verifier.SetCertificate(t.Context(), "dongcheng", x5c); verifier.CodeOf(err) != verifier.CodeInvalidRequest {
			t.Errorf("SetCertificate(%s) = %v, want %s", name, err, verifier.CodeInvalidRequest)
		}
	}
}

// encryptTo builds a direct_post.jwt response JWE with jwx.
func encryptTo(t *testing.T, payload any, alg jwa.KeyEncryptionAlgorithm, enc jwa.ContentEncryptionAlgorithm, key any, kid string) string {
	t.Helper()
	b, _ := json.Marshal(payload)
	if k, ok := key.(jwk.Key); ok { // the header's kid is the test's, not the key's
		k, _ = k.Clone()
		_ = k.Remove(jwk.KeyIDKey)
		key = k
	}
	hdr := jwe.NewHeaders()
	_ = hdr.Set("kid", kid)
	out, err := jwe.Encrypt(b, jwe.WithKey(alg, key), jwe.WithContentEncryption(enc), jwe.WithProtectedHeaders(hdr))
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestEncryptedResponseHostile: every way an encrypted response can be
// wrong, each refused with its stable code, and the session rejected.
func TestEncryptedResponseHostile(t *testing.T) {
	c := newHAIPCity(t)
	vpToken := map[string][]string{"pid": {"not-a-presentation~"}}
	for _, tc := range []struct {
		name string
		form func(ro *requestObject, pub any, kid string) url.Values
		want verifier.Code
	}{
		{"plain vp_token to a direct_post.jwt session", func(ro *requestObject, _ any, _ string) url.Values {
			b, _ := json.Marshal(vpToken)
			return url.Values{"vp_token": {string(b)}, "state": {ro.claims.State}}
		}, verifier.CodeEncryptionRequired},
		{"encrypted under the wrong key", func(ro *requestObject, _ any, kid string) url.Values {
			k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
			return url.Values{"response": {encryptTo(t, map[string]any{"vp_token": vpToken, "state": ro.claims.State}, jwa.ECDH_ES(), jwa.A128GCM(), &k.PublicKey, kid)}}
		}, verifier.CodeDecryptionFailed},
		{"alg dir", func(ro *requestObject, _ any, kid string) url.Values {
			cek := make([]byte, 16)
			rand.Read(cek)
			return url.Values{"response": {encryptTo(t, map[string]any{"vp_token": vpToken, "state": ro.claims.State}, jwa.DIRECT(), jwa.A128GCM(), cek, kid)}}
		}, verifier.CodeEncryptionUnsupported},
		{"ECDH-ES+A128KW", func(ro *requestObject, pub any, kid string) url.Values {
			return url.Values{"response": {encryptTo(t, map[string]any{"vp_token": vpToken}, jwa.ECDH_ES_A128KW(), jwa.A128GCM(), pub, kid)}}
		}, verifier.CodeEncryptionUnsupported},
		{"enc not offered", func(ro *requestObject, pub any, kid string) url.Values {
			return url.Values{"response": {encryptTo(t, map[string]any{"vp_token": vpToken}, jwa.ECDH_ES(), jwa.A128CBC_HS256(), pub, kid)}}
		}, verifier.CodeEncryptionUnsupported},
		{"tampered tag", func(ro *requestObject, pub any, kid string) url.Values {
			j := encryptTo(t, map[string]any{"vp_token": vpToken, "state": ro.claims.State}, jwa.ECDH_ES(), jwa.A256GCM(), pub, kid)
			parts := strings.Split(j, ".")
			tag, _ := base64.RawURLEncoding.DecodeString(parts[4])
			tag[0] ^= 1
			parts[4] = base64.RawURLEncoding.EncodeToString(tag)
			return url.Values{"response": {strings.Join(parts, ".")}}
		}, verifier.CodeDecryptionFailed},
		{"another session's kid", func(ro *requestObject, pub any, _ string) url.Values {
			return url.Values{"response": {encryptTo(t, map[string]any{"vp_token": vpToken}, jwa.ECDH_ES(), jwa.A128GCM(), pub, "resp-ses_other")}}
		}, verifier.CodeDecryptionFailed},
		{"response beside vp_token", func(ro *requestObject, pub any, kid string) url.Values {
			return url.Values{"response": {encryptTo(t, map[string]any{"vp_token": vpToken}, jwa.ECDH_ES(), jwa.A128GCM(), pub, kid)}, "state": {ro.claims.State}}
		}, verifier.CodeMalformedResponse},
		{"not a JWE", func(*requestObject, any, string) url.Values {
			return url.Values{"response": {"a.b.c.d.e"}}
		}, verifier.CodeMalformedResponse},
		{"encrypted, decrypts, but state is wrong", func(ro *requestObject, pub any, kid string) url.Values {
			return url.Values{"response": {encryptTo(t, map[string]any{"vp_token": vpToken, "state": "forged"}, jwa.ECDH_ES(), jwa.A128GCM(), pub, kid)}}
		}, verifier.CodeStateMismatch},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := haipSession(t, c.City, verifier.NewRequest{ClientIDPrefix: "x509_hash", ResponseMode: verifier.ResponseModeDirectPostJWT})
			ro := fetchRequestObject(t, c.City, s.RequestURI)
			kb, _ := json.Marshal(ro.claims.ClientMetadata.JWKS.Keys[0])
			pub, err := jwk.ParseKey(kb)
			if err != nil {
				t.Fatal(err)
			}
			kid := ro.claims.ClientMetadata.JWKS.Keys[0]["kid"].(string)
			form := tc.form(ro, pub, kid)
			resp, err := c.Client().PostForm(c.URL+"/verifier/response/"+s.ID, form)
			if err != nil {
				t.Fatal(err)
			}
			var e struct{ Error string }
			json.NewDecoder(resp.Body).Decode(&e)
			resp.Body.Close()
			if resp.StatusCode != 400 || e.Error != string(tc.want) {
				t.Errorf("POST response: HTTP %d %q, want 400 %s", resp.StatusCode, e.Error, tc.want)
			}
			// A response that is not this session's wallet's answer
			// (not encrypted, not to its key, not opening) leaves the
			// session pending, so a hostile post cannot end it; one that
			// opens but fails a later check is never accepted.
			var got verifier.Session
			call(t, c.City, http.MethodGet, "/verifier/sessions/"+s.ID, c.CounterTokens["identity-basic"], nil, &got)
			if tc.want == verifier.CodeStateMismatch {
				if got.Status == verifier.StatusAccepted {
					t.Errorf("session accepted after %s", tc.want)
				}
				return
			}
			if got.Status != verifier.StatusPending {
				t.Errorf("session %s %+v after a refused response, want pending", got.Status, got.Result)
			}
		})
	}
	// A direct_post session refuses an encrypted response.
	s := haipSession(t, c.City, verifier.NewRequest{})
	resp, _ := c.Client().PostForm(c.URL+"/verifier/response/"+s.ID, url.Values{"response": {"a.b.c.d.e"}})
	var e struct{ Error string }
	json.NewDecoder(resp.Body).Decode(&e)
	resp.Body.Close()
	if e.Error != string(verifier.CodeMalformedResponse) {
		t.Errorf("encrypted response to a direct_post session: %q", e.Error)
	}
}

// TestHAIPEndToEnd: Tong's wallet, trusting the city CA, answers a counter
// that asks with x509_hash and direct_post.jwt; the response travels
// encrypted and the verifier accepts it.
func TestHAIPEndToEnd(t *testing.T) {
	c := newHAIPCity(t)
	w, err := wallet.Create(t.Context(), filepath.Join(t.TempDir(), "w.db"), []byte("pass"), wallet.Options{
		HTTPClient: c.Client(), AllowLoopbackHTTP: true, Registry: c.Registry, RequireRegistry: true, Copies: 2,
		TrustedCAs: [][]byte{c.ca}, KDF: fastKDF})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	types, _ := issuer.DemoTypes()
	o, _ := c.Issuer.CreateOffer(t.Context(), "psb", "test", issuer.OfferRequest{Type: "citizen-identity", Claims: types["citizen-identity"].ExampleClaims})
	if _, err := w.Receive(t.Context(), o.OfferURI, o.TxCode); err != nil {
		t.Fatal(err)
	}
	s := haipSession(t, c.City, verifier.NewRequest{ClientIDPrefix: "x509_hash", ResponseMode: verifier.ResponseModeDirectPostJWT})
	req, err := w.Match(t.Context(), s.RequestURI)
	if err != nil {
		t.Fatal(err)
	}
	if !req.Verified || !req.Encrypted() || req.Certificate() == nil {
		t.Fatalf("request verified %v encrypted %v", req.Verified, req.Encrypted())
	}
	// Hostile posts first: refused, and the session stays answerable.
	for _, form := range []url.Values{{"vp_token": {`{"pid":["x~"]}`}}, {"response": {"a.b.c.d.e"}}} {
		resp, err := c.Client().PostForm(c.URL+"/verifier/response/"+s.ID, form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Fatalf("hostile post: HTTP %d", resp.StatusCode)
		}
	}
	if _, err := w.Present(t.Context(), req, approve); err != nil {
		t.Fatal(err)
	}
	var got verifier.Session
	call(t, c.City, http.MethodGet, "/verifier/sessions/"+s.ID+"?wait=5s", c.CounterTokens["identity-basic"], nil, &got)
	if got.Status != verifier.StatusAccepted || got.Result.Credentials[0].Claims["family_name"] != "王" {
		t.Fatalf("session %s %+v", got.Status, got.Result)
	}
}
