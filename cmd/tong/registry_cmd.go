package main

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/mod/sumdb/note"
	"golang.org/x/term"

	"github.com/tongid/tong/did"
	"github.com/tongid/tong/didregistry"
	"github.com/tongid/tong/didregistry/client"
	regstore "github.com/tongid/tong/didregistry/store"
	"github.com/tongid/tong/internal/jose"
)

// registryConn are the flags every networked registry command shares.
type registryConn struct {
	server, origin, logKey, authority string
}

func (rc *registryConn) flags(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&rc.server, "server", "http://127.0.0.1:8080", "registry base URL")
	fl.StringVar(&rc.origin, "origin", "", "the log's origin (default: asked from the server, trust on first use)")
	fl.StringVar(&rc.logKey, "log-key", "", "the log's note verifier key (default: asked from the server, trust on first use)")
	fl.StringVar(&rc.authority, "trust-authority", "", "the trust authority's DID (default: asked from the server)")
}

// client makes a verifying client. Values not pinned by flags are taken
// from the server's /registry/info: convenient for the demo, and said so.
func (rc *registryConn) client(ctx context.Context, a *app) (*client.Client, error) {
	if rc.origin == "" || rc.logKey == "" || rc.authority == "" {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(rc.server, "/")+"/registry/info", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, withHint(fmt.Errorf("registry %s: %w", rc.server, err), "is tong serve running? Set --server or TONG_SERVER")
		}
		defer resp.Body.Close()
		var info struct{ Origin, LogKey, TrustAuthority string }
		if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&info); err != nil || resp.StatusCode != 200 {
			return nil, fmt.Errorf("registry %s: no /registry/info (%d)", rc.server, resp.StatusCode)
		}
		if rc.logKey == "" {
			fmt.Fprintf(a.stderr, "tong: warning: trusting the log key the server sent (%s); pin it with --log-key\n", info.LogKey)
		}
		rc.origin = cmpOr(rc.origin, info.Origin)
		rc.logKey = cmpOr(rc.logKey, info.LogKey)
		rc.authority = cmpOr(rc.authority, info.TrustAuthority)
	}
	return client.New(client.Config{BaseURL: rc.server, Origin: rc.origin, LogKey: rc.logKey, TrustAuthority: rc.authority,
		HTTPClient: &http.Client{Timeout: 30 * time.Second}})
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func newRegistryCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "registry",
		Short: "Create, change, resolve and audit did:tong DIDs",
		Long: `The registry commands talk to a Tong registry (tong serve). Every answer is
verified: the checkpoint's signature with the log key, its consistency with
what was seen before, each operation's inclusion proof, and the whole chain
of operations.

Keys are private JWK files from 'tong key generate'.`,
	}
	cmd.AddCommand(newRegistryCreateCmd(a), newRegistryUpdateCmd(a), newRegistryRotateCmd(a), newRegistryDeactivateCmd(a),
		newRegistryAccreditCmd(a), newRegistryResolveCmd(a), newRegistryLogCmd(a), newRegistryVerifyCmd(a))
	return cmd
}

// submit signs op with key and posts it.
func submit(ctx context.Context, a *app, rc *registryConn, op *didregistry.Operation, key crypto.Signer) error {
	c, err := rc.client(ctx, a)
	if err != nil {
		return err
	}
	if err := op.Sign(key); err != nil {
		return err
	}
	r, err := c.Submit(ctx, op)
	if err != nil {
		return err
	}
	return a.printResult(r, func(w io.Writer) {
		fmt.Fprintf(w, "%s\nversion %s at log index %d (tree size %d)\n", r.DID, r.VersionID, r.Index, r.TreeSize)
	})
}

// head fetches and verifies id's current state.
func head(ctx context.Context, a *app, rc *registryConn, id string) (*didregistry.State, error) {
	c, err := rc.client(ctx, a)
	if err != nil {
		return nil, err
	}
	vc, err := c.Chain(ctx, id)
	if err != nil {
		return nil, err
	}
	return vc.States[len(vc.States)-1], nil
}

func newRegistryCreateCmd(a *app) *cobra.Command {
	rc := &registryConn{}
	var keyFile, issuerURL string
	var nextKeys []string
	cmd := &cobra.Command{
		Use:   "create --key FILE",
		Short: "Register a new DID controlled by a key",
		Long: `Create registers a new did:tong whose document holds --key as its
assertion and authentication key, and whose update key it is. With
--next-key, it commits to the keys of the next rotation (pre-rotation): the
next operation must then be signed by one of them.`,
		Example: `  tong key generate --out agency.jwk
  tong key generate --out agency-next.jwk
  tong registry create --key agency.jwk --next-key agency-next.jwk \
      --issuer-url https://tong.example/issuers/psb`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if keyFile == "" {
				return usagef("--key is required")
			}
			key, err := readPrivateJWK(keyFile)
			if err != nil {
				return err
			}
			var hashes []string
			if len(nextKeys) > 0 {
				if hashes, err = keyHashes(nextKeys); err != nil {
					return err
				}
			}
			op, err := newOrgGenesis(key, issuerURL, hashes, time.Now())
			if err != nil {
				return err
			}
			return submit(cmd.Context(), a, rc, op, key)
		},
	}
	rc.flags(cmd)
	cmd.Flags().StringVar(&keyFile, "key", "", "private JWK of the controller (required)")
	cmd.Flags().StringSliceVar(&nextKeys, "next-key", nil, "JWK file(s) of the next rotation's keys (pre-rotation commitment)")
	cmd.Flags().StringVar(&issuerURL, "issuer-url", "", "the agency's OpenID4VCI Credential Issuer Identifier, named in the document")
	return cmd
}

func keyHashes(files []string) ([]string, error) {
	var pubs []crypto.PublicKey
	for _, f := range files {
		k, err := readPublicOrPrivateJWK(f)
		if err != nil {
			return nil, err
		}
		pubs = append(pubs, k)
	}
	return didregistry.KeyHashesOf(pubs...)
}

func readPublicOrPrivateJWK(path string) (crypto.PublicKey, error) {
	if s, err := readPrivateJWK(path); err == nil {
		return s.Public(), nil
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return jose.ParsePublicJWK(raw)
}

func newRegistryUpdateCmd(a *app) *cobra.Command {
	rc := &registryConn{}
	var keyFile, docFile, id string
	cmd := &cobra.Command{
		Use:     "update --did DID --key FILE --doc FILE",
		Short:   "Replace a DID's document",
		Example: `  tong registry update --did did:tong:z... --key agency.jwk --doc document.json`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if keyFile == "" || docFile == "" || id == "" {
				return usagef("--did, --key and --doc are required")
			}
			key, err := readPrivateJWK(keyFile)
			if err != nil {
				return err
			}
			raw, err := os.ReadFile(docFile)
			if err != nil {
				return err
			}
			doc, err := did.ParseDocument(raw)
			if err != nil {
				return fmt.Errorf("%s: %w", docFile, err)
			}
			h, err := head(cmd.Context(), a, rc, id)
			if err != nil {
				return err
			}
			op := didregistry.Next(h, didregistry.OpUpdate, nextTime(h))
			op.Document, _ = json.Marshal(doc)
			return submit(cmd.Context(), a, rc, op, key)
		},
	}
	rc.flags(cmd)
	cmd.Flags().StringVar(&id, "did", "", "the DID (required)")
	cmd.Flags().StringVar(&keyFile, "key", "", "a current update key, private JWK (required)")
	cmd.Flags().StringVar(&docFile, "doc", "", "the new DID document, JSON (required)")
	return cmd
}

// nextTime is now, or one second after the head if the clock lags.
func nextTime(h *didregistry.State) time.Time {
	at := time.Now().Truncate(time.Second)
	if !at.After(h.VersionTime) {
		at = h.VersionTime.Add(time.Second)
	}
	return at
}

func newRegistryRotateCmd(a *app) *cobra.Command {
	rc := &registryConn{}
	var keyFile, id string
	var nextKeys []string
	cmd := &cobra.Command{
		Use:   "rotate --did DID --key NEWKEY [--next-key FILE]",
		Short: "Rotate a DID's update key under pre-rotation",
		Long: `Rotate makes --key the DID's update key. If the DID committed to next keys
(pre-rotation), --key must be one of them and signs the rotation itself;
otherwise the current update key must sign, given with --old-key. With
--next-key the rotation commits to the keys after this one.`,
		Example: `  tong registry rotate --did did:tong:z... --key agency-next.jwk --next-key agency-next2.jwk`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if keyFile == "" || id == "" {
				return usagef("--did and --key are required")
			}
			key, err := readPrivateJWK(keyFile)
			if err != nil {
				return err
			}
			h, err := head(cmd.Context(), a, rc, id)
			if err != nil {
				return err
			}
			op := didregistry.Next(h, didregistry.OpUpdate, nextTime(h))
			op.UpdateKeys, _ = didregistry.MultikeysOf(key.Public())
			op.NextKeyHashes = nil
			if len(nextKeys) > 0 {
				if op.NextKeyHashes, err = keyHashes(nextKeys); err != nil {
					return err
				}
			}
			return submit(cmd.Context(), a, rc, op, key)
		},
	}
	rc.flags(cmd)
	cmd.Flags().StringVar(&id, "did", "", "the DID (required)")
	cmd.Flags().StringVar(&keyFile, "key", "", "the new update key, private JWK (required)")
	cmd.Flags().StringSliceVar(&nextKeys, "next-key", nil, "JWK file(s) of the keys after this rotation")
	return cmd
}

func newRegistryDeactivateCmd(a *app) *cobra.Command {
	rc := &registryConn{}
	var keyFile, id string
	cmd := &cobra.Command{
		Use:     "deactivate --did DID --key FILE",
		Short:   "Deactivate a DID for good",
		Example: `  tong registry deactivate --did did:tong:z... --key agency.jwk`,
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if keyFile == "" || id == "" {
				return usagef("--did and --key are required")
			}
			key, err := readPrivateJWK(keyFile)
			if err != nil {
				return err
			}
			h, err := head(cmd.Context(), a, rc, id)
			if err != nil {
				return err
			}
			return submit(cmd.Context(), a, rc, didregistry.Next(h, didregistry.OpDeactivate, nextTime(h)), key)
		},
	}
	rc.flags(cmd)
	cmd.Flags().StringVar(&id, "did", "", "the DID (required)")
	cmd.Flags().StringVar(&keyFile, "key", "", "a current update key, private JWK (required)")
	return cmd
}

func newRegistryAccreditCmd(a *app) *cobra.Command {
	rc := &registryConn{}
	var keyFile, data, subject, role, until, revoke, credentialIssuer string
	var scope []string
	cmd := &cobra.Command{
		Use:   "accredit --subject DID --role issuer|verifier --scope S",
		Short: "Accredit a DID as an issuer or verifier (trust authority only)",
		Long: `Accredit records, in the trust authority's chain, that --subject may issue
the credential types (role issuer) or verify for the purposes (role
verifier) in --scope. --revoke VERSIONID ends an accreditation instead.

For an issuer, --credential-issuer URL binds the agency's Credential
Issuer Identifier (the iss of its credentials) to --subject: verifiers
find the agency from iss only through such a binding, never through a
DID document alone. A later accreditation naming the same URL moves it.

The trust authority's key is --key (a private JWK), or the sealed key in a
tong serve data directory given with --data.`,
		Example: `  tong registry accredit --data ./tong-data --subject did:tong:z... \
      --role issuer --scope urn:tong:vct:citizen-identity:1 \
      --credential-issuer https://tong.example/issuers/psb
  tong registry accredit --data ./tong-data --revoke 4-zQm...`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var key crypto.Signer
			switch {
			case keyFile != "":
				k, err := readPrivateJWK(keyFile)
				if err != nil {
					return err
				}
				key = k
			case data != "":
				kd, err := openKeys(data, "")
				if err != nil {
					return err
				}
				k, err := kd.Load(keyTrustAuthority)
				if err != nil {
					return err
				}
				key = k
			default:
				return usagef("give the trust authority's key with --key or --data")
			}
			if _, err := rc.client(cmd.Context(), a); err != nil { // learns the authority
				return err
			}
			h, err := head(cmd.Context(), a, rc, rc.authority)
			if err != nil {
				return err
			}
			if revoke != "" {
				op := didregistry.Next(h, didregistry.OpRevoke, nextTime(h))
				op.Revokes = revoke
				return submit(cmd.Context(), a, rc, op, key)
			}
			if subject == "" || role == "" || len(scope) == 0 {
				return usagef("--subject, --role and --scope are required")
			}
			op := didregistry.Next(h, didregistry.OpAccredit, nextTime(h))
			op.Accreditation = &didregistry.Accreditation{Subject: subject, Role: role, Scope: scope, ValidFrom: didregistry.FormatTime(time.Now())}
			if until != "" {
				op.Accreditation.ValidUntil = until
			}
			op.Accreditation.CredentialIssuer = strings.TrimSuffix(credentialIssuer, "/")
			return submit(cmd.Context(), a, rc, op, key)
		},
	}
	rc.flags(cmd)
	fl := cmd.Flags()
	fl.StringVar(&keyFile, "key", "", "the trust authority's private JWK")
	fl.StringVar(&data, "data", "", "a tong serve data directory holding the sealed trust authority key")
	fl.StringVar(&subject, "subject", "", "the DID to accredit")
	fl.StringVar(&role, "role", "", "issuer or verifier")
	fl.StringSliceVar(&scope, "scope", nil, "vct values (issuer) or purposes (verifier)")
	fl.StringVar(&until, "valid-until", "", "end of the accreditation (RFC 3339)")
	fl.StringVar(&revoke, "revoke", "", "versionId of an accreditation to revoke")
	fl.StringVar(&credentialIssuer, "credential-issuer", "", "issuer role: the Credential Issuer Identifier (URL) to bind to --subject")
	return cmd
}

func newRegistryResolveCmd(a *app) *cobra.Command {
	rc := &registryConn{}
	var versionID, versionTime string
	cmd := &cobra.Command{
		Use:   "resolve DID",
		Short: "Resolve a DID and verify the answer",
		Example: `  tong registry resolve did:tong:z...
  tong registry resolve did:tong:z... --version-time 2026-11-01T00:00:00Z --json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := rc.client(cmd.Context(), a)
			if err != nil {
				return err
			}
			opts := did.ResolveOptions{VersionID: versionID}
			if versionTime != "" {
				t, err := time.Parse(time.RFC3339, versionTime)
				if err != nil {
					return usagef("--version-time must be RFC 3339")
				}
				opts.VersionTime = t
			}
			res, err := c.Resolve(cmd.Context(), args[0], opts)
			if res != nil {
				if perr := a.printResult(res, func(w io.Writer) {
					enc := json.NewEncoder(w)
					enc.SetIndent("", "  ")
					enc.Encode(res)
				}); perr != nil {
					return perr
				}
			}
			return err
		},
	}
	rc.flags(cmd)
	cmd.Flags().StringVar(&versionID, "version-id", "", "resolve this version")
	cmd.Flags().StringVar(&versionTime, "version-time", "", "resolve the version valid at this time")
	return cmd
}

func newRegistryLogCmd(a *app) *cobra.Command {
	rc := &registryConn{}
	cmd := &cobra.Command{
		Use:     "log DID",
		Short:   "Show a DID's verified chain of operations",
		Example: `  tong registry log did:tong:z... --json`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			c, err := rc.client(cmd.Context(), a)
			if err != nil {
				return err
			}
			vc, err := c.Chain(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			type entry struct {
				LogIndex  int64                  `json:"logIndex"`
				VersionID string                 `json:"versionId"`
				Operation *didregistry.Operation `json:"operation"`
			}
			out := struct {
				DID        string  `json:"did"`
				TreeSize   int64   `json:"treeSize"`
				Checkpoint string  `json:"checkpoint"`
				Entries    []entry `json:"entries"`
			}{DID: vc.DID, TreeSize: vc.Checkpoint.Size, Checkpoint: string(vc.Signed)}
			for i, op := range vc.Operations {
				out.Entries = append(out.Entries, entry{LogIndex: vc.States[i].LogIndex, VersionID: vc.States[i].VersionID(), Operation: op})
			}
			return a.printResult(out, func(w io.Writer) {
				fmt.Fprintf(w, "%s: %d operations, verified against tree size %d\n", vc.DID, len(vc.Operations), vc.Checkpoint.Size)
				for i, op := range vc.Operations {
					fmt.Fprintf(w, "  %-4d %-10s %s  %s  log index %d\n", op.Seq, op.Type, op.VersionTime, vc.States[i].VersionID(), vc.States[i].LogIndex)
				}
			})
		},
	}
	rc.flags(cmd)
	return cmd
}

func newRegistryVerifyCmd(a *app) *cobra.Command {
	var data, database string
	cmd := &cobra.Command{
		Use:   "verify --data DIR",
		Short: "Replay the whole log from the database and check everything",
		Long: `Verify opens a registry's database (tong serve's data directory) and replays
the log from its first entry: every operation's signature, hash link, SCID
and pre-rotation rule, every stored Merkle hash, and every checkpoint's root
and signature. It reports the first index that disagrees and exits 1, or
prints a summary. It shows progress on a terminal.`,
		Example: `  tong registry verify --data ./tong-data
  tong registry verify --data ./tong-data --json
  tong registry verify --data ./tong-data --database postgres://tong@db.internal/tong`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			raw, err := os.ReadFile(filepath.Join(data, "registry.json"))
			if err != nil {
				return withHint(err, "--data must be a tong serve data directory")
			}
			var f registryFile
			if err := json.Unmarshal(raw, &f); err != nil {
				return err
			}
			v, err := note.NewVerifier(f.LogKey)
			if err != nil {
				return err
			}
			db, err := openDB(cmd.Context(), data, database)
			if err != nil {
				return err
			}
			defer db.Close()
			var progress func(done, total int64)
			if fd, ok := a.stderr.(interface{ Fd() uintptr }); ok && term.IsTerminal(int(fd.Fd())) {
				progress = func(done, total int64) {
					const width = 40
					filled := int(done * width / max(total, 1))
					fmt.Fprintf(a.stderr, "\r[%s%s] %d/%d", strings.Repeat("#", filled), strings.Repeat(".", width-filled), done, total)
					if done == total {
						fmt.Fprintln(a.stderr)
					}
				}
			}
			rep, err := regstore.Verify(cmd.Context(), db, didregistry.Rules{TrustAuthority: f.TrustAuthority}, f.Origin, v, progress)
			if err != nil {
				var ve *regstore.VerifyError
				if errors.As(err, &ve) {
					return err
				}
				return fmt.Errorf("verify: %w", err)
			}
			return a.printResult(rep, func(w io.Writer) {
				fmt.Fprintf(w, "ok: %d entries, %d DIDs, %d checkpoints, root %s (%.0f ops/s)\n",
					rep.Entries, rep.DIDs, rep.Checkpoints, rep.Root, float64(rep.Entries)/rep.Elapsed.Seconds())
			})
		},
	}
	cmd.Flags().StringVar(&data, "data", "./tong-data", "the registry's data directory")
	cmd.Flags().StringVar(&database, "database", "", databaseUsage)
	return cmd
}
