package did_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/tongid/tong/did"
)

func ExampleParse() {
	d, err := did.Parse("did:web:example.com%3A8443:users:alice")
	if err != nil {
		panic(err)
	}
	fmt.Println(d.Method)
	fmt.Println(d.ID)

	_, err = did.Parse("did:Web:example.com")
	fmt.Println(did.CodeOf(err))
	// Output:
	// web
	// example.com%3A8443:users:alice
	// INVALID_DID
}

func ExampleParseURL() {
	u, err := did.ParseURL("did:example:123/path?versionId=2#key-1")
	if err != nil {
		panic(err)
	}
	fmt.Println(u.DID)
	fmt.Println(u.Path, u.Query, u.Fragment)
	// Output:
	// did:example:123
	// /path versionId=2 key-1
}

func ExampleResolveReference() {
	u, _ := did.ResolveReference(did.DID{Method: "example", ID: "123"}, "#key-1")
	fmt.Println(u)
	// Output: did:example:123#key-1
}

func ExampleURL_Params() {
	u, _ := did.ParseURL("did:example:123?versionTime=2026-01-01T00:00:00Z")
	p, _ := u.Params()
	fmt.Println(p.Get("versionTime"))
	// Output: 2026-01-01T00:00:00Z
}

// An Ed25519 key from a fixed seed (the first entry of the did:key spec's
// ed25519-x25519 test vectors).
func ExampleNewKeyDID() {
	seed := make([]byte, ed25519.SeedSize)
	pub := ed25519.NewKeyFromSeed(seed).Public()
	d, err := did.NewKeyDID(pub)
	if err != nil {
		panic(err)
	}
	fmt.Println(d)
	// Output: did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp
}

func ExampleParseKeyDID() {
	pub, err := did.ParseKeyDID("did:key:zDnaerx9CtbPJ1q36T5Ln5wYt3MQYeGRG5ehnPAmxcf5mDZpv")
	if err != nil {
		panic(err)
	}
	fmt.Println(pub.(*ecdsa.PublicKey).Curve.Params().Name)

	_, err = did.ParseKeyDID("did:key:z82Lm1MpAkeJcix9K8TMiLd5NMAhnwkjjCBeWHXyu3U4oT2MVJJKXkcVBgjGhnLBn2Kaau9")
	fmt.Println(did.CodeOf(err), errors.Is(err, did.ErrUnsupportedKeyType))
	// Output:
	// P-256
	// METHOD_NOT_SUPPORTED true
}

func ExampleKeyResolver_Resolve() {
	const id = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
	res, err := did.KeyResolver{}.Resolve(context.Background(), id, did.ResolveOptions{})
	if err != nil {
		panic(err)
	}
	out, _ := json.MarshalIndent(res.Document, "", "  ")
	fmt.Println(string(out))
	// Output:
	// {
	//   "@context": [
	//     "https://www.w3.org/ns/did/v1.1"
	//   ],
	//   "id": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
	//   "verificationMethod": [
	//     {
	//       "id": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK#z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
	//       "type": "Multikey",
	//       "controller": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
	//       "publicKeyMultibase": "z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
	//     }
	//   ],
	//   "authentication": [
	//     "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK#z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
	//   ],
	//   "assertionMethod": [
	//     "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK#z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
	//   ],
	//   "capabilityInvocation": [
	//     "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK#z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
	//   ],
	//   "capabilityDelegation": [
	//     "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK#z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
	//   ]
	// }
}

// The P-256 key of the did:jwk spec's example gives the spec's DID.
func ExampleNewJWKDID() {
	x, _ := base64.RawURLEncoding.DecodeString("acbIQiuMs3i8_uszEjJ2tpTtRM4EU3yz91PH6CdH2V0")
	y, _ := base64.RawURLEncoding.DecodeString("_KcyLj9vWMptnmKtm46GqDz8wf74I5LKgrl2GzH3nSE")
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, x...), y...))
	if err != nil {
		panic(err)
	}
	d, _ := did.NewJWKDID(pub)
	fmt.Println(d)
	// Output: did:jwk:eyJjcnYiOiJQLTI1NiIsImt0eSI6IkVDIiwieCI6ImFjYklRaXVNczNpOF91c3pFakoydHBUdFJNNEVVM3l6OTFQSDZDZEgyVjAiLCJ5IjoiX0tjeUxqOXZXTXB0bm1LdG00NkdxRHo4d2Y3NEk1TEtncmwyR3pIM25TRSJ9
}

func ExampleJWKResolver_Resolve() {
	// A JWK with "d" is a private key: never a DID.
	const private = "did:jwk:eyJrdHkiOiJPS1AiLCJjcnYiOiJFZDI1NTE5IiwiZCI6Im5XR3huZV85V21DNmhFcjBrdXdzeEVSSnhXbDdNbWtaY0R1c0F4eXVmMkEiLCJ4IjoiMTFxWUFZS3hDcmZWU183VHlXUUhPZzdoY3ZQYXBpTWxyd0lhYVBjSFVSbyJ9"
	_, err := did.JWKResolver{}.Resolve(context.Background(), private, did.ResolveOptions{})
	fmt.Println(did.CodeOf(err), errors.Is(err, did.ErrPrivateKey))
	// Output: INVALID_DID true
}

func ExampleWebURL() {
	for _, d := range []string{
		"did:web:w3c-ccg.github.io",
		"did:web:example.com%3A3000:user:alice",
		"did:web:127.0.0.1",
	} {
		u, err := did.WebURL(d)
		if err != nil {
			fmt.Println(did.CodeOf(err), errors.Is(err, did.ErrIPAddress))
			continue
		}
		fmt.Println(u)
	}
	// Output:
	// https://w3c-ccg.github.io/.well-known/did.json
	// https://example.com:3000/user/alice/did.json
	// INVALID_DID true
}

func ExampleNewWebResolver() {
	// nil Client: a timeout, TLS 1.2+, no proxy, public addresses only.
	r, err := did.NewWebResolver(did.WebConfig{})
	if err != nil {
		panic(err)
	}
	_, err = r.Resolve(context.Background(), "did:web:[::1]", did.ResolveOptions{})
	fmt.Println(did.CodeOf(err))
	// Output: INVALID_DID
}

func ExampleResolveKey() {
	m, err := did.NewMulti(map[string]did.Resolver{
		"key": did.KeyResolver{},
		"jwk": did.JWKResolver{},
	})
	if err != nil {
		panic(err)
	}
	const kid = "did:key:zDnaerx9CtbPJ1q36T5Ln5wYt3MQYeGRG5ehnPAmxcf5mDZpv#zDnaerx9CtbPJ1q36T5Ln5wYt3MQYeGRG5ehnPAmxcf5mDZpv"
	pub, err := did.ResolveKey(context.Background(), m, kid, did.AssertionMethod)
	fmt.Printf("%T %v\n", pub, err)

	_, err = did.ResolveKey(context.Background(), m, kid, did.KeyAgreement)
	fmt.Println(did.CodeOf(err))
	// Output:
	// *ecdsa.PublicKey <nil>
	// INVALID_RELATIONSHIP_FOR_VERIFICATION_METHOD
}

func ExampleNewMulti() {
	m, _ := did.NewMulti(map[string]did.Resolver{"key": did.KeyResolver{}})
	_, err := m.Resolve(context.Background(), "did:example:123", did.ResolveOptions{})
	var e *did.Error
	if errors.As(err, &e) {
		fmt.Println(e.Code, did.ProblemOf(err).Type)
	}
	// Output: METHOD_NOT_SUPPORTED https://www.w3.org/ns/did#METHOD_NOT_SUPPORTED
}

func ExampleNewCache() {
	calls := 0
	upstream := did.ResolverFunc(func(ctx context.Context, id string, opts did.ResolveOptions) (*did.Result, error) {
		calls++
		return did.KeyResolver{}.Resolve(ctx, id, opts)
	})
	c, err := did.NewCache(did.CacheConfig{Resolver: upstream, TTL: time.Minute})
	if err != nil {
		panic(err)
	}
	for range 3 {
		c.Resolve(context.Background(), "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK", did.ResolveOptions{})
	}
	fmt.Println(calls)
	// Output: 1
}

func ExampleResolverFunc() {
	var r did.Resolver = did.ResolverFunc(func(ctx context.Context, id string, opts did.ResolveOptions) (*did.Result, error) {
		return nil, &did.Error{Code: did.CodeNotFound}
	})
	_, err := r.Resolve(context.Background(), "did:tong:zQm1", did.ResolveOptions{})
	fmt.Println(did.CodeOf(err))
	// Output: NOT_FOUND
}

func ExampleParseDocument() {
	doc, err := did.ParseDocument([]byte(`{
		"@context": "https://www.w3.org/ns/did/v1.1",
		"id": "did:example:123",
		"verificationMethod": [{
			"id": "#key-1",
			"type": "Multikey",
			"controller": "did:example:123",
			"publicKeyMultibase": "z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
		}],
		"assertionMethod": ["#key-1"]
	}`))
	if err != nil {
		panic(err)
	}
	vm, _ := doc.VerificationMethod("did:example:123#key-1")
	fmt.Println(vm.Type)

	_, err = did.ParseDocument([]byte(`{"id": "did:example:1", "id": "did:example:2"}`))
	fmt.Println(did.CodeOf(err))
	// Output:
	// Multikey
	// INVALID_DID_DOCUMENT
}

func ExampleDocument_KeyFor() {
	doc, _ := did.ParseDocument([]byte(`{
		"id": "did:example:123",
		"verificationMethod": [{
			"id": "#key-1",
			"type": "Multikey",
			"controller": "did:example:123",
			"publicKeyMultibase": "z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
		}],
		"authentication": ["#key-1"]
	}`))
	pub, err := doc.KeyFor(did.Authentication, "#key-1")
	fmt.Printf("%T %v\n", pub, err)
	_, err = doc.KeyFor(did.AssertionMethod, "#key-1")
	fmt.Println(did.CodeOf(err))
	// Output:
	// ed25519.PublicKey <nil>
	// INVALID_RELATIONSHIP_FOR_VERIFICATION_METHOD
}

func ExampleDocument_ExpandRelativeURLs() {
	doc := &did.Document{
		ID:              "did:example:123",
		AssertionMethod: []did.VerificationRef{{Ref: "#key-1"}},
	}
	doc.ExpandRelativeURLs()
	fmt.Println(doc.AssertionMethod[0].Ref)
	// Output: did:example:123#key-1
}

func ExamplePublicKey() {
	vm := &did.VerificationMethod{
		ID:           "did:example:123#key-2",
		Type:         did.TypeJSONWebKey,
		Controller:   "did:example:123",
		PublicKeyJwk: json.RawMessage(`{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}`),
	}
	pub, err := did.PublicKey(vm)
	fmt.Printf("%T %v\n", pub, err)
	// Output: ed25519.PublicKey <nil>
}

func ExampleEncodeMultikey() {
	pub, _ := did.DecodeMultikey("z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK")
	fmt.Printf("%x\n", pub)
	mb, _ := did.EncodeMultikey(pub)
	fmt.Println(mb)
	// Output:
	// 2e6fcce36701dc791488e0d0b1745cc1e33a4c1c9fcc41c63bd343dbbe0970e6
	// z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK
}

func ExampleResult() {
	res := did.Result{
		Document: &did.Document{ID: "did:tong:zQm1"},
		DocumentMetadata: did.DocumentMetadata{
			Created:   time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
			VersionID: "1-zQm1",
			Proof:     []json.RawMessage{json.RawMessage(`{"logIndex":7,"checkpoint":"…","inclusionProof":[]}`)},
		},
		ResolutionMetadata: did.ResolutionMetadata{ContentType: did.MediaTypeDID},
	}
	out, _ := json.Marshal(res)
	fmt.Println(string(out))
	// Output: {"didDocument":{"id":"did:tong:zQm1"},"didDocumentMetadata":{"created":"2026-01-02T03:04:05Z","versionId":"1-zQm1","proof":[{"logIndex":7,"checkpoint":"…","inclusionProof":[]}]},"didResolutionMetadata":{"contentType":"application/did"}}
}
