//go:build !js

package wallet_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"
	"time"

	"github.com/tongid/tong/internal/jose"
	"github.com/tongid/tong/internal/x509ca"
	"github.com/tongid/tong/wallet"
)

// x509Counter serves one x509_hash request object, built by the test.
type x509Counter struct {
	srv    *httptest.Server
	object string
}

func (c *x509Counter) uri(clientID string) string {
	return "openid4vp://?client_id=" + url.QueryEscape(clientID) + "&request_uri=" + url.QueryEscape(c.srv.URL+"/request")
}

// TestX509HashHostile: the wallet accepts an x509_hash request only when
// the x5c chain reaches a CA it trusts, the client_id is the leaf's hash,
// and the leaf's key signed the request; each failure has its code.
func TestX509HashHostile(t *testing.T) {
	now := time.Now()
	gen := func() *ecdsa.PrivateKey { k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader); return k }
	caKey, otherCAKey, leafKey, otherKey := gen(), gen(), gen(), gen()
	ca, _ := x509ca.NewRoot(caKey, "City CA", now, 0)
	otherCA, _ := x509ca.NewRoot(otherCAKey, "Other CA", now, 0)
	leaf, _ := x509ca.Issue(ca, caKey, leafKey.Public(), x509ca.Leaf{CommonName: "Counter 7"}, now)
	foreignLeaf, _ := x509ca.Issue(otherCA, otherCAKey, leafKey.Public(), x509ca.Leaf{CommonName: "Impostor"}, now)
	otherLeaf, _ := x509ca.Issue(ca, caKey, otherKey.Public(), x509ca.Leaf{CommonName: "Counter 8"}, now)

	c := &x509Counter{}
	c.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/oauth-authz-req+jwt")
		w.Write([]byte(c.object))
	}))
	t.Cleanup(c.srv.Close)
	encKey := gen()
	encJWK, _ := jose.PublicJWK(&encKey.PublicKey)
	jwkMap := map[string]any{}
	b, _ := json.Marshal(encJWK)
	json.Unmarshal(b, &jwkMap)
	jwkMap["kid"], jwkMap["alg"], jwkMap["use"] = "e1", "ECDH-ES", "enc"
	sign := func(signer *ecdsa.PrivateKey, x5c []string, clientID string, cm map[string]any) string {
		h := map[string]any{"alg": "ES256", "typ": "oauth-authz-req+jwt"}
		if x5c != nil {
			h["x5c"] = x5c
		}
		p, _ := json.Marshal(map[string]any{"client_id": clientID, "aud": "https://self-issued.me/v2", "response_type": "vp_token",
			"response_mode": "direct_post.jwt", "response_uri": c.srv.URL + "/response", "nonce": "n-0123456789", "state": "s",
			"exp": now.Add(time.Minute).Unix(), "client_metadata": cm,
			"dcql_query": map[string]any{"credentials": []any{map[string]any{"id": "pid", "format": "dc+sd-jwt", "meta": map[string]any{"vct_values": []string{"urn:x"}}}}}})
		s, err := jose.Sign(signer, h, p)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	goodCM := map[string]any{"jwks": map[string]any{"keys": []any{jwkMap}}, "encrypted_response_enc_values_supported": []string{"A128GCM", "A256GCM"}}
	id := wallet.PrefixX509Hash + x509ca.Hash(leaf)
	w, err := wallet.Create(t.Context(), filepath.Join(t.TempDir(), "w.db"), []byte("pw"), wallet.Options{
		HTTPClient: c.srv.Client(), AllowLoopbackHTTP: true, TrustedCAs: [][]byte{ca},
		KDF: wallet.KDF{Alg: "argon2id", Time: 1, Memory: 8 << 10, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })

	for _, tc := range []struct {
		name, object, clientID, want string
	}{
		{"valid", sign(leafKey, x509ca.EncodeX5C(leaf), id, goodCM), id, ""},
		{"chain does not reach the trust list", sign(leafKey, x509ca.EncodeX5C(foreignLeaf), wallet.PrefixX509Hash+x509ca.Hash(foreignLeaf), goodCM),
			wallet.PrefixX509Hash + x509ca.Hash(foreignLeaf), wallet.CodeCertificateUntrusted},
		{"chain includes the trust anchor", sign(leafKey, x509ca.EncodeX5C(leaf, ca), id, goodCM), id, wallet.CodeCertificateUntrusted},
		{"no x5c", sign(leafKey, nil, id, goodCM), id, wallet.CodeCertificateUntrusted},
		{"client_id is another certificate's hash", sign(leafKey, x509ca.EncodeX5C(leaf), wallet.PrefixX509Hash+x509ca.Hash(otherLeaf), goodCM),
			wallet.PrefixX509Hash + x509ca.Hash(otherLeaf), wallet.CodeClientIDMismatch},
		{"signed by a key other than the leaf's", sign(otherKey, x509ca.EncodeX5C(leaf), id, goodCM), id, wallet.CodeRequestSignature},
		{"direct_post.jwt without an encryption key", sign(leafKey, x509ca.EncodeX5C(leaf), id, map[string]any{}), id, wallet.CodeEncryptionUnsupported},
		{"direct_post.jwt with only A128CBC-HS256", sign(leafKey, x509ca.EncodeX5C(leaf), id,
			map[string]any{"jwks": goodCM["jwks"], "encrypted_response_enc_values_supported": []string{"A128CBC-HS256"}}), id, wallet.CodeEncryptionUnsupported},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c.object = tc.object
			req, err := w.Match(t.Context(), c.uri(tc.clientID))
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Match = %v", err)
				}
				if !req.Verified || req.Certificate() == nil || req.Certificate().Subject.CommonName != "Counter 7" || !req.Encrypted() {
					t.Errorf("Verified %v, certificate %v, encrypted %v", req.Verified, req.Certificate(), req.Encrypted())
				}
				return
			}
			var we *wallet.Error
			if !errors.As(err, &we) || we.Code != tc.want {
				t.Fatalf("Match = %v, want %s", err, tc.want)
			}
		})
	}
	// A wallet that trusts no CA refuses x509_hash verifiers.
	w2, _ := wallet.Create(t.Context(), filepath.Join(t.TempDir(), "w2.db"), []byte("pw"), wallet.Options{
		HTTPClient: c.srv.Client(), AllowLoopbackHTTP: true, KDF: wallet.KDF{Alg: "argon2id", Time: 1, Memory: 8 << 10, Threads: 1}})
	defer w2.Close()
	c.object = sign(leafKey, x509ca.EncodeX5C(leaf), id, goodCM)
	var we *wallet.Error
	if _, err := w2.Match(t.Context(), c.uri(id)); !errors.As(err, &we) || we.Code != wallet.CodeCertificateUntrusted {
		t.Errorf("Match without trusted CAs = %v", err)
	}
}
