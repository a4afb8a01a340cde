//go:build !js

package wallet_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/tongid/tong/internal/jose"
	"github.com/tongid/tong/internal/keys"
	"github.com/tongid/tong/issuer/oid4vci"
	"github.com/tongid/tong/wallet"
)

// TestHostileIssuers: an issuer that lies in its metadata, or binds the
// credential to a key that is not the wallet's, gets nothing stored.
func TestHostileIssuers(t *testing.T) {
	t.Run("metadata names another issuer", func(t *testing.T) {
		e := newIssuer(t)
		e.mux.HandleFunc("GET /.well-known/openid-credential-issuer/issuers/psb", func(w http.ResponseWriter, r *http.Request) {
			rec := httptest.NewRecorder()
			oid4vci.New(e.svc).Routes().ServeHTTP(rec, r)
			body := strings.Replace(rec.Body.String(), `"credential_issuer":"`+e.srv.URL+`/issuers/psb"`, `"credential_issuer":"https://evil.example/issuers/psb"`, 1)
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(body))
		})
		w, _ := newWallet(t, loopbackOpts(e.srv))
		o, _ := e.offer(t, "citizen-identity")
		if _, err := w.Receive(t.Context(), o.OfferURI, o.TxCode); wallet.CodeOf(err) != wallet.CodeBadMetadata {
			t.Fatalf("got %v, want %s", err, wallet.CodeBadMetadata)
		}
	})
	t.Run("credential bound to another key", func(t *testing.T) {
		e := newIssuer(t)
		attacker, _ := keys.Generate(nil, keys.ES256)
		// A man in the middle swaps the wallet's proofs for proofs of its
		// own key, with the same nonce.
		e.mux.HandleFunc("POST /issuers/psb/credential", func(w http.ResponseWriter, r *http.Request) {
			var body map[string]any
			_ = json.NewDecoder(r.Body).Decode(&body)
			proofs := body["proofs"].(map[string]any)["jwt"].([]any)
			for i, p := range proofs {
				payload, _ := base64.RawURLEncoding.DecodeString(strings.Split(p.(string), ".")[1])
				var c map[string]any
				_ = json.Unmarshal(payload, &c)
				c["iat"] = time.Now().Unix()
				jwk, _ := jose.PublicJWK(attacker.Public())
				h, _ := json.Marshal(map[string]any{"alg": "ES256", "typ": "openid4vci-proof+jwt", "jwk": jwk})
				pl, _ := json.Marshal(c)
				proofs[i], _ = jose.SignRaw(attacker, h, pl)
				if i > 0 { // one key per proof: use one copy only
					proofs = proofs[:1]
					break
				}
			}
			body["proofs"] = map[string]any{"jwt": proofs[:1]}
			b, _ := json.Marshal(body)
			r.Body = io.NopCloser(bytes.NewReader(b))
			r.ContentLength = int64(len(b))
			oid4vci.New(e.svc).Routes().ServeHTTP(w, r)
		})
		opts := loopbackOpts(e.srv)
		opts.Copies = 1
		w, _ := newWallet(t, opts)
		o, _ := e.offer(t, "citizen-identity")
		if _, err := w.Receive(t.Context(), o.OfferURI, o.TxCode); wallet.CodeOf(err) != wallet.CodeBadCredential {
			t.Fatalf("got %v, want %s", err, wallet.CodeBadCredential)
		}
		if cs, _ := w.Credentials(t.Context()); len(cs) != 0 {
			t.Fatal("a credential bound to another key was stored")
		}
	})
	t.Run("offer by value with http issuer", func(t *testing.T) {
		w, _ := newWallet(t, wallet.Options{})
		uri := `openid-credential-offer://?credential_offer=` + `{"credential_issuer":"http://evil.example","credential_configuration_ids":["x"],"grants":{"urn:ietf:params:oauth:grant-type:pre-authorized_code":{"pre-authorized_code":"c"}}}`
		if _, err := w.Receive(t.Context(), uri, ""); wallet.CodeOf(err) != wallet.CodeBadOffer {
			t.Fatalf("got %v", err)
		}
	})
}
