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

// TestLogoKeptInline: an issuer's logo and colours come from its
// metadata; the logo is fetched once at receive time and kept as a data:
// URI (so the app shows it offline and loads nothing from the issuer),
// and a logo that is not an image is dropped.
func TestLogoKeptInline(t *testing.T) {
	png := []byte("\x89PNG\r\n\x1a\n fake but typed")
	for _, tc := range []struct {
		name, contentType string
		wantLogo          bool
	}{{"png", "image/png", true}, {"html", "text/html", false}} {
		t.Run(tc.name, func(t *testing.T) {
			e := newIssuer(t)
			e.mux.HandleFunc("GET /logo", func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", tc.contentType)
				_, _ = w.Write(png)
			})
			e.mux.HandleFunc("GET /.well-known/openid-credential-issuer/issuers/psb", func(w http.ResponseWriter, r *http.Request) {
				rec := httptest.NewRecorder()
				oid4vci.New(e.svc).Routes().ServeHTTP(rec, r)
				var md map[string]any
				_ = json.Unmarshal(rec.Body.Bytes(), &md)
				cfg := md["credential_configurations_supported"].(map[string]any)["citizen-identity"].(map[string]any)
				ds := cfg["credential_metadata"].(map[string]any)["display"].([]any)
				d := ds[0].(map[string]any)
				d["logo"] = map[string]any{"uri": e.srv.URL + "/logo", "alt_text": "PSB seal"}
				d["background_color"], d["text_color"] = "#12345a", "white;x:url(y)"
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(md)
			})
			w, _ := newWallet(t, loopbackOpts(e.srv))
			o, _ := e.offer(t, "citizen-identity")
			c, err := w.Receive(t.Context(), o.OfferURI, o.TxCode)
			if err != nil {
				t.Fatal(err)
			}
			d := c.LocalDisplay("en")
			if d.BackgroundColor != "#12345a" || d.TextColor != "" {
				t.Errorf("colours %q / %q, want #12345a and none", d.BackgroundColor, d.TextColor)
			}
			want := "data:image/png;base64," + base64.StdEncoding.EncodeToString(png)
			switch {
			case tc.wantLogo && (d.Logo == nil || d.Logo.URI != want || d.Logo.AltText != "PSB seal"):
				t.Errorf("logo %+v, want it inline as %s", d.Logo, want)
			case !tc.wantLogo && d.Logo != nil:
				t.Errorf("a %s logo was kept: %+v", tc.contentType, d.Logo)
			}
		})
	}
}
