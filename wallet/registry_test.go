package wallet_test

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/tongid/tong/did"
	"github.com/tongid/tong/didregistry"
	"github.com/tongid/tong/didregistry/client"
	"github.com/tongid/tong/didregistry/httpapi"
	regstore "github.com/tongid/tong/didregistry/store"
	"github.com/tongid/tong/internal/keys"
	"github.com/tongid/tong/internal/store"
)

// registry is a real did:tong registry on a loopback server, with a trust
// authority that can register and accredit organisations.
type registry struct {
	srv       *httptest.Server
	log       *regstore.Log
	vkey      string
	authority string
	authKey   *keys.Signer
	client    *client.Client
	clock     time.Time
}

const regOrigin = "registry.test/registry"

func newRegistry(t testing.TB) *registry {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, filepath.Join(t.TempDir(), "r.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	_, logKey, _ := ed25519.GenerateKey(nil)
	signer, vkey, _ := didregistry.NewNoteSigner(regOrigin, logKey)
	authKey, _ := keys.Generate(nil, keys.ES256)
	r := &registry{vkey: vkey, authKey: authKey, clock: time.Now().Add(-time.Hour)}
	gen := r.genesis(t, authKey, "", false)
	r.authority = gen.DID
	r.log, err = regstore.Open(ctx, regstore.Config{DB: db, Origin: regOrigin, Signer: signer, Rules: didregistry.Rules{TrustAuthority: r.authority}})
	if err != nil {
		t.Fatal(err)
	}
	api, err := httpapi.New(httpapi.Config{Log: r.log, Origin: regOrigin, VerifierKey: vkey, TrustAuthority: r.authority})
	if err != nil {
		t.Fatal(err)
	}
	r.srv = httptest.NewServer(api.Routes())
	t.Cleanup(func() { r.srv.Close(); r.log.Close(); db.Close() })
	r.append(t, gen)
	r.client, err = client.New(client.Config{BaseURL: r.srv.URL, HTTPClient: r.srv.Client(), Origin: regOrigin, LogKey: vkey, TrustAuthority: r.authority})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *registry) tick() time.Time { r.clock = r.clock.Add(time.Second); return r.clock }

func (r *registry) append(t testing.TB, op *didregistry.Operation) {
	t.Helper()
	leaf, err := op.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.log.Append(context.Background(), leaf); err != nil {
		t.Fatal(err)
	}
}

// genesis makes a DID whose key is its update, assertion and
// authentication key.
func (r *registry) genesis(t testing.TB, key *keys.Signer, issuerURL string, _ bool) *didregistry.Operation {
	t.Helper()
	mk, _ := did.EncodeMultikey(key.Public())
	id := didregistry.PlaceholderDID
	doc := &did.Document{Context: []any{did.ContextV1}, ID: id,
		VerificationMethods: []did.VerificationMethod{{ID: id + "#key-1", Type: "Multikey", Controller: id, PublicKeyMultibase: mk}},
		AssertionMethod:     []did.VerificationRef{{Ref: "#key-1"}},
		Authentication:      []did.VerificationRef{{Ref: "#key-1"}}}
	if issuerURL != "" {
		doc.Service = []did.Service{{ID: id + "#oid4vci", Type: []string{didregistry.ServiceTypeCredentialIssuer}, ServiceEndpoint: issuerURL}}
	}
	op, err := didregistry.NewGenesis(key, doc, []crypto.PublicKey{key.Public()}, nil, r.tick())
	if err != nil {
		t.Fatal(err)
	}
	return op
}

// register registers an organisation and accredits it for scope.
func (r *registry) register(t testing.TB, key *keys.Signer, issuerURL, role string, scope ...string) string {
	t.Helper()
	op := r.genesis(t, key, issuerURL, false)
	r.append(t, op)
	if role != "" {
		head, err := r.log.State(context.Background(), r.authority)
		if err != nil {
			t.Fatal(err)
		}
		acc := didregistry.Next(head, didregistry.OpAccredit, r.tick())
		acc.Accreditation = &didregistry.Accreditation{Subject: op.DID, Role: role, Scope: scope, ValidFrom: didregistry.FormatTime(r.clock.Add(-time.Hour))}
		if err := acc.Sign(r.authKey); err != nil {
			t.Fatal(err)
		}
		r.append(t, acc)
	}
	return op.DID
}
