package main

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/tongid/tong/didregistry"
	"github.com/tongid/tong/internal/keys"
	"github.com/tongid/tong/internal/x509ca"
	"github.com/tongid/tong/issuer"
	"github.com/tongid/tong/verifier"
)

// The city CA (HAIP 1.0): its key is sealed in the data directory beside
// the trust authority's, and its certificate is <data>/ca.pem, the file
// wallets are given to trust.
const (
	caKeyName  = "city-ca"
	caCertFile = "ca.pem"
)

func newAdminCACmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ca",
		Short: "The city's X.509 certificate authority (HAIP): create it, issue counters' certificates",
		Example: `  tong admin ca init --name "Beijing City Trust Authority"
  tong admin ca issue --verifier dongcheng`,
	}
	cmd.AddCommand(newAdminCAInitCmd(a), newAdminCAIssueCmd(a))
	return cmd
}

func newAdminCAInitCmd(a *app) *cobra.Command {
	ac := &adminConn{}
	var name string
	cmd := &cobra.Command{
		Use:     "init",
		Short:   "Create the city CA: a sealed ES256 key and a self-signed root certificate (<data>/ca.pem)",
		Example: `  tong admin ca init --name "Beijing City Trust Authority"`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			kd, db, err := ac.open(cmd.Context())
			if err != nil {
				return err
			}
			defer db.Close()
			path := filepath.Join(ac.data, caCertFile)
			if _, err := os.Stat(path); err == nil {
				return withHint(fmt.Errorf("%s exists: the city CA is already created", path), "issue certificates with tong admin ca issue")
			}
			key, err := kd.LoadOrCreate(caKeyName, keys.ES256)
			if err != nil {
				return err
			}
			der, err := x509ca.NewRoot(key, name, time.Now(), 0)
			if err != nil {
				return err
			}
			if err := os.WriteFile(path, x509ca.EncodePEM(der), 0o644); err != nil {
				return err
			}
			return a.printResult(map[string]string{"ca_certificate": path, "subject": name}, func(w io.Writer) {
				fmt.Fprintf(w, "City CA %q created; its certificate, for wallets to trust: %s\nNext: tong admin ca issue --verifier SLUG\n", name, path)
			})
		},
	}
	ac.flags(cmd)
	cmd.Flags().StringVar(&name, "name", "City Trust Authority", "the CA's common name")
	return cmd
}

// loadCA reads the city CA of a data directory.
func loadCA(data string, kd *keys.Dir) ([]byte, *keys.Signer, error) {
	pemBytes, err := os.ReadFile(filepath.Join(data, caCertFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil, withHint(errors.New("there is no city CA in "+data), "create it with tong admin ca init")
	}
	if err != nil {
		return nil, nil, err
	}
	ders, err := x509ca.ParsePEM(pemBytes)
	if err != nil {
		return nil, nil, err
	}
	key, err := kd.Load(caKeyName)
	if err != nil {
		return nil, nil, err
	}
	return ders[0], key, nil
}

func newAdminCAIssueCmd(a *app) *cobra.Command {
	ac := &adminConn{}
	var slug, agency string
	var validity time.Duration
	cmd := &cobra.Command{
		Use:   "issue --verifier SLUG | --agency SLUG",
		Short: "Issue a verifying organisation's or an agency's certificate for its signing key and install it",
		Long: `Issue signs an end-entity certificate for the organisation's request-signing
key with the city CA and installs it in the verifier, so that its counters can
ask with the x509_hash client identifier prefix:

  tong verifier request --purpose identity-basic --client-id-prefix x509_hash --response-mode direct_post.jwt

For an agency (--agency), the certificate names its issuer URL (a URI
subject alternative name) and its credentials carry the chain in their x5c
header from then on, beside kid.`,
		Example: `  tong admin ca issue --verifier dongcheng
  tong admin ca issue --agency psb`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if (slug == "") == (agency == "") {
				return usagef("give one of --verifier and --agency")
			}
			kd, db, err := ac.open(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			ca, caKey, err := loadCA(ac.data, kd)
			if err != nil {
				return err
			}
			if agency != "" {
				svc, err := openIssuer(ctx, db, kd, ac.data, loopbackURL(ac.server), nil, nil, nil)
				if err != nil {
					return err
				}
				ag, err := svc.Agency(ctx, agency)
				if err != nil {
					return err
				}
				leaf, err := x509ca.Issue(ca, caKey, ag.Signer().Public(), x509ca.Leaf{CommonName: ag.Name, Organization: ag.Name,
					URIs: []string{ag.IssuerURL, ag.DID}, Validity: validity}, time.Now())
				if err != nil {
					return err
				}
				if err := svc.SetCertificate(ctx, agency, x509ca.EncodeX5C(leaf)); err != nil {
					return err
				}
				return a.printResult(map[string]string{"agency": agency, "issuer": ag.IssuerURL}, func(w io.Writer) {
					fmt.Fprintf(w, "%s's certificate is installed; its credentials carry it in their x5c header\n", agency)
				})
			}
			ver, err := ac.verifier(ctx, a, db, kd)
			if err != nil {
				return err
			}
			org, err := ver.Org(ctx, slug)
			if err != nil {
				return err
			}
			key, err := kd.Load(org.KeyName)
			if err != nil {
				return err
			}
			leaf, err := x509ca.Issue(ca, caKey, key.Public(), x509ca.Leaf{CommonName: org.Name, Organization: org.Name, URIs: []string{org.DID}, Validity: validity}, time.Now())
			if err != nil {
				return err
			}
			if err := ver.SetCertificate(ctx, slug, x509ca.EncodeX5C(leaf)); err != nil {
				return err
			}
			clientID := verifier.PrefixX509Hash + x509ca.Hash(leaf)
			return a.printResult(map[string]string{"slug": slug, "client_id": clientID}, func(w io.Writer) {
				fmt.Fprintf(w, "%s's certificate is installed; its x509_hash client_id is\n  %s\n", slug, clientID)
			})
		},
	}
	ac.flags(cmd)
	cmd.Flags().StringVar(&slug, "verifier", "", "the verifying organisation's slug")
	cmd.Flags().StringVar(&agency, "agency", "", "the issuing agency's slug")
	cmd.Flags().DurationVar(&validity, "validity", x509ca.DefaultLeafValidity, "how long the certificate is valid")
	return cmd
}

// trustedCAs reads the wallet's --trust-ca PEM file (none: nil).
func (wc *walletConn) trustedCAs() ([][]byte, error) {
	if wc.trustCA == "" {
		return nil, nil
	}
	raw, err := os.ReadFile(wc.trustCA)
	if err != nil {
		return nil, err
	}
	ders, err := x509ca.ParsePEM(raw)
	if err != nil {
		return nil, usagef("--trust-ca %s: %v", wc.trustCA, err)
	}
	return ders, nil
}

// demoHAIPCounter is the demo's high-assurance counter.
const demoHAIPCounter = "Dongcheng service hall – high assurance"

// demoHAIPPurpose is the high-assurance counter's own purpose:
// identity-basic's claims, from an agency the city CA certified (DCQL
// trusted_authorities of type aki, which HAIP 1.0 requires).
const demoHAIPPurpose = "identity-high-assurance"

// demoHAIPPurposeJSON is demoHAIPPurpose's definition for the CA whose
// key identifier (base64url) is kid.
func demoHAIPPurposeJSON(kid string) []byte {
	return []byte(`{"id":"` + demoHAIPPurpose + `",
 "display":[{"name":"Identity check (certified agency)","locale":"en"},{"name":"身份核验（经认证机关）","locale":"zh"}],
 "dcql_query":{"credentials":[{"id":"pid","format":"dc+sd-jwt","meta":{"vct_values":["urn:tong:vct:citizen-identity:1"]},
  "trusted_authorities":[{"type":"aki","values":["` + kid + `"]}],
  "claims":[{"path":["family_name"]},{"path":["given_name"]},{"path":["age_equal_or_over","18"],"values":[true]}]}]}}`)
}

// demoCA loads the demo's city CA (DATA/ca.pem, key city-ca), making it
// if it is missing.
func demoCA(kd *keys.Dir, data string) ([]byte, *keys.Signer, error) {
	path := filepath.Join(data, caCertFile)
	caKey, err := kd.LoadOrCreate(caKeyName, keys.ES256)
	if err != nil {
		return nil, nil, err
	}
	if raw, err := os.ReadFile(path); err == nil {
		ders, err := x509ca.ParsePEM(raw)
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", path, err)
		}
		return ders[0], caKey, nil
	}
	ca, err := x509ca.NewRoot(caKey, "Beijing City Trust Authority (demo)", time.Now(), 0)
	if err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(path, x509ca.EncodePEM(ca), 0o644); err != nil {
		return nil, nil, err
	}
	return ca, caKey, nil
}

// cityTrustList is the city CA of DATA/ca.pem as the verifier's trust
// list (organisations' certificates, and the certificate chains of
// credentials asked for with trusted_authorities); nil without one.
func cityTrustList(data string) (*verifier.TrustList, error) {
	raw, err := os.ReadFile(filepath.Join(data, caCertFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	ders, err := x509ca.ParsePEM(raw)
	if err == nil {
		var tl *verifier.TrustList
		if tl, err = x509ca.NewTrustList(ders...); err == nil {
			return tl, nil
		}
	}
	return nil, withHint(fmt.Errorf("%s: %w", filepath.Join(data, caCertFile), err),
		"it is the city CA certificate counters trust (PEM); restore it, or remove it to run without a trust list")
}

// seedHAIPDemo makes the demo's city CA if it is missing, gives each demo
// verifying organisation and issuing agency without one a certificate
// from it, defines demoHAIPPurpose with the CA's key identifier, and adds
// the high-assurance counter, listed with profile "haip": it asks with
// x509_hash and direct_post.jwt. A token from an earlier DATA/demo.json
// is kept while it works. It returns the CA certificate's path and the
// counters with the new ones appended.
func seedHAIPDemo(ctx context.Context, kd *keys.Dir, iss *issuer.Service, ver *verifier.Service, orgs []demoIdentity, data string, counters []demoCounter) (string, []demoCounter, error) {
	path := filepath.Join(data, caCertFile)
	ca, caKey, err := demoCA(kd, data)
	if err != nil {
		return "", nil, err
	}
	root, err := x509.ParseCertificate(ca)
	if err != nil {
		return "", nil, err
	}
	if _, err := ver.PutPurpose(ctx, demoHAIPPurposeJSON(base64.RawURLEncoding.EncodeToString(root.SubjectKeyId))); err != nil {
		return "", nil, err
	}
	for _, o := range orgs {
		if o.Role != didregistry.RoleIssuer {
			continue
		}
		ag, err := iss.Agency(ctx, o.Slug)
		if err != nil {
			return "", nil, err
		}
		if len(ag.X5C) > 0 {
			continue
		}
		leaf, err := x509ca.Issue(ca, caKey, ag.Signer().Public(), x509ca.Leaf{CommonName: ag.Name, Organization: ag.Name, URIs: []string{ag.IssuerURL, ag.DID}}, time.Now())
		if err != nil {
			return "", nil, err
		}
		if err := iss.SetCertificate(ctx, o.Slug, x509ca.EncodeX5C(leaf)); err != nil {
			return "", nil, err
		}
	}
	old := map[string]string{}
	if raw, err := os.ReadFile(filepath.Join(data, "demo.json")); err == nil {
		var f demoFile
		if json.Unmarshal(raw, &f) == nil {
			for _, c := range f.Counters {
				old[c.Name] = c.Token
			}
		}
	}
	for _, o := range orgs {
		if o.Role != didregistry.RoleVerifier {
			continue
		}
		org, err := ver.Org(ctx, o.Slug)
		if err != nil {
			return "", nil, err
		}
		if len(org.X5C) == 0 {
			key, err := kd.Load(org.KeyName)
			if err != nil {
				return "", nil, err
			}
			leaf, err := x509ca.Issue(ca, caKey, key.Public(), x509ca.Leaf{CommonName: org.Name, Organization: org.Name, URIs: []string{org.DID}}, time.Now())
			if err != nil {
				return "", nil, err
			}
			if err := ver.SetCertificate(ctx, o.Slug, x509ca.EncodeX5C(leaf)); err != nil {
				return "", nil, err
			}
		}
		purposes := []string{"identity-basic", demoHAIPPurpose}
		if tok, ok := old[demoHAIPCounter]; ok {
			if c, err := ver.Authenticate(ctx, tok); err == nil {
				counters = append(counters, demoCounter{Name: demoHAIPCounter, DID: o.DID, Token: tok, Purposes: c.Purposes, Profile: "haip"})
				continue
			}
		}
		_, tok, err := ver.AddCounter(ctx, o.Slug, demoHAIPCounter, purposes)
		if err != nil {
			return "", nil, err
		}
		counters = append(counters, demoCounter{Name: demoHAIPCounter, DID: o.DID, Token: tok, Purposes: purposes, Profile: "haip"})
	}
	return path, counters, nil
}
