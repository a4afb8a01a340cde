package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/tongid/tong/web/walletapp"
)

func newWalletAppCmd(a *app) *cobra.Command {
	var out, registry string
	cmd := &cobra.Command{
		Use:   "wallet-app",
		Short: "Write the wallet web app as static files, for any web server",
		Long: `Wallet-app writes the citizen's wallet web app (the page, its service
worker, manifest, icons and the wallet engine, tong-wallet.wasm) into a
directory, to host on any origin. tong serve already serves it at /wallet/.

The engine is built into tong by 'make wallet-wasm' before 'make build';
without it this command fails and says so.

Files with a content hash in their name never change: serve them with
"Cache-Control: public, max-age=31536000, immutable". index.html, sw.js and
manifest.webmanifest must be revalidated ("Cache-Control: no-cache"). Serve
.wasm as application/wasm, over https. The issuers' and verifiers' endpoints
the wallet calls answer CORS, so they may live on other origins.`,
		Example: `  make wallet-wasm build
  tong wallet-app --out ./wallet-site --registry https://registry.tong.example`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return exportWalletApp(a.stdout, out, registry)
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "directory to write the app into (created; must be empty or absent)")
	cmd.Flags().StringVar(&registry, "registry", "", "URL of the DID registry new wallets use (default: the origin the app is served from)")
	_ = cmd.MarkFlagRequired("out")
	return cmd
}

func exportWalletApp(w io.Writer, out, registry string) error {
	app, err := walletapp.New(walletapp.Config{Registry: registry})
	if err != nil {
		return usagef("%v", err)
	}
	if entries, err := os.ReadDir(out); err == nil && len(entries) > 0 {
		return usagef("--out %s is not empty; pick a new directory", out)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if err := app.Export(out); err != nil {
		if errors.Is(err, walletapp.ErrNoEngine) {
			return withHint(err, "run 'make wallet-wasm build' and use the tong it builds")
		}
		return err
	}
	s := app.FirstLoad()
	fmt.Fprintf(w, "Wrote the wallet app to %s (%d files, %.1f MB; %.1f MB with gzip).\n", filepath.Clean(out), s.Files, float64(s.Raw)/1e6, float64(s.Gzip)/1e6)
	fmt.Fprintln(w, "Serve it over https; hashed files may be cached forever, index.html, sw.js and manifest.webmanifest must be revalidated.")
	return nil
}
