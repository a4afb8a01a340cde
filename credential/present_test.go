package credential

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tongid/tong/did"
	"github.com/tongid/tong/internal/jose"
)

func claimNames(r *Result) []string {
	var out []string
	for _, d := range r.Disclosed {
		out = append(out, Path(d.Path).String())
	}
	sort.Strings(out)
	return out
}

// A presentation reveals exactly the requested claims and the parents
// they need, and nothing else.
func TestPresentDisclosesOnlyWhatWasAsked(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, tc := range []struct {
		name  string
		paths []Path
		want  []string
		gone  []string
	}{
		{"one claim", []Path{{"given_name"}}, []string{`["given_name"]`}, []string{"family_name", "birthdate", "address"}},
		{"nested claim brings its parent", []Path{{"address", "locality"}},
			[]string{`["address","locality"]`, `["address"]`}, []string{"region", "given_name"}},
		{"whole object brings its children", []Path{{"address"}},
			[]string{`["address","locality"]`, `["address","region"]`, `["address"]`}, []string{"given_name"}},
		{"age over 18 only", []Path{{"age_equal_or_over", "18"}},
			[]string{`["age_equal_or_over","18"]`, `["age_equal_or_over"]`}, []string{`"60"`}},
		{"array wildcard", []Path{{"nationalities", nil}}, []string{`["nationalities",0]`}, []string{"given_name"}},
		{"nothing", nil, nil, []string{"given_name", "address", "nationalities\":[\"CN"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			res, err := f.verifier().Verify(context.Background(), f.present(t, tc.paths...), VerifyOptions{KeyBinding: &testKB})
			if err != nil {
				t.Fatalf("Verify = %v", err)
			}
			if diff := cmp.Diff(tc.want, claimNames(res)); diff != "" {
				t.Errorf("disclosed paths (-want +got):\n%s", diff)
			}
			raw, _ := json.Marshal(res.Claims)
			for _, g := range tc.gone {
				if strings.Contains(string(raw), g) {
					t.Errorf("claims %s reveal %s, which was not asked for", raw, g)
				}
			}
			if res.VCT != "urn:tong:vct:citizen-identity:1" || res.Status == nil || res.Status.Index != 42 || res.HolderKey == nil {
				t.Errorf("registered claims: vct %q status %+v holder %v", res.VCT, res.Status, res.HolderKey)
			}
		})
	}
	if _, err := Present(f.token, []Path{{"no_such_claim"}}, f.holder, KeyBinding{}); CodeOf(err) != CodeInvalidPath {
		t.Errorf("Present(no_such_claim) = %v, want %s", err, CodeInvalidPath)
	}
}

// Verify processes its own parse in place; Process copies. Both must give
// the same claims, with no SD-JWT machinery (_sd, _sd_alg, "...") left.
func TestVerifyClaimsMatchProcess(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	v := f.verifier()
	for _, paths := range [][]Path{
		nil,
		{{"given_name"}},
		{{"given_name"}, {"family_name"}, {"age_equal_or_over", "18"}},
		{{"address", "locality"}, {"nationalities", 0}, {"sex"}},
		citizenSD,
	} {
		p := f.present(t, paths...)
		r, err := v.Verify(context.Background(), p, VerifyOptions{KeyBinding: &testKB})
		if err != nil {
			t.Fatalf("%v: %v", paths, err)
		}
		sd, err := Parse(p)
		if err != nil {
			t.Fatal(err)
		}
		want, err := sd.Process()
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, r.Claims); diff != "" {
			t.Errorf("%v: Verify's claims differ from Process's (-Process +Verify):\n%s", paths, diff)
		}
		var walk func(v any)
		walk = func(v any) {
			switch x := v.(type) {
			case map[string]any:
				for k, el := range x {
					if k == "_sd" || k == "_sd_alg" || k == "..." {
						t.Errorf("%v: processed claims still hold %q", paths, k)
					}
					walk(el)
				}
			case []any:
				for _, el := range x {
					walk(el)
				}
			}
		}
		walk(r.Claims)
		if got := len(r.Disclosed); got == 0 && len(paths) > 0 {
			t.Errorf("%v: nothing disclosed", paths)
		}
	}
}

// Two issuances of the same claims share no salt and no digest, and two
// presentations of one credential share no KB-JWT signature.
func TestIssuanceIsUnlinkable(t *testing.T) {
	t.Parallel()
	a, b := newFixture(t), newFixture(t)
	da, db := strings.Split(a.token, "~"), strings.Split(b.token, "~")
	seen := map[string]bool{}
	for _, d := range da[1 : len(da)-1] {
		seen[d] = true
	}
	for _, d := range db[1 : len(db)-1] {
		if seen[d] {
			t.Errorf("disclosure %s appears in two credentials", d)
		}
	}
	p1, p2 := a.present(t, Path{"given_name"}), a.present(t, Path{"given_name"})
	if p1[strings.LastIndexByte(p1, '~'):] == p2[strings.LastIndexByte(p2, '~'):] {
		t.Errorf("two presentations carry the same KB-JWT")
	}
	// Salts are 128 bits.
	sd, _ := Parse(a.token)
	for _, d := range sd.Disclosures {
		if len(d.Salt) < 22 {
			t.Errorf("salt %q is shorter than 128 bits", d.Salt)
		}
	}
	// Decoys: each _sd array is longer than the claims it hides.
	if n := len(sd.payload["_sd"].([]any)); n < 6+DefaultDecoys {
		t.Errorf("top-level _sd has %d digests, want at least %d", n, 6+DefaultDecoys)
	}
}

func TestEd25519IssuerAndHolder(t *testing.T) {
	t.Parallel()
	_, iss, _ := ed25519.GenerateKey(rand.Reader)
	_, holder, _ := ed25519.GenerateKey(rand.Reader)
	tok, err := IssueVC(iss, VC{Issuer: testIssuer, VCT: "v", Holder: holder.Public(), Claims: map[string]any{"a": 1, "b": 2}, Disclosable: []Path{{"a"}, {"b"}}}, IssueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p, err := Present(tok, []Path{{"b"}}, holder, KeyBinding{Nonce: "n", Audience: "aud"})
	if err != nil {
		t.Fatal(err)
	}
	v := &Verifier{Keys: StaticIssuerKeys{testIssuer: iss.Public()}}
	res, err := v.Verify(context.Background(), p, VerifyOptions{KeyBinding: &KBPolicy{Nonce: "n", Audience: "aud"}})
	if err != nil {
		t.Fatalf("Verify = %v", err)
	}
	if res.Claims["b"] == nil || res.Claims["a"] != nil || res.Header.Alg != jose.EdDSA {
		t.Errorf("claims %v alg %s", res.Claims, res.Header.Alg)
	}
}

func TestJWTVCIssuerMetadataURL(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ iss, want string }{
		{"https://issuer.example.com", "https://issuer.example.com/.well-known/jwt-vc-issuer"},
		{"https://issuer.example.com/", "https://issuer.example.com/.well-known/jwt-vc-issuer"},
		{"https://tong.example/issuers/psb", "https://tong.example/.well-known/jwt-vc-issuer/issuers/psb"},
	} {
		if got, err := JWTVCIssuerMetadataURL(tc.iss); err != nil || got != tc.want {
			t.Errorf("JWTVCIssuerMetadataURL(%q) = %q, %v; want %q", tc.iss, got, err, tc.want)
		}
	}
	for _, bad := range []string{"https://x.example/?q=1", "https://x.example/#f", "not a url", "https://user@x.example/"} {
		if _, err := JWTVCIssuerMetadataURL(bad); err == nil {
			t.Errorf("JWTVCIssuerMetadataURL(%q) succeeded", bad)
		}
	}
}

// The standard path: the verifier fetches the issuer's JWKS from its
// JWT VC Issuer Metadata over https.
func TestJWTVCIssuerMetadata(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	pub, _ := jose.PublicJWK(&f.issuer.PublicKey)
	pub.Kid = "psb-1"
	var srvURL string
	mux := http.NewServeMux()
	issuerName := func() string { return srvURL + "/issuers/psb" }
	metaIssuer := issuerName
	mux.HandleFunc("GET /.well-known/jwt-vc-issuer/issuers/psb", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]any{"issuer": metaIssuer(), "jwks": map[string]any{"keys": []any{pub}}})
	})
	srv := httptest.NewTLSServer(mux)
	defer srv.Close()
	srvURL = srv.URL
	iss := issuerName()
	tok, err := IssueVC(f.issuer, VC{Issuer: iss, VCT: "v", KeyID: "psb-1", Claims: map[string]any{"a": 1}}, IssueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	v := &Verifier{Keys: &IssuerKeys{Web: &JWTVCIssuerMetadata{Client: srv.Client()}}}
	if _, err := v.Verify(context.Background(), tok, VerifyOptions{}); err != nil {
		t.Fatalf("Verify via metadata = %v", err)
	}
	// Metadata that names another issuer is refused.
	metaIssuer = func() string { return "https://evil.example" }
	v = &Verifier{Keys: &IssuerKeys{Web: &JWTVCIssuerMetadata{Client: srv.Client()}}}
	if _, err := v.Verify(context.Background(), tok, VerifyOptions{}); CodeOf(err) != CodeIssuerRefused {
		t.Errorf("Verify with mismatched metadata issuer = %v, want %s", err, CodeIssuerRefused)
	}
	// The policy hook (Tong's registry check) can refuse a resolved key.
	metaIssuer = issuerName
	v = &Verifier{Keys: &IssuerKeys{
		Web:   &JWTVCIssuerMetadata{Client: srv.Client()},
		Check: func(context.Context, string, Header, crypto.PublicKey) error { return errTestRefused },
	}}
	if _, err := v.Verify(context.Background(), tok, VerifyOptions{}); CodeOf(err) != CodeIssuerRefused {
		t.Errorf("Verify with a refusing check = %v, want %s", err, CodeIssuerRefused)
	}
	// Plain http is refused unless loopback http is allowed.
	plain := httptest.NewServer(mux)
	defer plain.Close()
	srvURL = plain.URL
	tok, _ = IssueVC(f.issuer, VC{Issuer: issuerName(), VCT: "v", KeyID: "psb-1"}, IssueOptions{})
	v = &Verifier{Keys: &IssuerKeys{Web: &JWTVCIssuerMetadata{}}}
	if _, err := v.Verify(context.Background(), tok, VerifyOptions{}); CodeOf(err) != CodeIssuerUnknown {
		t.Errorf("Verify over http = %v, want %s", err, CodeIssuerUnknown)
	}
	v = &Verifier{Keys: &IssuerKeys{Web: &JWTVCIssuerMetadata{AllowLoopbackHTTP: true}}}
	if _, err := v.Verify(context.Background(), tok, VerifyOptions{}); err != nil {
		t.Errorf("Verify over loopback http with AllowLoopbackHTTP = %v", err)
	}
}

var errTestRefused = &Error{Code: CodeIssuerRefused, Description: "not in the registry"}

// An issuer that is a DID: kid is a DID URL into its document.
func TestDIDIssuer(t *testing.T) {
	t.Parallel()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	issDID, err := did.NewKeyDID(key.Public())
	if err != nil {
		t.Fatal(err)
	}
	kid := issDID + "#" + strings.TrimPrefix(issDID, "did:key:")
	tok, err := IssueVC(key, VC{Issuer: issDID, VCT: "v", KeyID: kid, Claims: map[string]any{"a": 1}}, IssueOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res := did.KeyResolver{}
	v := &Verifier{Keys: &IssuerKeys{DID: DIDIssuerKeys{Resolver: res}}}
	if _, err := v.Verify(context.Background(), tok, VerifyOptions{}); err != nil {
		t.Fatalf("Verify(did:key issuer) = %v", err)
	}
	// A kid that points into another DID's document is refused.
	_, other, _ := ed25519.GenerateKey(rand.Reader)
	otherDID, _ := did.NewKeyDID(other.Public())
	tok, _ = IssueVC(other, VC{Issuer: issDID, VCT: "v", KeyID: otherDID + "#" + strings.TrimPrefix(otherDID, "did:key:")}, IssueOptions{})
	if _, err := v.Verify(context.Background(), tok, VerifyOptions{}); CodeOf(err) != CodeIssuerRefused {
		t.Errorf("Verify(kid of another DID) = %v, want %s", err, CodeIssuerRefused)
	}
}
