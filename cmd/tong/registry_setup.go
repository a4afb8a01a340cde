package main

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/tongid/tong/web"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/note"

	"github.com/tongid/tong/did"
	"github.com/tongid/tong/didregistry"
	"github.com/tongid/tong/didregistry/httpapi"
	regstore "github.com/tongid/tong/didregistry/store"
	"github.com/tongid/tong/internal/keys"
	"github.com/tongid/tong/internal/store"
	"github.com/tongid/tong/services/inquiries"
)

// registryFile is DATA/registry.json: the registry's identity, fixed at
// its genesis. It holds no secret.
type registryFile struct {
	Origin         string         `json:"origin"`
	LogKey         string         `json:"logKey"`
	TrustAuthority string         `json:"trustAuthority"`
	Demo           []demoIdentity `json:"demo,omitempty"`
}

// demoIdentity is a demo organisation's DID and what it was accredited for.
type demoIdentity struct {
	Slug      string   `json:"slug"`
	Name      string   `json:"name"`
	DID       string   `json:"did"`
	Role      string   `json:"role"`
	Scope     []string `json:"scope"`
	IssuerURL string   `json:"issuerUrl,omitempty"`
}

// Key names in DATA/keys.
const (
	keyRegistryLog    = "registry-log"
	keyTrustAuthority = "trust-authority"
)

// registry is the running registry inside `tong serve`.
type registry struct {
	file   registryFile
	log    *regstore.Log
	api    *httpapi.API
	signer note.Signer
	keys   *keys.Dir
	rules  didregistry.Rules
	// cosigned, if set, gives the newest witnessed checkpoint.
	cosigned func() []byte
}

// startAPI builds the HTTP API once the witnesses are wired.
func (r *registry) startAPI() error {
	var err error
	r.api, err = httpapi.New(httpapi.Config{Log: r.log, Origin: r.file.Origin, VerifierKey: r.file.LogKey,
		TrustAuthority: r.file.TrustAuthority, Cosigned: r.cosigned})
	return err
}

// openKeys opens DATA/keys under the master key file.
func openKeys(data, masterFile string) (*keys.Dir, error) {
	if masterFile == "" {
		masterFile = filepath.Join(data, "master.key")
	}
	master, err := keys.LoadOrCreateMasterKey(masterFile)
	if err != nil {
		return nil, err
	}
	return keys.OpenDir(filepath.Join(data, "keys"), master)
}

// openRegistry starts the registry: on first start it fixes the origin,
// makes the log and trust authority keys, and appends the trust
// authority's genesis.
func openRegistry(ctx context.Context, db *store.DB, kd *keys.Dir, data, publicURL string, logger *slog.Logger) (*registry, error) {
	path := filepath.Join(data, "registry.json")
	var f registryFile
	raw, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
		u, _ := url.Parse(publicURL)
		f.Origin = u.Host + "/registry"
	case err != nil:
		return nil, err
	default:
		if err := json.Unmarshal(raw, &f); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	logKey, err := kd.LoadOrCreate(keyRegistryLog, keys.EdDSA)
	if err != nil {
		return nil, err
	}
	signer, vkey, err := didregistry.NewNoteSigner(f.Origin, logKey.Unwrap())
	if err != nil {
		return nil, err
	}
	if f.LogKey != "" && f.LogKey != vkey {
		return nil, fmt.Errorf("the registry log key in %s does not match %s", path, filepath.Join(data, "keys"))
	}
	f.LogKey = vkey
	authKey, err := kd.LoadOrCreate(keyTrustAuthority, keys.ES256)
	if err != nil {
		return nil, err
	}
	var genesis *didregistry.Operation
	if f.TrustAuthority == "" {
		genesis, err = newOrgGenesis(authKey, "", nil, time.Now())
		if err != nil {
			return nil, err
		}
		f.TrustAuthority = genesis.DID
	}
	r := &registry{file: f, signer: signer, keys: kd, rules: didregistry.Rules{TrustAuthority: f.TrustAuthority}}
	r.log, err = regstore.Open(ctx, regstore.Config{DB: db, Origin: f.Origin, Signer: signer, Rules: r.rules, Logger: logger})
	if err != nil {
		return nil, err
	}
	if genesis != nil {
		leaf, _ := genesis.Canonical()
		if _, err := r.log.Append(ctx, leaf); err != nil {
			r.log.Close()
			return nil, fmt.Errorf("trust authority genesis: %w", err)
		}
	}
	if err := r.save(path); err != nil {
		r.log.Close()
		return nil, err
	}
	return r, nil
}

func (r *registry) save(path string) error { return writeJSONFile(path, r.file) }

// newOrgGenesis makes the genesis of an organisation's DID: key is both
// its update key and its assertion and authentication key; issuerURL, if
// set, is named as its OpenID4VCI credential issuer.
func newOrgGenesis(key *keys.Signer, issuerURL string, nextKeyHashes []string, at time.Time) (*didregistry.Operation, error) {
	mk, err := did.EncodeMultikey(key.Public())
	if err != nil {
		return nil, err
	}
	id := didregistry.PlaceholderDID
	doc := &did.Document{
		Context:             []any{did.ContextV1},
		ID:                  id,
		VerificationMethods: []did.VerificationMethod{{ID: id + "#key-1", Type: "Multikey", Controller: id, PublicKeyMultibase: mk}},
		AssertionMethod:     []did.VerificationRef{{Ref: "#key-1"}},
		Authentication:      []did.VerificationRef{{Ref: "#key-1"}},
	}
	if issuerURL != "" {
		doc.Service = []did.Service{{ID: id + "#oid4vci", Type: []string{didregistry.ServiceTypeCredentialIssuer}, ServiceEndpoint: issuerURL}}
	}
	return didregistry.NewGenesis(key, doc, []crypto.PublicKey{key.Public()}, nextKeyHashes, at)
}

// demoOrgs are the organisations `tong serve --demo` registers.
func demoOrgs(publicURL string) []demoIdentity {
	return []demoIdentity{
		{Slug: "psb", Name: "Beijing Municipal Public Security Bureau", Role: didregistry.RoleIssuer,
			Scope: []string{"urn:tong:vct:citizen-identity:1", "urn:tong:vct:government-official:1"}, IssuerURL: publicURL + "/issuers/psb"},
		{Slug: "housing", Name: "Beijing Municipal Commission of Housing", Role: didregistry.RoleIssuer,
			Scope: []string{"urn:tong:vct:beijing-residence:1"}, IssuerURL: publicURL + "/issuers/housing"},
		{Slug: "dongcheng", Name: "Dongcheng District Government Service Hall", Role: didregistry.RoleVerifier,
			Scope: append([]string{"identity-basic", "pay-fee", "meeting-booking", "meeting-checkin", web.PurposeIssuerSignIn, demoHAIPPurpose}, inquiries.Purposes()...)},
	}
}

// accreditDemo has the trust authority accredit org, binding its issuer URL
// if it is an issuer.
func (r *registry) accreditDemo(ctx context.Context, authKey crypto.Signer, org demoIdentity, from time.Time) error {
	head, err := r.log.State(ctx, r.file.TrustAuthority)
	if err != nil {
		return err
	}
	at := head.VersionTime.Add(time.Second) // strictly after the authority's head
	if n := time.Now(); n.After(at) {
		at = n
	}
	acc := didregistry.Next(head, didregistry.OpAccredit, at)
	acc.Accreditation = &didregistry.Accreditation{Subject: org.DID, Role: org.Role, Scope: org.Scope, ValidFrom: didregistry.FormatTime(from)}
	if org.Role == didregistry.RoleIssuer {
		acc.Accreditation.CredentialIssuer = strings.TrimSuffix(org.IssuerURL, "/") // the trust authority binds the URL
	}
	if err := acc.Sign(authKey); err != nil {
		return err
	}
	leaf, _ := acc.Canonical()
	if _, err := r.log.Append(ctx, leaf); err != nil {
		return fmt.Errorf("accredit %s: %w", org.Name, err)
	}
	return nil
}

// bindDemoIssuers accredits again, now binding its URL, each demo agency
// whose issuer URL is unbound: a data directory seeded before bindings came
// only from the trust authority (the registry's migration 0003 dropped the
// bindings that documents had made).
func (r *registry) bindDemoIssuers(ctx context.Context) error {
	var authKey crypto.Signer
	for _, org := range r.file.Demo {
		if org.Role != didregistry.RoleIssuer || org.IssuerURL == "" || org.DID == "" {
			continue
		}
		_, err := r.log.DIDForIssuerURL(ctx, org.IssuerURL)
		if didregistry.CodeOf(err) != didregistry.CodeNotFound {
			if err != nil {
				return err
			}
			continue
		}
		if authKey == nil {
			k, err := r.keys.Load(keyTrustAuthority)
			if err != nil {
				return err
			}
			authKey = k
		}
		if err := r.accreditDemo(ctx, authKey, org, time.Now().Add(-time.Hour)); err != nil {
			return err
		}
	}
	return nil
}

// seedDemo registers the demo organisations and their accreditations once.
func (r *registry) seedDemo(ctx context.Context, publicURL, data string) error {
	if len(r.file.Demo) > 0 {
		return r.bindDemoIssuers(ctx)
	}
	authKey, err := r.keys.Load(keyTrustAuthority)
	if err != nil {
		return err
	}
	now := time.Now().Add(-time.Minute)
	for i, org := range demoOrgs(publicURL) {
		key, err := r.keys.LoadOrCreate("org-"+org.Slug, keys.ES256)
		if err != nil {
			return err
		}
		op, err := newOrgGenesis(key, org.IssuerURL, nil, now.Add(time.Duration(i)*time.Second))
		if err != nil {
			return err
		}
		leaf, _ := op.Canonical()
		if _, err := r.log.Append(ctx, leaf); err != nil && didregistry.CodeOf(err) != didregistry.CodeExists {
			return fmt.Errorf("register %s: %w", org.Name, err)
		}
		org.DID = op.DID
		if err := r.accreditDemo(ctx, authKey, org, now.Add(-time.Hour)); err != nil {
			return err
		}
		r.file.Demo = append(r.file.Demo, org)
	}
	return r.save(filepath.Join(data, "registry.json"))
}
