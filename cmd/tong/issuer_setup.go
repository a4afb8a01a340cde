package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/tongid/tong/didregistry"
	"github.com/tongid/tong/internal/keys"
	"github.com/tongid/tong/internal/store"
	"github.com/tongid/tong/issuer"
)

// openIssuer starts the issuing service. Its secret (access tokens,
// nonces, PIN MACs) lives in DATA/issuer.secret; every replica must share it.
func openIssuer(ctx context.Context, db *store.DB, kd *keys.Dir, data string, demo bool, authn issuer.Authenticator, attesters []issuer.ClientAttester, logger *slog.Logger) (*issuer.Service, error) {
	secret, err := keys.LoadOrCreateMasterKey(filepath.Join(data, "issuer.secret"))
	if err != nil {
		return nil, err
	}
	cfg := issuer.Config{DB: db, Keys: kd, Secret: secret, AllowLoopbackHTTP: demo, Logger: logger, Authenticator: authn, ClientAttesters: attesters}
	if demo {
		// Counters cache status lists for their ttl; in the demo a
		// revocation should show within half a minute.
		cfg.StatusTTL = 30 * time.Second
	}
	return issuer.New(ctx, cfg)
}

// purgeLoop ends expired offers (wiping their claims) and forgets spent
// nonces, every minute until ctx ends.
func purgeLoop(ctx context.Context, svc *issuer.Service, logger *slog.Logger) {
	t := time.NewTicker(time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := svc.PurgeExpired(ctx); err != nil && ctx.Err() == nil {
				logger.WarnContext(ctx, "issuer purge failed", slog.Any("err", err))
			}
		}
	}
}

// demoAgencyTypes are the credential types each demo agency issues.
var demoAgencyTypes = map[string][]string{
	"psb":     {"citizen-identity", "government-official"},
	"housing": {"beijing-residence"},
}

// demoProfiles are the demo agencies of high assurance: the housing
// commission requires DPoP for its whole flow (issue 18).
var demoProfiles = map[string]string{"housing": issuer.ProfileHAIP}

// demoType is a credential type as demo.json lists it.
type demoType struct {
	ID            string         `json:"id"`
	VCT           string         `json:"vct"`
	ExampleClaims map[string]any `json:"example_claims"`
}

// seedIssuerDemo gives each demo issuer its agency, types and a staff API
// token. Tokens from an earlier DATA/demo.json are kept while they work.
func seedIssuerDemo(ctx context.Context, svc *issuer.Service, orgs []demoIdentity, data string) ([]demoOrg, error) {
	old := map[string]string{}
	if raw, err := os.ReadFile(filepath.Join(data, "demo.json")); err == nil {
		var f demoFile
		if json.Unmarshal(raw, &f) == nil {
			for _, a := range f.Agencies {
				old[a.DID] = a.Token
			}
		}
	}
	types, err := issuer.DemoTypes()
	if err != nil {
		return nil, err
	}
	var out []demoOrg
	for _, o := range orgs {
		if o.Role != didregistry.RoleIssuer {
			continue
		}
		err := svc.AddAgency(ctx, issuer.Agency{Slug: o.Slug, Name: o.Name, IssuerURL: o.IssuerURL, DID: o.DID,
			KeyName: "org-" + o.Slug, KeyID: o.DID + "#key-1"})
		if err != nil && issuer.CodeOf(err) != issuer.CodeConflict {
			return nil, err
		}
		if err := svc.SetProfile(ctx, o.Slug, demoProfiles[o.Slug]); err != nil {
			return nil, err
		}
		d := demoOrg{Name: o.Name, DID: o.DID, IssuerURL: o.IssuerURL, Types: []demoType{}, Profile: demoProfiles[o.Slug]}
		for _, id := range demoAgencyTypes[o.Slug] {
			t := types[id]
			if err := svc.PutType(ctx, o.Slug, "demo", t); err != nil {
				return nil, err
			}
			d.Types = append(d.Types, demoType{ID: t.ID, VCT: t.VCT, ExampleClaims: t.ExampleClaims})
		}
		d.Token = old[o.DID]
		if _, err := svc.Authenticate(ctx, o.Slug, d.Token); err != nil {
			if d.Token, _, err = svc.CreateAPIToken(ctx, o.Slug, "demo", "demo"); err != nil {
				return nil, err
			}
		}
		out = append(out, d)
	}
	if len(out) == 0 {
		return nil, errors.New("no demo issuers registered")
	}
	return out, nil
}
