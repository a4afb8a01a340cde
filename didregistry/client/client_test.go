package client

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tongid/tong/did"
	"github.com/tongid/tong/didregistry"
	"github.com/tongid/tong/didregistry/httpapi"
	"github.com/tongid/tong/didregistry/store"
	istore "github.com/tongid/tong/internal/store"
	"github.com/tongid/tong/internal/store/sqlitedb"
)

const origin = "tong.test/registry"

type registry struct {
	srv  *httptest.Server
	log  *store.Log
	vkey string
}

func newRegistry(t *testing.T, logKey ed25519.PrivateKey, authority string) *registry {
	t.Helper()
	db, err := sqlitedb.Open(t.Context(), filepath.Join(t.TempDir(), "r.db"), istore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	signer, vkey, _ := didregistry.NewNoteSigner(origin, logKey)
	l, err := store.Open(t.Context(), store.Config{DB: db, Origin: origin, Signer: signer, Rules: didregistry.Rules{TrustAuthority: authority}})
	if err != nil {
		t.Fatal(err)
	}
	api, err := httpapi.New(httpapi.Config{Log: l, Origin: origin, VerifierKey: vkey, TrustAuthority: authority})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.Routes())
	t.Cleanup(func() { srv.Close(); l.Close(); db.Close() })
	return &registry{srv: srv, log: l, vkey: vkey}
}

func (r *registry) client(t *testing.T, authority string) *Client {
	c, err := New(Config{BaseURL: r.srv.URL, HTTPClient: r.srv.Client(), Origin: origin, LogKey: r.vkey, TrustAuthority: authority})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func docFor(id string, key crypto.PublicKey, issuerURL string) *did.Document {
	mk, _ := did.EncodeMultikey(key)
	d := &did.Document{
		Context:             []any{did.ContextV1},
		ID:                  id,
		VerificationMethods: []did.VerificationMethod{{ID: id + "#key-1", Type: "Multikey", Controller: id, PublicKeyMultibase: mk}},
		AssertionMethod:     []did.VerificationRef{{Ref: "#key-1"}},
	}
	if issuerURL != "" {
		d.Service = []did.Service{{ID: id + "#issuer", Type: []string{didregistry.ServiceTypeCredentialIssuer}, ServiceEndpoint: issuerURL}}
	}
	return d
}

func genesis(t *testing.T, k *ecdsa.PrivateKey, issuerURL string, at time.Time) *didregistry.Operation {
	op, err := didregistry.NewGenesis(k, docFor(didregistry.PlaceholderDID, &k.PublicKey, issuerURL), []crypto.PublicKey{&k.PublicKey}, nil, at)
	if err != nil {
		t.Fatal(err)
	}
	return op
}

func TestResolveOverHTTP(t *testing.T) {
	t.Parallel()
	_, logKey, _ := ed25519.GenerateKey(rand.Reader)
	authKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	base := time.Now().Add(-time.Hour)
	auth := genesis(t, authKey, "", base)
	reg := newRegistry(t, logKey, auth.DID)
	c := reg.client(t, auth.DID)
	ctx := t.Context()
	if _, err := c.Submit(ctx, auth); err != nil {
		t.Fatal(err)
	}
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	agency := genesis(t, k, "https://tong.test/issuers/psb", base.Add(time.Second))
	if _, err := c.Submit(ctx, agency); err != nil {
		t.Fatal(err)
	}
	// Accredit the agency.
	vc, err := c.Chain(ctx, auth.DID)
	if err != nil {
		t.Fatal(err)
	}
	acc := didregistry.Next(vc.States[len(vc.States)-1], didregistry.OpAccredit, base.Add(2*time.Second))
	acc.Accreditation = &didregistry.Accreditation{Subject: agency.DID, Role: didregistry.RoleIssuer, Scope: []string{"urn:tong:vct:citizen-identity:1"}, ValidFrom: didregistry.FormatTime(base), CredentialIssuer: "https://tong.test/issuers/psb"}
	acc.Sign(authKey)
	if _, err := c.Submit(ctx, acc); err != nil {
		t.Fatal(err)
	}

	res, err := c.Resolve(ctx, agency.DID, did.ResolveOptions{})
	if err != nil {
		t.Fatalf("Resolve = %v", err)
	}
	if key, err := res.Document.KeyFor(did.AssertionMethod, agency.DID+"#key-1"); err != nil || !key.(*ecdsa.PublicKey).Equal(&k.PublicKey) {
		t.Errorf("resolved key %v, %v", key, err)
	}
	var proof httpapi.Proof
	if len(res.ResolutionMetadata.Proof) != 1 || json.Unmarshal(res.ResolutionMetadata.Proof[0], &proof) != nil || proof.LogIndex != 1 || len(proof.InclusionProof) == 0 {
		t.Errorf("proof metadata = %s", res.ResolutionMetadata.Proof)
	}
	if ok, err := c.Accredited(ctx, agency.DID, didregistry.RoleIssuer, "urn:tong:vct:citizen-identity:1", time.Now()); !ok || err != nil {
		t.Errorf("Accredited = %v, %v", ok, err)
	}
	if d, _, err := c.DIDForIssuerURL(ctx, "https://tong.test/issuers/psb"); err != nil || d != agency.DID {
		t.Errorf("DIDForIssuerURL = %q, %v", d, err)
	}

	// The HTTP binding's statuses.
	for _, tc := range []struct {
		path   string
		status int
		ctype  string
	}{
		{"/1.0/identifiers/" + agency.DID, 200, did.MediaTypeDIDResolution},
		{"/1.0/identifiers/did:tong:zUnknown", 404, did.MediaTypeDIDResolution},
		{"/1.0/identifiers/not-a-did", 400, did.MediaTypeDIDResolution},
		{"/1.0/identifiers/" + agency.DID + "?versionTime=yesterday", 400, did.MediaTypeDIDResolution},
		{"/log/checkpoint", 200, "text/plain; charset=utf-8"},
		{"/log/key", 200, "text/plain; charset=utf-8"},
		{"/log/tile/0/000.p/3", 200, "application/octet-stream"},
		{"/log/tile/entries/000.p/3", 200, "application/octet-stream"},
		{"/log/tile/0/001", 404, "application/json"},
		{"/log/tile/0/x000/001", 404, "application/json"},
		{"/log/proof/consistency?old=1&new=3", 200, "application/json"},
		{"/log/proof/consistency?old=3&new=1", 400, "application/json"},
	} {
		resp, err := http.Get(reg.srv.URL + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.HasPrefix(resp.Header.Get("Content-Type"), tc.ctype) {
			t.Errorf("GET %s = %d %s %s, want %d %s", tc.path, resp.StatusCode, resp.Header.Get("Content-Type"), body, tc.status, tc.ctype)
		}
		if tc.path == "/log/tile/entries/000.p/3" {
			// Each leaf: a 16-bit big-endian length, then the leaf bytes.
			n := binary.BigEndian.Uint16(body)
			leaf, _ := auth.Canonical()
			if int(n) != len(leaf) || string(body[2:2+n]) != string(leaf) {
				t.Errorf("entry bundle does not start with the first leaf")
			}
		}
	}

	// Deactivation answers 410 with deactivated metadata.
	vc, _ = c.Chain(ctx, agency.DID)
	d := didregistry.Next(vc.States[len(vc.States)-1], didregistry.OpDeactivate, base.Add(3*time.Second))
	d.Sign(k)
	if _, err := c.Submit(ctx, d); err != nil {
		t.Fatal(err)
	}
	resp, _ := http.Get(reg.srv.URL + "/1.0/identifiers/" + agency.DID)
	var rr struct {
		Meta struct {
			Deactivated bool `json:"deactivated"`
		} `json:"didDocumentMetadata"`
	}
	json.NewDecoder(resp.Body).Decode(&rr)
	resp.Body.Close()
	if resp.StatusCode != http.StatusGone || !rr.Meta.Deactivated {
		t.Errorf("deactivated DID = %d %+v, want 410 with deactivated metadata", resp.StatusCode, rr)
	}
	if _, err := c.Resolve(ctx, agency.DID, did.ResolveOptions{}); did.CodeOf(err) != did.CodeDeactivated {
		t.Errorf("client Resolve(deactivated) = %v", err)
	}
	// Posting to a deactivated DID: 410.
	again := didregistry.Next(&didregistry.State{DID: agency.DID, Seq: 3, EntryHash: "zX"}, didregistry.OpUpdate, base.Add(4*time.Second))
	again.Sign(k)
	if _, err := c.Submit(ctx, again); didregistry.CodeOf(err) != didregistry.CodeDeactivated {
		t.Errorf("Submit after deactivation = %v", err)
	}
}

// A client that has seen checkpoint N rejects a registry that shows a
// different history under the same key.
func TestForkDetected(t *testing.T) {
	t.Parallel()
	_, logKey, _ := ed25519.GenerateKey(rand.Reader)
	honest := newRegistry(t, logKey, "")
	forked := newRegistry(t, logKey, "") // same key and origin, other history
	base := time.Now().Add(-time.Hour)
	c := honest.client(t, "")
	ctx := t.Context()
	var id string
	for i := range 3 {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		op := genesis(t, k, "", base.Add(time.Duration(i)*time.Second))
		if _, err := c.Submit(ctx, op); err != nil {
			t.Fatal(err)
		}
		id = op.DID
		k2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		leaf, _ := genesis(t, k2, "", base).Canonical()
		if _, err := forked.log.Append(ctx, leaf); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Resolve(ctx, id, did.ResolveOptions{}); err != nil {
		t.Fatal(err)
	}
	// Point the same client at the fork.
	c.base = forked.srv.URL
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf, _ := genesis(t, k, "", base).Canonical()
	forked.log.Append(ctx, leaf)
	op, _ := didregistry.ParseOperation(leaf)
	_, err := c.Chain(ctx, op.DID)
	var fe *didregistry.ForkError
	if !errors.As(err, &fe) || len(fe.Old) == 0 || len(fe.New) == 0 {
		t.Fatalf("Chain on a forked log = %v, want a *ForkError with both checkpoints", err)
	}
}

// A registry that answers GET /registry/issuers with another DID (one whose
// document also names the URL, published before the trust authority bound
// it) is caught: the client checks the binding in the trust authority's
// verified chain (issue 16 item 1).
func TestDIDForIssuerURLChecksTheBinding(t *testing.T) {
	t.Parallel()
	_, logKey, _ := ed25519.GenerateKey(rand.Reader)
	authKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	base := time.Now().Add(-time.Hour)
	auth := genesis(t, authKey, "", base)
	reg := newRegistry(t, logKey, auth.DID)
	honest := reg.client(t, auth.DID)
	ctx := t.Context()
	const iss = "https://tong.test/issuers/psb"
	squatKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	squatter := genesis(t, squatKey, iss, base.Add(time.Second))
	agencyKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	agency := genesis(t, agencyKey, iss, base.Add(2*time.Second))
	for _, op := range []*didregistry.Operation{auth, squatter, agency} {
		if _, err := honest.Submit(ctx, op); err != nil {
			t.Fatal(err)
		}
	}
	acc := didregistry.Next(reg.head(t, auth.DID), didregistry.OpAccredit, base.Add(3*time.Second))
	acc.Accreditation = &didregistry.Accreditation{Subject: agency.DID, Role: didregistry.RoleIssuer, Scope: []string{"urn:tong:vct:test:1"},
		ValidFrom: didregistry.FormatTime(base), CredentialIssuer: iss}
	if err := acc.Sign(authKey); err != nil {
		t.Fatal(err)
	}
	if _, err := honest.Submit(ctx, acc); err != nil {
		t.Fatal(err)
	}
	if d, _, err := honest.DIDForIssuerURL(ctx, iss); err != nil || d != agency.DID {
		t.Fatalf("honest registry: DIDForIssuerURL = %q, %v; want %s", d, err, agency.DID)
	}

	upstream, _ := url.Parse(reg.srv.URL)
	proxy := httputil.NewSingleHostReverseProxy(upstream)
	lying := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/registry/issuers" {
			w.Header().Set("Content-Type", "application/json")
			json.NewEncoder(w).Encode(map[string]string{"url": iss, "did": squatter.DID})
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer lying.Close()
	c, err := New(Config{BaseURL: lying.URL, HTTPClient: lying.Client(), Origin: origin, LogKey: reg.vkey, TrustAuthority: auth.DID})
	if err != nil {
		t.Fatal(err)
	}
	if d, _, err := c.DIDForIssuerURL(ctx, iss); didregistry.CodeOf(err) != didregistry.CodeNotFound {
		t.Errorf("lying registry: DIDForIssuerURL = %q, %v; want %s", d, err, didregistry.CodeNotFound)
	}
}

func (r *registry) head(t *testing.T, id string) *didregistry.State {
	t.Helper()
	s, err := r.log.State(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return s
}
