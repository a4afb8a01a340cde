// Package tongtest runs a whole Tong on one loopback server for tests: a
// did:tong registry with a trust authority, our issuer with the demo
// agency and types, and our verifier with counters for every preset
// purpose, each organisation registered and accredited. It is the real
// code, wired as `tong serve` wires it, so it sits in the top layer
// beside cmd/tong (docs/architecture.md): any package's tests may import
// it, no package's code may.
package tongtest

import (
	"context"
	"crypto"
	"crypto/ed25519"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-chi/chi/v5"
	"golang.org/x/mod/sumdb/note"

	"github.com/tongid/tong/did"
	"github.com/tongid/tong/didregistry"
	"github.com/tongid/tong/didregistry/client"
	"github.com/tongid/tong/didregistry/httpapi"
	regstore "github.com/tongid/tong/didregistry/store"
	"github.com/tongid/tong/internal/httpx"
	"github.com/tongid/tong/internal/keys"
	"github.com/tongid/tong/internal/pgtest"
	"github.com/tongid/tong/internal/store"
	"github.com/tongid/tong/internal/store/pgdb"
	"github.com/tongid/tong/internal/store/sqlitedb"
	"github.com/tongid/tong/issuer"
	"github.com/tongid/tong/issuer/oid4vci"
	"github.com/tongid/tong/verifier"
	vapi "github.com/tongid/tong/verifier/httpapi"
)

// Origin is the test registry's log origin.
const Origin = "tongtest/registry"

// City is a running Tong.
type City struct {
	Server *httptest.Server
	// Mux is the router; tests mount more (the web pages) on it.
	Mux      *chi.Mux
	URL      string
	DB       *store.DB
	Keys     *keys.Dir
	Log      *regstore.Log
	LogKey   string
	Registry *client.Client
	// Authority is the trust authority's DID.
	Authority string
	Issuer    *issuer.Service
	Verifier  *verifier.Service
	// IssuerToken is the PSB staff token; CounterTokens maps purpose →
	// a counter token allowed it.
	IssuerToken   string
	CounterTokens map[string]string
	PSB           *issuer.Agency
	HallDID       string

	authKey *keys.Signer
	signer  note.Signer
	dbURL   string
	opts    Options
	clock   time.Time
}

// Options tune New.
type Options struct {
	// VerifierConfig, if set, adjusts the verifier's config (clock,
	// cache TTLs).
	VerifierConfig func(*verifier.Config)
	// IssuerConfig, if set, adjusts the issuer's config (status list ttl).
	IssuerConfig func(*issuer.Config)
	// Synchronous is the SQLite synchronous pragma ("" = FULL).
	Synchronous string
	// PostgreSQL puts the city on a fresh database of the test binary's
	// throwaway cluster (internal/pgtest; its TestMain must call
	// pgtest.Main) instead of SQLite, so that Replica can add replicas.
	PostgreSQL bool
}

// New starts a City; it stops when the test ends.
func New(t testing.TB, opts Options) *City {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	var db *store.DB
	var err error
	var dbURL string
	if opts.PostgreSQL {
		dbURL = pgtest.URLForTest(t)
		db, err = pgdb.Open(ctx, dbURL, store.Options{})
	} else {
		db, err = sqlitedb.Open(ctx, filepath.Join(dir, "tong.db"), store.Options{Synchronous: opts.Synchronous})
	}
	if err != nil {
		t.Fatal(err)
	}
	kd, err := keys.OpenDir(filepath.Join(dir, "keys"), make([]byte, keys.MasterKeySize))
	if err != nil {
		t.Fatal(err)
	}
	c := &City{DB: db, Keys: kd, clock: time.Now().Add(-2 * time.Hour), CounterTokens: map[string]string{}, dbURL: dbURL, opts: opts}
	mux := chi.NewRouter()
	c.Server = httptest.NewServer(httpx.Recover(mux))
	c.URL = c.Server.URL
	c.Mux = mux
	t.Cleanup(func() { c.Server.Close(); db.Close() })

	// Registry.
	_, logKey, _ := ed25519.GenerateKey(nil)
	signer, vkey, _ := didregistry.NewNoteSigner(Origin, logKey)
	c.LogKey = vkey
	c.signer = signer
	c.authKey, _ = kd.Create("trust-authority", keys.ES256)
	gen := c.genesis(t, c.authKey, "")
	c.Authority = gen.DID
	c.Log, err = regstore.Open(ctx, regstore.Config{DB: db, Origin: Origin, Signer: signer, Rules: didregistry.Rules{TrustAuthority: c.Authority}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Log.Close() })
	c.append(t, gen)
	regAPI, err := httpapi.New(httpapi.Config{Log: c.Log, Origin: Origin, VerifierKey: vkey, TrustAuthority: c.Authority})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range httpapi.Prefixes {
		mux.Handle(p, regAPI.Routes())
	}
	c.Registry, err = client.New(client.Config{BaseURL: c.URL, HTTPClient: c.Server.Client(), Origin: Origin, LogKey: vkey, TrustAuthority: c.Authority})
	if err != nil {
		t.Fatal(err)
	}

	// Issuer: the PSB issues citizen identity and government official;
	// housing issues residence.
	icfg := issuer.Config{DB: db, Keys: kd, Secret: make([]byte, 32), AllowLoopbackHTTP: true}
	if opts.IssuerConfig != nil {
		opts.IssuerConfig(&icfg)
	}
	c.Issuer, err = issuer.New(ctx, icfg)
	if err != nil {
		t.Fatal(err)
	}
	issAPI := oid4vci.New(c.Issuer).Routes()
	for _, p := range oid4vci.Prefixes {
		mux.Handle(p, issAPI)
	}
	types, _ := issuer.DemoTypes()
	for _, ag := range []struct {
		slug, name string
		types      []string
	}{{"psb", "Beijing Municipal Public Security Bureau", []string{"citizen-identity", "government-official"}},
		{"housing", "Beijing Municipal Commission of Housing", []string{"beijing-residence"}}} {
		key, _ := kd.Create("org-"+ag.slug, keys.ES256)
		url := c.URL + "/issuers/" + ag.slug
		var vcts []string
		for _, id := range ag.types {
			vcts = append(vcts, types[id].VCT)
		}
		id := c.Register(t, key, url, didregistry.RoleIssuer, vcts...)
		if err := c.Issuer.AddAgency(ctx, issuer.Agency{Slug: ag.slug, Name: ag.name, IssuerURL: url, DID: id, KeyName: "org-" + ag.slug, KeyID: id + "#key-1"}); err != nil {
			t.Fatal(err)
		}
		for _, tid := range ag.types {
			if err := c.Issuer.PutType(ctx, ag.slug, "test", types[tid]); err != nil {
				t.Fatal(err)
			}
		}
	}
	c.PSB, _ = c.Issuer.Agency(ctx, "psb")
	c.IssuerToken, _, _ = c.Issuer.CreateAPIToken(ctx, "psb", "test", "test")

	// Verifier: the Dongcheng hall, accredited for every preset purpose.
	hallKey, _ := kd.Create("org-dongcheng", keys.ES256)
	presets, _ := verifier.Presets()
	var purposes []string
	for id := range presets {
		purposes = append(purposes, id)
	}
	c.HallDID = c.Register(t, hallKey, "", didregistry.RoleVerifier, purposes...)
	vcfg := verifier.Config{DB: db, Keys: kd, Registry: c.Registry, PublicURL: c.URL, HTTPClient: c.Server.Client(), AllowLoopbackHTTP: true}
	if opts.VerifierConfig != nil {
		opts.VerifierConfig(&vcfg)
	}
	c.Verifier, err = verifier.New(ctx, vcfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Verifier.AddOrg(ctx, verifier.Org{Slug: "dongcheng", Name: "Dongcheng District Government Service Hall", DID: c.HallDID,
		KeyName: "org-dongcheng", KeyID: c.HallDID + "#key-1"}); err != nil {
		t.Fatal(err)
	}
	for _, p := range purposes {
		_, tok, err := c.Verifier.AddCounter(ctx, "dongcheng", counterName(p), []string{p})
		if err != nil {
			t.Fatal(err)
		}
		c.CounterTokens[p] = tok
	}
	vAPI := vapi.New(c.Verifier).Routes()
	for _, p := range vapi.Prefixes {
		mux.Handle(p, vAPI)
	}
	return c
}

func (c *City) tick() time.Time { c.clock = c.clock.Add(time.Second); return c.clock }

func (c *City) append(t testing.TB, op *didregistry.Operation) {
	t.Helper()
	leaf, err := op.Canonical()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Log.Append(context.Background(), leaf); err != nil {
		t.Fatal(err)
	}
}

func (c *City) genesis(t testing.TB, key *keys.Signer, issuerURL string) *didregistry.Operation {
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
	op, err := didregistry.NewGenesis(key, doc, []crypto.PublicKey{key.Public()}, nil, c.tick())
	if err != nil {
		t.Fatal(err)
	}
	return op
}

// Register registers an organisation's DID and, if role is set,
// accredits it for scope from two hours ago.
func (c *City) Register(t testing.TB, key *keys.Signer, issuerURL, role string, scope ...string) string {
	t.Helper()
	op := c.genesis(t, key, issuerURL)
	c.append(t, op)
	if role != "" {
		head, err := c.Log.State(context.Background(), c.Authority)
		if err != nil {
			t.Fatal(err)
		}
		acc := didregistry.Next(head, didregistry.OpAccredit, c.tick())
		acc.Accreditation = &didregistry.Accreditation{Subject: op.DID, Role: role, Scope: scope, ValidFrom: didregistry.FormatTime(c.clock.Add(-time.Hour))}
		if role == didregistry.RoleIssuer {
			acc.Accreditation.CredentialIssuer = strings.TrimSuffix(issuerURL, "/") // the trust authority binds the URL
		}
		if err := acc.Sign(c.authKey); err != nil {
			t.Fatal(err)
		}
		c.append(t, acc)
	}
	return op.DID
}

// Replica starts another replica of a PostgreSQL city (Options.PostgreSQL):
// its own connection pool, registry log, issuer and verifier, on its own
// loopback server, sharing the city's database, keys and secrets, as a
// second `tong serve` behind a load balancer would. It stops when the
// test ends.
func (c *City) Replica(t testing.TB) *City {
	t.Helper()
	if c.dbURL == "" {
		t.Fatal("tongtest: Replica needs a city on PostgreSQL (Options.PostgreSQL)")
	}
	ctx := context.Background()
	db, err := pgdb.Open(ctx, c.dbURL, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	r := &City{DB: db, Keys: c.Keys, LogKey: c.LogKey, Authority: c.Authority, authKey: c.authKey, signer: c.signer, dbURL: c.dbURL,
		clock: c.clock, IssuerToken: c.IssuerToken, CounterTokens: c.CounterTokens, HallDID: c.HallDID, opts: c.opts}
	mux := chi.NewRouter()
	r.Server = httptest.NewServer(httpx.Recover(mux))
	r.URL, r.Mux = r.Server.URL, mux
	t.Cleanup(func() { r.Server.Close(); db.Close() })
	r.Log, err = regstore.Open(ctx, regstore.Config{DB: db, Origin: Origin, Signer: c.signer, Rules: didregistry.Rules{TrustAuthority: c.Authority}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Log.Close() })
	regAPI, err := httpapi.New(httpapi.Config{Log: r.Log, Origin: Origin, VerifierKey: c.LogKey, TrustAuthority: c.Authority})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range httpapi.Prefixes {
		mux.Handle(p, regAPI.Routes())
	}
	r.Registry, err = client.New(client.Config{BaseURL: r.URL, HTTPClient: r.Server.Client(), Origin: Origin, LogKey: c.LogKey, TrustAuthority: c.Authority})
	if err != nil {
		t.Fatal(err)
	}
	r.Issuer, err = issuer.New(ctx, issuer.Config{DB: db, Keys: c.Keys, Secret: make([]byte, 32), AllowLoopbackHTTP: true})
	if err != nil {
		t.Fatal(err)
	}
	issAPI := oid4vci.New(r.Issuer).Routes()
	for _, p := range oid4vci.Prefixes {
		mux.Handle(p, issAPI)
	}
	r.PSB, _ = r.Issuer.Agency(ctx, "psb")
	vcfg := verifier.Config{DB: db, Keys: c.Keys, Registry: r.Registry, PublicURL: r.URL, HTTPClient: r.Server.Client(), AllowLoopbackHTTP: true}
	if c.opts.VerifierConfig != nil {
		c.opts.VerifierConfig(&vcfg)
	}
	r.Verifier, err = verifier.New(ctx, vcfg)
	if err != nil {
		t.Fatal(err)
	}
	vAPI := vapi.New(r.Verifier).Routes()
	for _, p := range vapi.Prefixes {
		mux.Handle(p, vAPI)
	}
	return r
}

// Client is an HTTP client for the city's server.
func (c *City) Client() *http.Client { return c.Server.Client() }

// counterName names a test counter as a hall would (the wallet shows it
// on the consent screen and in its history; the user guide's pictures
// come from these).
func counterName(purpose string) string {
	switch purpose {
	case "identity-basic":
		return "Front desk 前台"
	case "pay-fee":
		return "Cashier 收费窗口"
	case "meeting-booking":
		return "Meetings desk 会见预约"
	case "meeting-checkin":
		return "Reception 接待处"
	}
	return "Desk for " + purpose
}
