//go:build !js

package wallet_test

import (
	"net/url"
	"testing"

	"github.com/tongid/tong/wallet"
)

// TestMatchByValue runs Match's steps on unsigned requests by value
// (the redirect_uri: prefix): each case changes one parameter of a request
// that Match accepts, so each refusal is that step's.
func TestMatchByValue(t *testing.T) {
	t.Parallel()
	const responseURI = "https://verifier.example/post"
	const encKey = `{"keys":[{"kty":"EC","crv":"P-256","alg":"ECDH-ES","use":"enc","kid":"k1",` +
		`"x":"YO4epjifD-KWeq1sL2tNmm36BhXnkJ0He-WqMYrp9Fk","y":"Hekpm0zfK7C-YccH5iBjcIXgf6YdUvNUac_0At55Okk"}]}`
	base := func() url.Values {
		return url.Values{
			"client_id": {wallet.PrefixRedirectURI + responseURI}, "response_type": {"vp_token"},
			"response_mode": {"direct_post"}, "response_uri": {responseURI}, "nonce": {"n-0S6_WzA2Mj"}, "state": {"st"},
			"dcql_query":      {ageQuery},
			"client_metadata": {`{"client_name":"Self-named verifier"}`},
		}
	}
	tests := []struct {
		name    string
		mod     func(url.Values)
		require bool   // Options.RequireRegistry
		code    string // "" accepted
	}{
		{name: "accepted", mod: func(url.Values) {}},
		{name: "no client_id", mod: func(q url.Values) { q.Del("client_id") }, code: wallet.CodeBadRequest},
		{name: "request by value", mod: func(q url.Values) { q.Set("request", "eyJ.e30.sig") }, code: wallet.CodeBadRequest},
		{name: "response_type code", mod: func(q url.Values) { q.Set("response_type", "code") }, code: wallet.CodeBadRequest},
		{name: "response_mode fragment", mod: func(q url.Values) { q.Set("response_mode", "fragment") }, code: wallet.CodeBadRequest},
		{name: "no nonce", mod: func(q url.Values) { q.Del("nonce") }, code: wallet.CodeBadRequest},
		{name: "redirect_uri with direct_post", mod: func(q url.Values) { q.Set("redirect_uri", responseURI) }, code: wallet.CodeBadRequest},
		{name: "response_uri not https", mod: func(q url.Values) {
			q.Set("response_uri", "http://verifier.example/post")
			q.Set("client_id", wallet.PrefixRedirectURI+"http://verifier.example/post")
		}, code: wallet.CodeBadRequest},
		{name: "client_id is not response_uri", mod: func(q url.Values) { q.Set("client_id", wallet.PrefixRedirectURI+"https://other.example/post") }, code: wallet.CodeBadRequest},
		{name: "decentralized_identifier unsigned", mod: func(q url.Values) { q.Set("client_id", wallet.PrefixDID+"did:tong:zX") }, code: wallet.CodeBadRequest},
		{name: "x509_hash unsigned", mod: func(q url.Values) { q.Set("client_id", wallet.PrefixX509Hash+"abc") }, code: wallet.CodeBadRequest},
		{name: "unknown prefix", mod: func(q url.Values) { q.Set("client_id", "https://verifier.example") }, code: wallet.CodeBadRequest},
		{name: "transaction_data unsigned", mod: func(q url.Values) { q.Set("transaction_data", `["eyJ0eXBlIjoieCJ9"]`) }, code: wallet.CodeBadRequest},
		{name: "dcql_query not JSON", mod: func(q url.Values) { q.Set("dcql_query", "{") }, code: wallet.CodeBadRequest},
		{name: "no dcql_query", mod: func(q url.Values) { q.Del("dcql_query") }, code: wallet.CodeBadRequest},
		{name: "dcql_query invalid", mod: func(q url.Values) { q.Set("dcql_query", `{"credentials":[]}`) }, code: wallet.CodeBadRequest},
		{name: "unverified verifiers refused", mod: func(url.Values) {}, require: true, code: wallet.CodeVerifierUntrusted},
		{name: "direct_post.jwt without a key", mod: func(q url.Values) { q.Set("response_mode", "direct_post.jwt") }, code: wallet.CodeEncryptionUnsupported},
		{name: "direct_post.jwt", mod: func(q url.Values) {
			q.Set("response_mode", "direct_post.jwt")
			q.Set("client_metadata", `{"jwks":`+encKey+`}`)
		}},
		{name: "direct_post.jwt with no enc it knows", mod: func(q url.Values) {
			q.Set("response_mode", "direct_post.jwt")
			q.Set("client_metadata", `{"jwks":`+encKey+`,"encrypted_response_enc_values_supported":["A128CBC-HS256"]}`)
		}, code: wallet.CodeEncryptionUnsupported},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w, _ := newWallet(t, wallet.Options{RequireRegistry: tc.require})
			q := base()
			tc.mod(q)
			req, err := w.Match(t.Context(), "openid4vp://?"+q.Encode())
			if got := wallet.CodeOf(err); got != tc.code {
				t.Fatalf("Match = %v (code %q), want code %q", err, got, tc.code)
			}
			if err != nil {
				return
			}
			if req.Verified || req.Name != "" {
				t.Errorf("Match: Verified %v, Name %q; want an unverified request with no name (an unsigned client_name is not shown)", req.Verified, req.Name)
			}
			if req.Nonce != "n-0S6_WzA2Mj" || req.State != "st" || req.ResponseURI != q.Get("response_uri") || req.Query == nil {
				t.Errorf("Match = %+v, want the request's nonce, state, response_uri and query", req)
			}
			if want := q.Get("response_mode") == wallet.ResponseModeDirectPostJWT; req.Encrypted() != want {
				t.Errorf("Encrypted() = %v, want %v", req.Encrypted(), want)
			}
			if req.Match == nil || req.Match.Satisfied {
				t.Errorf("Match.Satisfied = true for an empty wallet")
			}
		})
	}
}
