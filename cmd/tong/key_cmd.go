package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/tongid/tong/internal/jose"
	"github.com/tongid/tong/internal/keys"
)

func newKeyCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "key",
		Short: "Generate and inspect signing keys",
	}
	cmd.AddCommand(newKeyGenerateCmd(a))
	return cmd
}

// keyResult is what `tong key generate` prints.
type keyResult struct {
	Out        string   `json:"out"`
	Alg        string   `json:"alg"`
	Kid        string   `json:"kid"`
	PublicJWK  jose.JWK `json:"public_jwk"`
	Thumbprint string   `json:"thumbprint"`
}

func newKeyGenerateCmd(a *app) *cobra.Command {
	var alg, out string
	var force bool
	cmd := &cobra.Command{
		Use:   "generate --out FILE",
		Short: "Generate a private key as a JWK file and print its public JWK",
		Long: `Generate writes a new private key as a JSON Web Key to --out, readable only
by its owner (mode 0600), and prints the public JWK on stdout (the note
about the file goes to stderr). The key ID (kid) is the RFC 7638
thumbprint of the public key.

The file holds the private key in the clear: use it for tests and offline
tooling (tong credential issue). Servers keep their keys sealed in their
data directory instead.`,
		Example: `  # an ES256 (P-256) key, the default
  tong key generate --out issuer.jwk

  # a holder key, keeping its public JWK for tong credential issue --holder-jwk
  tong key generate --out holder.jwk > holder.pub.jwk

  # an Ed25519 key, printing the result as JSON
  tong key generate --alg Ed25519 --out holder.jwk --json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if out == "" {
				return usagef("--out is required")
			}
			s, err := keys.Generate(nil, alg)
			if errors.Is(err, keys.ErrUnsupported) {
				return usagef("--alg must be ES256 or Ed25519, not %q", alg)
			}
			if err != nil {
				return err
			}
			priv, err := jose.PrivateJWK(s)
			if err != nil {
				return err
			}
			priv.Kid, priv.Alg = s.KeyID(), s.Alg()
			buf, err := json.MarshalIndent(priv, "", "  ")
			if err != nil {
				return err
			}
			flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
			if force {
				flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
			}
			f, err := os.OpenFile(out, flags, 0o600)
			if errors.Is(err, os.ErrExist) {
				return withHint(fmt.Errorf("%s already exists", out), "pass --force to overwrite it, or choose another --out")
			}
			if err != nil {
				return err
			}
			if _, err := f.Write(append(buf, '\n')); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			pub, _ := jose.PublicJWK(s.Public())
			pub.Kid, pub.Alg = s.KeyID(), s.Alg()
			res := keyResult{Out: out, Alg: s.Alg(), Kid: s.KeyID(), PublicJWK: pub, Thumbprint: s.KeyID()}
			return a.printResult(res, func(w io.Writer) {
				// stdout holds the public JWK alone, so that it can be
				// redirected to a file and passed to --holder-jwk or
				// --issuer-jwk; the note goes to stderr.
				pj, _ := json.Marshal(pub)
				fmt.Fprintf(a.stderr, "wrote the private %s key to %s (mode 0600)\n", s.Alg(), out)
				fmt.Fprintf(w, "%s\n", pj)
			})
		},
	}
	cmd.Flags().StringVar(&alg, "alg", keys.ES256, "algorithm: ES256 or Ed25519")
	cmd.Flags().StringVar(&out, "out", "", "file to write the private JWK to (required)")
	cmd.Flags().BoolVar(&force, "force", false, "overwrite --out if it exists")
	return cmd
}

// readPrivateJWK reads a private key file written by `tong key generate`.
func readPrivateJWK(path string) (*keys.Signer, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := jose.ParsePrivateJWK(raw)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return keys.New(k)
}
