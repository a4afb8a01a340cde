package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tongid/tong/didregistry"
	"github.com/tongid/tong/internal/keys"
	"github.com/tongid/tong/internal/store"
	"github.com/tongid/tong/internal/text"
	"github.com/tongid/tong/issuer"
	"github.com/tongid/tong/verifier"
)

// adminConn are the flags of the operator commands: the data directory of
// a running `tong serve` (its sealed keys and database) and its URL (the
// registry is written only through the server's API, never beside it).
type adminConn struct {
	data, masterKey, server, database string
}

func (ac *adminConn) flags(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&ac.data, "data", "./tong-data", "the data directory of the running tong serve")
	fl.StringVar(&ac.masterKey, "master-key-file", "", "the key that seals DATA/keys (default DATA/master.key)")
	fl.StringVar(&ac.server, "server", "http://127.0.0.1:8080", "the running server's URL")
	fl.StringVar(&ac.database, "database", "", databaseUsage)
}

func newAdminCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "admin",
		Short: "Operator commands: onboard agencies, verifying organisations and counters",
		Long: `Admin commands run beside a running tong serve, on its data directory. Each
registers the organisation's did:tong DID through the server's registry API,
has the trust authority accredit it, and records it in the issuer or
verifier, printing the API token staff will use.`,
		Example: `  tong admin agency add --slug transport --name "Beijing Transport Commission" --types parking.json
  tong admin verifier add --slug library --name "Capital Library" --purposes identity-basic
  tong admin counter add --org library --name "Front desk" --purposes identity-basic`,
	}
	cmd.AddCommand(newAdminAgencyCmd(a), newAdminVerifierCmd(a), newAdminCounterCmd(a), newAdminMigrateCmd(a), newAdminCACmd(a))
	return cmd
}

// registerOrg makes the organisation's key, registers its DID and has the
// trust authority accredit it for scope.
func (ac *adminConn) registerOrg(ctx context.Context, a *app, kd *keys.Dir, slug, issuerURL, role string, scope []string) (string, error) {
	key, err := kd.LoadOrCreate("org-"+slug, keys.ES256)
	if err != nil {
		return "", err
	}
	gen, err := newOrgGenesis(key, issuerURL, nil, time.Now())
	if err != nil {
		return "", err
	}
	rc := ac.registry()
	c, err := rc.client(ctx, a)
	if err != nil {
		return "", err
	}
	if _, err := c.Submit(ctx, gen); err != nil && didregistry.CodeOf(err) != didregistry.CodeExists {
		return "", fmt.Errorf("register %s: %w", slug, err)
	}
	authKey, err := kd.Load(keyTrustAuthority)
	if err != nil {
		return "", withHint(err, "the trust authority's key is in the data directory of the registry's server")
	}
	h, err := head(ctx, a, rc, rc.authority)
	if err != nil {
		return "", err
	}
	op := didregistry.Next(h, didregistry.OpAccredit, nextTime(h))
	op.Accreditation = &didregistry.Accreditation{Subject: gen.DID, Role: role, Scope: scope, ValidFrom: didregistry.FormatTime(time.Now().Add(-time.Minute))}
	if role == didregistry.RoleIssuer {
		op.Accreditation.CredentialIssuer = strings.TrimSuffix(issuerURL, "/") // the trust authority binds the URL
	}
	if err := op.Sign(authKey); err != nil {
		return "", err
	}
	if _, err := c.Submit(ctx, op); err != nil {
		return "", fmt.Errorf("accredit %s: %w", slug, err)
	}
	return gen.DID, nil
}

// registry connects to the running server's registry with the log pinned
// from DATA/registry.json, so operator commands trust nothing the server
// says about itself. open has checked that the file is there.
func (ac *adminConn) registry() *registryConn {
	rc := &registryConn{server: ac.server}
	b, err := os.ReadFile(filepath.Join(ac.data, "registry.json"))
	var f registryFile
	if err == nil && json.Unmarshal(b, &f) == nil {
		rc.origin, rc.logKey, rc.authority = f.Origin, f.LogKey, f.TrustAuthority
	}
	return rc
}

func (ac *adminConn) open(ctx context.Context) (*keys.Dir, *store.DB, error) {
	if _, err := os.Stat(filepath.Join(ac.data, "registry.json")); err != nil {
		return nil, nil, withHint(fmt.Errorf("%s is not a tong serve data directory", ac.data), "set --data (TONG_DATA) to the running server's")
	}
	kd, err := openKeys(ac.data, ac.masterKey)
	if err != nil {
		return nil, nil, err
	}
	db, err := openDB(ctx, ac.data, ac.database)
	return kd, db, err
}

func loopbackURL(u string) bool {
	p, err := url.Parse(u)
	if err != nil {
		return false
	}
	ip := net.ParseIP(p.Hostname())
	return p.Hostname() == "localhost" || (ip != nil && ip.IsLoopback())
}

func newAdminAgencyCmd(a *app) *cobra.Command {
	ac := &adminConn{}
	var slug, name, issuerURL string
	var typeFiles []string
	cmd := &cobra.Command{Use: "agency", Short: "Onboard issuing agencies", Example: "  tong admin agency add --slug transport --name \"Beijing Transport Commission\" --types parking.json"}
	add := &cobra.Command{
		Use:     "add",
		Short:   "Register an agency: DID, accreditation for its types, issuer record, staff token",
		Example: `  tong admin agency add --slug transport --name "Beijing Transport Commission" --types parking.json --types permit.json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if slug == "" || name == "" || len(typeFiles) == 0 {
				return usagef("--slug, --name and at least one --types file are required")
			}
			if err := text.Name("--name", name); err != nil {
				return usagef("%v", err)
			}
			var types []*issuer.CredentialType
			var vcts []string
			for _, f := range typeFiles {
				raw, err := os.ReadFile(f)
				if err != nil {
					return err
				}
				t, err := issuer.ParseType(raw)
				if err != nil {
					return usagef("%s: %v", f, err)
				}
				types = append(types, t)
				vcts = append(vcts, t.VCT)
			}
			if issuerURL == "" {
				issuerURL = ac.server + "/issuers/" + slug
			}
			kd, db, err := ac.open(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			id, err := ac.registerOrg(ctx, a, kd, slug, issuerURL, didregistry.RoleIssuer, vcts)
			if err != nil {
				return err
			}
			svc, err := openIssuer(ctx, db, kd, ac.data, loopbackURL(issuerURL), nil, nil, nil)
			if err != nil {
				return err
			}
			if err := svc.AddAgency(ctx, issuer.Agency{Slug: slug, Name: name, IssuerURL: issuerURL, DID: id, KeyName: "org-" + slug, KeyID: id + "#key-1"}); err != nil {
				return err
			}
			for _, t := range types {
				if err := svc.PutType(ctx, slug, "operator", t); err != nil {
					return err
				}
			}
			tok, _, err := svc.CreateAPIToken(ctx, slug, "operator", "first staff token")
			if err != nil {
				return err
			}
			out := map[string]string{"slug": slug, "did": id, "issuer_url": issuerURL, "token": tok}
			return a.printResult(out, func(w io.Writer) {
				fmt.Fprintf(w, "Agency %s registered as %s\nissuer URL %s\nstaff token (shown once): %s\n", slug, id, issuerURL, tok)
			})
		},
	}
	ac.flags(add)
	add.Flags().StringVar(&slug, "slug", "", "short name used in URLs (a-z, 0-9, -)")
	add.Flags().StringVar(&name, "name", "", "the agency's name")
	add.Flags().StringVar(&issuerURL, "issuer-url", "", "Credential Issuer Identifier (default SERVER/issuers/SLUG)")
	add.Flags().StringSliceVar(&typeFiles, "types", nil, "credential type files (JSON) the agency issues and is accredited for")
	cmd.AddCommand(add)
	return cmd
}

func newAdminVerifierCmd(a *app) *cobra.Command {
	ac := &adminConn{}
	var slug, name string
	var purposes []string
	cmd := &cobra.Command{Use: "verifier", Short: "Onboard verifying organisations", Example: "  tong admin verifier add --slug library --name \"Capital Library\" --purposes identity-basic"}
	add := &cobra.Command{
		Use:     "add",
		Short:   "Register a verifying organisation: DID, accreditation for purposes, verifier record",
		Example: `  tong admin verifier add --slug library --name "Capital Library" --purposes identity-basic`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if slug == "" || name == "" || len(purposes) == 0 {
				return usagef("--slug, --name and --purposes are required")
			}
			if err := text.Name("--name", name); err != nil {
				return usagef("%v", err)
			}
			kd, db, err := ac.open(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			ver, err := ac.verifier(ctx, a, db, kd)
			if err != nil {
				return err
			}
			for _, p := range purposes {
				if _, err := ver.Purpose(p); err != nil {
					return usagef("%v", err)
				}
			}
			id, err := ac.registerOrg(ctx, a, kd, slug, "", didregistry.RoleVerifier, purposes)
			if err != nil {
				return err
			}
			if err := ver.AddOrg(ctx, verifier.Org{Slug: slug, Name: name, DID: id, KeyName: "org-" + slug, KeyID: id + "#key-1"}); err != nil {
				return err
			}
			return a.printResult(map[string]string{"slug": slug, "did": id}, func(w io.Writer) {
				fmt.Fprintf(w, "Verifying organisation %s registered as %s\nNext: tong admin counter add --org %s --name NAME --purposes ...\n", slug, id, slug)
			})
		},
	}
	ac.flags(add)
	add.Flags().StringVar(&slug, "slug", "", "short name (a-z, 0-9, -)")
	add.Flags().StringVar(&name, "name", "", "the organisation's name")
	add.Flags().StringSliceVar(&purposes, "purposes", nil, "purposes it is accredited to ask for")
	cmd.AddCommand(add)
	return cmd
}

// verifier opens the verifier beside the server, reading the registry
// through the server's API.
func (ac *adminConn) verifier(ctx context.Context, a *app, db *store.DB, kd *keys.Dir) (*verifier.Service, error) {
	c, err := ac.registry().client(ctx, a)
	if err != nil {
		return nil, err
	}
	return verifier.New(ctx, verifier.Config{DB: db, Keys: kd, Registry: c, PublicURL: ac.server, AllowLoopbackHTTP: loopbackURL(ac.server)})
}

func newAdminCounterCmd(a *app) *cobra.Command {
	ac := &adminConn{}
	var org, name string
	var purposes []string
	cmd := &cobra.Command{Use: "counter", Short: "Add counters to a verifying organisation", Example: "  tong admin counter add --org library --name \"Front desk\" --purposes identity-basic"}
	add := &cobra.Command{
		Use:     "add",
		Short:   "Add a counter and print its API token",
		Example: `  tong admin counter add --org library --name "Front desk" --purposes identity-basic`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if org == "" || name == "" || len(purposes) == 0 {
				return usagef("--org, --name and --purposes are required")
			}
			if err := text.Name("--name", name); err != nil {
				return usagef("%v", err)
			}
			kd, db, err := ac.open(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			ver, err := ac.verifier(ctx, a, db, kd)
			if err != nil {
				return err
			}
			c, tok, err := ver.AddCounter(ctx, org, name, purposes)
			if err != nil {
				return err
			}
			return a.printResult(map[string]string{"counter": c.ID, "token": tok}, func(w io.Writer) {
				fmt.Fprintf(w, "Counter %s (%s) added\ncounter token (shown once): %s\n", c.Name, c.ID, tok)
			})
		},
	}
	ac.flags(add)
	add.Flags().StringVar(&org, "org", "", "the verifying organisation's slug")
	add.Flags().StringVar(&name, "name", "", "the counter's name")
	add.Flags().StringSliceVar(&purposes, "purposes", nil, "purposes this counter may ask for")
	cmd.AddCommand(add)
	return cmd
}
