package didregistry_test

import (
	"bytes"
	"crypto"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"time"

	"github.com/tongid/tong/did"
	"github.com/tongid/tong/didregistry"
)

// Create a did:tong, update it, and resolve it as it was before the
// update: the rules a registry and its clients run, without a registry.
func Example() {
	// A deterministic key and clock, so the output is stable; a real
	// controller uses a fresh key (keys.Signer or any crypto.Signer).
	k := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{1}, ed25519.SeedSize))
	created := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	mk, _ := did.EncodeMultikey(k.Public())
	doc := func(id string) *did.Document {
		return &did.Document{Context: []any{did.ContextV1}, ID: id,
			VerificationMethods: []did.VerificationMethod{{ID: id + "#key-1", Type: "Multikey", Controller: id, PublicKeyMultibase: mk}},
			AssertionMethod:     []did.VerificationRef{{Ref: "#key-1"}}}
	}

	// The genesis names the DID by the hash of its own content (SCID).
	op, err := didregistry.NewGenesis(k, doc(didregistry.PlaceholderDID), []crypto.PublicKey{k.Public()}, nil, created)
	if err != nil {
		panic(err)
	}
	leaf, _ := op.Canonical() // the log leaf: JCS bytes
	rules := didregistry.Rules{}
	head, err := rules.Validate(nil, op, leaf, created)
	if err != nil {
		panic(err)
	}
	chain := []didregistry.Entry{{Index: 0, Leaf: leaf}}

	// An update names its predecessor and is signed by an update key.
	up := didregistry.Next(head, didregistry.OpUpdate, created.Add(time.Hour))
	d := doc(head.DID)
	d.Service = []did.Service{{ID: head.DID + "#oid4vci", Type: []string{didregistry.ServiceTypeCredentialIssuer}, ServiceEndpoint: "https://psb.example/issuers/psb"}}
	up.Document, _ = json.Marshal(d)
	_ = up.Sign(k)
	upLeaf, _ := up.Canonical()
	chain = append(chain, didregistry.Entry{Index: 1, Leaf: upLeaf})

	// A client replays the whole chain and resolves a version by time.
	states, err := didregistry.Replay(rules, chain, created.Add(2*time.Hour))
	if err != nil {
		panic(err)
	}
	then, _, _ := didregistry.ResolveStates(head.DID, states, did.ResolveOptions{VersionTime: created.Add(time.Minute)})
	now, _, _ := didregistry.ResolveStates(head.DID, states, did.ResolveOptions{})
	fmt.Println(op.DID)
	fmt.Println("versions:", len(states))
	fmt.Println("issuer URLs then:", didregistry.IssuerURLs(states[0].Document))
	fmt.Println("issuer URLs now:", didregistry.IssuerURLs(states[1].Document))
	fmt.Println("next version after the first:", then.DocumentMetadata.NextVersionID == now.DocumentMetadata.VersionID)

	// Replaying the update onto the new head is refused: one successor.
	_, err = rules.Validate(states[1], up, upLeaf, created.Add(2*time.Hour))
	fmt.Println(didregistry.CodeOf(err))
	// Output:
	// did:tong:zQmX6GgzJyBwqbDcW6LRyiQ9JP2HAAAsG35YTeeT6eLbPiV
	// versions: 2
	// issuer URLs then: []
	// issuer URLs now: [https://psb.example/issuers/psb]
	// next version after the first: true
	// conflict
}
