package did

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

type documentFile struct {
	Source   string          `json:"source"`
	Document json.RawMessage `json:"document"`
}

func loadDocuments(tb testing.TB) map[string][]byte {
	tb.Helper()
	files, _ := filepath.Glob("testdata/documents/*.json")
	if len(files) < 5 {
		tb.Fatalf("testdata/documents: found %d files", len(files))
	}
	out := make(map[string][]byte)
	for _, f := range files {
		var df documentFile
		readJSON(tb, f, &df)
		if df.Source == "" || len(df.Document) == 0 {
			tb.Fatalf("%s: missing source or document", f)
		}
		out[filepath.Base(f)] = df.Document
	}
	return out
}

// TestDocumentRoundTrip parses every example document, marshals it, and
// parses it again: the two parses are equal, and a second marshal gives
// the same bytes.
func TestDocumentRoundTrip(t *testing.T) {
	t.Parallel()
	for name, raw := range loadDocuments(t) {
		t.Run(name, func(t *testing.T) {
			doc, err := ParseDocument(raw)
			if err != nil {
				t.Fatalf("ParseDocument = %v", err)
			}
			out, err := json.Marshal(doc)
			if err != nil {
				t.Fatalf("Marshal = %v", err)
			}
			doc2, err := ParseDocument(out)
			if err != nil {
				t.Fatalf("ParseDocument(Marshal) = %v\n%s", err, out)
			}
			if diff := cmp.Diff(doc, doc2); diff != "" {
				t.Errorf("round trip mismatch (-first +second):\n%s", diff)
			}
			out2, _ := json.Marshal(doc2)
			if string(out) != string(out2) {
				t.Errorf("Marshal not stable:\n%s\n%s", out, out2)
			}
			// Semantically equal to the input, as generic JSON (a single
			// @context, controller or type string becomes an array).
			var a, b any
			json.Unmarshal(raw, &a)
			json.Unmarshal(out, &b)
			normalize(a)
			if diff := cmp.Diff(a, b); diff != "" {
				t.Errorf("output differs from input (-in +out):\n%s", diff)
			}
			if c := doc.Clone(); !cmp.Equal(c, doc) {
				t.Errorf("Clone differs")
			}
		})
	}
}

// normalize rewrites the string-or-set members the way Marshal writes them.
func normalize(v any) {
	m, ok := v.(map[string]any)
	if !ok {
		return
	}
	if s, ok := m["@context"].(string); ok {
		m["@context"] = []any{s}
	}
	if c, ok := m["@context"].(map[string]any); ok {
		m["@context"] = []any{c}
	}
	if c, ok := m["controller"].([]any); ok && len(c) == 1 {
		m["controller"] = c[0]
	}
	if ss, ok := m["service"].([]any); ok {
		for _, s := range ss {
			if sm, ok := s.(map[string]any); ok {
				if ts, ok := sm["type"].([]any); ok && len(ts) == 1 {
					sm["type"] = ts[0]
				}
			}
		}
	}
}

func TestKitchenSink(t *testing.T) {
	t.Parallel()
	doc, err := ParseDocument(loadDocuments(t)["tong_kitchen_sink.json"])
	if err != nil {
		t.Fatal(err)
	}
	if got := doc.Service[2].EndpointURLs(); !cmp.Equal(got, []string{"https://a.example"}) {
		t.Errorf("EndpointURLs = %v", got)
	}
	if string(doc.Extra["tongIssuerUrl"]) != `"https://permits.city.example"` {
		t.Errorf("Extra = %v", doc.Extra)
	}
	// Relative and absolute ids find the same method.
	a, err1 := doc.VerificationMethod("#key-1")
	b, err2 := doc.VerificationMethod("did:tong:zQmAgency1#key-1")
	if err1 != nil || err2 != nil || a != b {
		t.Errorf("VerificationMethod: %v %v %v %v", a, b, err1, err2)
	}
	if vm, err := doc.VerificationMethod("#ka-1"); err != nil || vm.PublicKeyMultibase == "" {
		t.Errorf("embedded VerificationMethod = %v, %v", vm, err)
	}
	if _, err := doc.VerificationMethod("#nope"); CodeOf(err) != CodeNotFound {
		t.Errorf("VerificationMethod(#nope) = %v", err)
	}

	tests := []struct {
		rel  Relationship
		kid  string
		want string // Go type of the key, or error code
	}{
		{AssertionMethod, "#key-1", "*ecdsa.PublicKey"},
		{AssertionMethod, "did:tong:zQmAgency1#key-1", "*ecdsa.PublicKey"},
		{AssertionMethod, "#key-2", "ed25519.PublicKey"},
		{CapabilityDelegation, "#key-1", "*ecdsa.PublicKey"},
		{Authentication, "#key-2", string(CodeInvalidRelationshipForVerificationMethod)},
		{Authentication, "#ka-1", string(CodeInvalidRelationshipForVerificationMethod)},
		{KeyAgreement, "#ka-1", "*ecdh.PublicKey"},
		{KeyAgreement, "#key-1", string(CodeInvalidRelationshipForVerificationMethod)},
		{AssertionMethod, "#old", string(CodeInvalidVerificationMethod)},
		{AssertionMethod, "#missing", string(CodeNotFound)},
		{AssertionMethod, "did:tong:other#key-1", string(CodeInvalidDIDURL)},
		{AssertionMethod, "key-1", string(CodeInvalidDIDURL)},
		{Relationship("bogus"), "#key-1", string(CodeInvalidOptions)},
	}
	for _, tc := range tests {
		pub, err := doc.KeyFor(tc.rel, tc.kid)
		got := string(CodeOf(err))
		switch pub.(type) {
		case *ecdsa.PublicKey:
			got = "*ecdsa.PublicKey"
		case ed25519.PublicKey:
			got = "ed25519.PublicKey"
		case *ecdh.PublicKey:
			got = "*ecdh.PublicKey"
		}
		if got != tc.want {
			t.Errorf("KeyFor(%s, %q) = %T, %v; want %s", tc.rel, tc.kid, pub, err, tc.want)
		}
	}

	if err := doc.ExpandRelativeURLs(); err != nil {
		t.Fatal(err)
	}
	if doc.hasRelativeURL() {
		t.Errorf("relative URLs remain after ExpandRelativeURLs")
	}
	if doc.VerificationMethods[0].ID != "did:tong:zQmAgency1#key-1" || doc.Authentication[0].Ref != "did:tong:zQmAgency1#key-1" ||
		doc.KeyAgreement[0].Embedded.ID != "did:tong:zQmAgency1#ka-1" || doc.Service[0].ID != "did:tong:zQmAgency1#issuer" {
		t.Errorf("ExpandRelativeURLs left %+v", doc)
	}
}

func TestPublicKeyUnsupported(t *testing.T) {
	t.Parallel()
	doc, err := ParseDocument(loadDocuments(t)["core11_many_key_types.json"])
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]error{
		"#key-0": nil, "#key-1": nil, "#key-2": ErrUnsupportedKeyType, "#key-3": ErrUnsupportedKeyType,
		"#key-4": ErrInvalidPublicKey, // the printed P-256 x is not 32 bytes
		"#key-5": ErrUnsupportedKeyType, "#key-6": ErrUnsupportedKeyType, "#key-7": ErrUnsupportedKeyType,
	}
	for id, w := range want {
		vm, err := doc.VerificationMethod(id)
		if err != nil {
			t.Fatal(err)
		}
		_, err = PublicKey(vm)
		if w == nil && err != nil || w != nil && (!errors.Is(err, w) || CodeOf(err) != CodeInvalidVerificationMethod) {
			t.Errorf("PublicKey(%s) = %v, want %v", id, err, w)
		}
	}
}

func TestParseDocumentRejects(t *testing.T) {
	t.Parallel()
	const vm = `{"id":"#k","type":"Multikey","controller":"did:ex:1","publicKeyMultibase":"z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"}`
	tests := []struct {
		name string
		doc  string
	}{
		{"not JSON", `{`},
		{"array", `[]`},
		{"null", `null`},
		{"invalid UTF-8", "{\"id\":\"did:ex:1\",\"x\":\"\xff\"}"},
		{"trailing data", `{"id":"did:ex:1"} {}`},
		{"duplicate id", `{"id":"did:ex:1","id":"did:ex:2"}`},
		{"nested duplicate", `{"id":"did:ex:1","verificationMethod":[{"id":"#k","id":"#j","type":"Multikey","controller":"did:ex:1","publicKeyMultibase":"z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"}]}`},
		{"null id", `{"id":null}`},
		{"missing id", `{}`},
		{"bad id", `{"id":"did:ex:1#frag"}`},
		{"bad controller", `{"id":"did:ex:1","controller":"https://x"}`},
		{"controller number", `{"id":"did:ex:1","controller":1}`},
		{"alsoKnownAs not URI", `{"id":"did:ex:1","alsoKnownAs":["nope"]}`},
		{"context number", `{"id":"did:ex:1","@context":[1]}`},
		{"vm without type", `{"id":"did:ex:1","verificationMethod":[{"id":"#k","controller":"did:ex:1"}]}`},
		{"vm bad controller", `{"id":"did:ex:1","verificationMethod":[{"id":"#k","type":"X","controller":"x"}]}`},
		{"vm bad id", `{"id":"did:ex:1","verificationMethod":[{"id":"k","type":"X","controller":"did:ex:1"}]}`},
		{"duplicate vm ids", `{"id":"did:ex:1","verificationMethod":[` + vm + `,` + strings.Replace(vm, `"#k"`, `"did:ex:1#k"`, 1) + `]}`},
		{"embedded duplicates vm", `{"id":"did:ex:1","verificationMethod":[` + vm + `],"authentication":[` + vm + `]}`},
		{"both key materials", `{"id":"did:ex:1","verificationMethod":[{"id":"#k","type":"Multikey","controller":"did:ex:1","publicKeyMultibase":"z6Mk","publicKeyJwk":{"kty":"OKP"}}]}`},
		{"multikey without key", `{"id":"did:ex:1","verificationMethod":[{"id":"#k","type":"Multikey","controller":"did:ex:1"}]}`},
		{"private jwk", `{"id":"did:ex:1","verificationMethod":[{"id":"#k","type":"JsonWebKey","controller":"did:ex:1","publicKeyJwk":{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo","d":"nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A"}}]}`},
		{"jwk not object", `{"id":"did:ex:1","verificationMethod":[{"id":"#k","type":"JsonWebKey","controller":"did:ex:1","publicKeyJwk":"x"}]}`},
		{"jwk without kty", `{"id":"did:ex:1","verificationMethod":[{"id":"#k","type":"JsonWebKey","controller":"did:ex:1","publicKeyJwk":{}}]}`},
		{"relationship number", `{"id":"did:ex:1","authentication":[1]}`},
		{"relationship bad ref", `{"id":"did:ex:1","authentication":["k"]}`},
		{"relationship empty ref", `{"id":"did:ex:1","authentication":[""]}`},
		{"service without type", `{"id":"did:ex:1","service":[{"id":"#s","serviceEndpoint":"https://x"}]}`},
		{"service bad endpoint", `{"id":"did:ex:1","service":[{"id":"#s","type":"T","serviceEndpoint":"nope"}]}`},
		{"service endpoint number", `{"id":"did:ex:1","service":[{"id":"#s","type":"T","serviceEndpoint":1}]}`},
		{"service empty set", `{"id":"did:ex:1","service":[{"id":"#s","type":"T","serviceEndpoint":[]}]}`},
		{"service bad id", `{"id":"did:ex:1","service":[{"id":"s","type":"T","serviceEndpoint":"https://x"}]}`},
		{"duplicate service", `{"id":"did:ex:1","service":[{"id":"#s","type":"T","serviceEndpoint":"https://x"},{"id":"did:ex:1#s","type":"T","serviceEndpoint":"https://x"}]}`},
		{"too deep", `{"id":"did:ex:1","x":` + strings.Repeat("[", 40) + strings.Repeat("]", 40) + `}`},
		{"too large", `{"id":"did:ex:1","x":"` + strings.Repeat("a", MaxDocumentSize) + `"}`},
		{"too many methods", `{"id":"did:ex:1","authentication":[` + strings.TrimSuffix(strings.Repeat(`"#k",`, MaxEntries+1), ",") + `]}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseDocument([]byte(tc.doc)); CodeOf(err) != CodeInvalidDIDDocument {
				t.Errorf("ParseDocument(%.80s) = %v, want %s", tc.doc, err, CodeInvalidDIDDocument)
			}
		})
	}
}

func TestMarshalRefusesBadExtra(t *testing.T) {
	t.Parallel()
	doc := Document{ID: "did:ex:1", Extra: map[string]json.RawMessage{"id": json.RawMessage(`"did:ex:2"`)}}
	if _, err := json.Marshal(doc); err == nil {
		t.Errorf("Marshal with Extra[\"id\"] succeeded")
	}
	doc.Extra = map[string]json.RawMessage{"x": json.RawMessage(`{`)}
	if _, err := json.Marshal(doc); err == nil {
		t.Errorf("Marshal with invalid Extra JSON succeeded")
	}
	ref := VerificationRef{Ref: "#a", Embedded: &VerificationMethod{}}
	if _, err := json.Marshal(ref); err == nil {
		t.Errorf("Marshal of a VerificationRef with both forms succeeded")
	}
}

// FuzzParseDocument checks that ParseDocument never panics, and that a
// document it accepts marshals to JSON that parses back to the same value.
func FuzzParseDocument(f *testing.F) {
	for _, raw := range loadDocuments(f) {
		f.Add(raw)
	}
	f.Add([]byte(`{"id":"did:ex:1","id":"did:ex:1"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := ParseDocument(data)
		if err != nil {
			if CodeOf(err) != CodeInvalidDIDDocument {
				t.Fatalf("error without code: %v", err)
			}
			return
		}
		out, err := json.Marshal(doc)
		if err != nil {
			t.Fatalf("Marshal = %v", err)
		}
		doc2, err := ParseDocument(out)
		if err != nil {
			t.Fatalf("ParseDocument(Marshal(doc)) = %v\n%s", err, out)
		}
		if diff := cmp.Diff(doc, doc2, cmpopts.EquateEmpty()); diff != "" {
			t.Fatalf("round trip mismatch:\n%s", diff)
		}
		for _, vm := range doc.VerificationMethods {
			PublicKey(&vm)
		}
		for _, rel := range allRelationships {
			for _, r := range doc.Relationship(rel) {
				doc.KeyFor(rel, r.Ref)
			}
		}
	})
}
