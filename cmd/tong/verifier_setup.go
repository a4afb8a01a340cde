package main

import (
	"context"
	"encoding/json"
	"fmt"
	"github.com/tongid/tong/web"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/tongid/tong/didregistry"
	"github.com/tongid/tong/didregistry/client"
	"github.com/tongid/tong/internal/keys"
	"github.com/tongid/tong/internal/store"
	"github.com/tongid/tong/services/inquiries"
	"github.com/tongid/tong/verifier"
)

// openVerifier starts the verifier. It reads the registry through the
// verifying client over this same server, as any remote verifier would.
func openVerifier(ctx context.Context, db *store.DB, kd *keys.Dir, reg *registry, publicURL string, demo bool, tl *verifier.TrustList, logger *slog.Logger) (*verifier.Service, error) {
	hc := &http.Client{Timeout: 10 * time.Second}
	rc, err := client.New(client.Config{BaseURL: publicURL, HTTPClient: hc, Origin: reg.file.Origin, LogKey: reg.file.LogKey, TrustAuthority: reg.file.TrustAuthority})
	if err != nil {
		return nil, err
	}
	return verifier.New(ctx, verifier.Config{DB: db, Keys: kd, Registry: rc, PublicURL: publicURL, TrustList: tl, HTTPClient: hc, AllowLoopbackHTTP: demo, Logger: logger})
}

// demoCounters are the counters `tong serve --demo` gives the hall.
var demoCounters = []struct {
	name     string
	purposes []string
}{
	{"Dongcheng service hall – payments", []string{"identity-basic", "pay-fee"}},
	{"Dongcheng service hall – meetings", []string{"identity-basic", "meeting-booking", "meeting-checkin"}},
	{"Dongcheng service hall – inquiries", inquiries.Purposes()},
	// The agencies' authorization endpoints ask through this counter.
	{demoSignInCounter, []string{web.PurposeIssuerSignIn}},
}

// demoSignInCounter is the counter the demo agencies' authorization
// endpoints start their presentation requests with.
const demoSignInCounter = "Dongcheng service hall – agency sign-in"

// seedVerifierDemo registers the demo verifying organisation and its two
// counters, keeping tokens from an earlier DATA/demo.json while they work.
func seedVerifierDemo(ctx context.Context, svc *verifier.Service, orgs []demoIdentity, data string) ([]demoCounter, error) {
	old := map[string]demoCounter{}
	if raw, err := os.ReadFile(filepath.Join(data, "demo.json")); err == nil {
		var f demoFile
		if json.Unmarshal(raw, &f) == nil {
			for _, c := range f.Counters {
				old[c.Name] = c
			}
		}
	}
	var out []demoCounter
	for _, o := range orgs {
		if o.Role != didregistry.RoleVerifier {
			continue
		}
		err := svc.AddOrg(ctx, verifier.Org{Slug: o.Slug, Name: o.Name, DID: o.DID, KeyName: "org-" + o.Slug, KeyID: o.DID + "#key-1"})
		if err != nil && verifier.CodeOf(err) != verifier.CodeConflict {
			return nil, err
		}
		for _, dc := range demoCounters {
			if prev, ok := old[dc.name]; ok {
				if c, err := svc.Authenticate(ctx, prev.Token); err == nil {
					out = append(out, demoCounter{Name: dc.name, DID: o.DID, Token: prev.Token, Purposes: c.Purposes})
					continue
				}
			}
			_, tok, err := svc.AddCounter(ctx, o.Slug, dc.name, dc.purposes)
			if err != nil {
				return nil, err
			}
			out = append(out, demoCounter{Name: dc.name, DID: o.DID, Token: tok, Purposes: dc.purposes})
		}
	}
	return out, nil
}

// loadPurposes adds or replaces purposes from DIR/*.json.
func loadPurposes(ctx context.Context, ver *verifier.Service, dir string) error {
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("--purposes %s: no *.json files", dir)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		if _, err := ver.PutPurpose(ctx, raw); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
	}
	return nil
}
