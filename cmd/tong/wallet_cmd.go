package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/tongid/tong/wallet"
)

// walletConn are the flags every wallet command shares.
type walletConn struct {
	path          string
	reg           registryConn // reg.server is --registry
	requireReg    bool
	allowLoopback bool
	trustCA       string
}

// registryPins is WALLET.registry.json, beside the wallet: the registry that
// issuers and verifiers are checked against, and the log's identity as
// first trusted, so later commands need no --registry and a registry that
// changes its log key is caught. It holds no secret.
type registryPins struct {
	Server         string `json:"server"`
	Origin         string `json:"origin"`
	LogKey         string `json:"log_key"`
	TrustAuthority string `json:"trust_authority"`
}

func (wc *walletConn) pinsPath() string { return wc.path + ".registry.json" }

// loadPins reads the pins file; a missing one is no pins.
func (wc *walletConn) loadPins() (*registryPins, error) {
	b, err := os.ReadFile(wc.pinsPath())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var p registryPins
	if err := json.Unmarshal(b, &p); err != nil || p.Server == "" {
		return nil, withHint(fmt.Errorf("%s is damaged", wc.pinsPath()), "remove it and pass --registry again")
	}
	return &p, nil
}

func (wc *walletConn) savePins(p registryPins) error {
	b, err := json.MarshalIndent(p, "", "  ")
	if err != nil {
		return err
	}
	tmp := wc.pinsPath() + ".tmp"
	if err := os.WriteFile(tmp, append(b, '\n'), 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, wc.pinsPath())
}

func (wc *walletConn) flags(cmd *cobra.Command) {
	fl := cmd.Flags()
	def := "tong-wallet.db"
	if dir, err := os.UserConfigDir(); err == nil {
		def = filepath.Join(dir, "tong", "wallet.db")
	}
	fl.StringVar(&wc.path, "wallet", def, "the wallet file")
	fl.StringVar(&wc.reg.server, "registry", "", "did:tong registry URL that issuers and verifiers are checked against; remembered beside the wallet, so give it once (without one, issuers are accepted unchecked and every verifier is refused)")
	fl.StringVar(&wc.reg.logKey, "log-key", "", "the registry log's note verifier key (default: the one remembered, or trusted on first use)")
	fl.StringVar(&wc.reg.origin, "origin", "", "the registry log's origin (default: the one remembered, or trusted on first use)")
	fl.StringVar(&wc.reg.authority, "trust-authority", "", "the registry's trust authority DID (default: the one remembered, or trusted on first use)")
	fl.BoolVar(&wc.requireReg, "require-registry", false, "refuse issuers and verifiers the registry does not vouch for")
	fl.BoolVar(&wc.allowLoopback, "allow-loopback-http", true, "allow plain http to 127.0.0.1/localhost (the demo); everything else must be https")
	fl.StringVar(&wc.trustCA, "trust-ca", "", "PEM file of the city CA (DATA/ca.pem): x509_hash verifiers (HAIP) must chain to it")
}

// passphrase reads TONG_WALLET_PASSPHRASE or prompts on the terminal.
func (a *app) passphrase(prompt string, confirm bool) ([]byte, error) {
	if p := a.getenv("TONG_WALLET_PASSPHRASE"); p != "" {
		return []byte(p), nil
	}
	f, ok := a.stdin.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil, withHint(errors.New("no passphrase"), "set TONG_WALLET_PASSPHRASE or run in a terminal")
	}
	fmt.Fprint(a.stderr, prompt)
	p, err := term.ReadPassword(int(f.Fd()))
	fmt.Fprintln(a.stderr)
	if err != nil {
		return nil, err
	}
	if confirm {
		fmt.Fprint(a.stderr, "Again: ")
		q, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(a.stderr)
		if err != nil {
			return nil, err
		}
		if string(p) != string(q) {
			return nil, errors.New("the passphrases differ")
		}
	}
	return p, nil
}

func (wc *walletConn) options(ctx context.Context, a *app) (wallet.Options, error) {
	opts := wallet.Options{AllowLoopbackHTTP: wc.allowLoopback, RequireRegistry: wc.requireReg}
	saved, err := wc.loadPins()
	if err != nil {
		return opts, err
	}
	rc := wc.reg
	if rc.server == "" && saved != nil {
		rc.server = saved.Server
	}
	if rc.server == "" {
		if wc.requireReg {
			return opts, usagef("--require-registry needs --registry")
		}
		return opts, nil
	}
	if saved != nil && saved.Server == rc.server {
		rc.origin = cmpOr(rc.origin, saved.Origin)
		rc.logKey = cmpOr(rc.logKey, saved.LogKey)
		rc.authority = cmpOr(rc.authority, saved.TrustAuthority)
	}
	c, err := rc.client(ctx, a)
	if err != nil {
		return opts, err
	}
	opts.Registry = c
	now := registryPins{Server: rc.server, Origin: rc.origin, LogKey: rc.logKey, TrustAuthority: rc.authority}
	if saved == nil || *saved != now {
		if err := wc.savePins(now); err != nil {
			return opts, err
		}
		fmt.Fprintf(a.stderr, "tong: this wallet now checks issuers and verifiers against %s (remembered in %s)\n", rc.server, wc.pinsPath())
	}
	return opts, nil
}

// run wraps a command body: it opens the wallet first and closes it after.
func (wc *walletConn) run(a *app, fn func(ctx context.Context, w *wallet.Wallet, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		w, err := wc.open(cmd.Context(), a)
		if err != nil {
			return err
		}
		defer w.Close()
		return fn(cmd.Context(), w, args)
	}
}

// pathString prints a claims path as dotted names.
func pathString(p []any) string {
	parts := make([]string, len(p))
	for i, e := range p {
		parts[i] = fmt.Sprint(e)
	}
	return strings.Join(parts, ".")
}

func (wc *walletConn) open(ctx context.Context, a *app) (*wallet.Wallet, error) {
	opts, err := wc.options(ctx, a)
	if err != nil {
		return nil, err
	}
	if opts.TrustedCAs, err = wc.trustedCAs(); err != nil {
		return nil, err
	}
	pass, err := a.passphrase("Wallet passphrase: ", false)
	if err != nil {
		return nil, err
	}
	w, err := wallet.Open(ctx, wc.path, pass, opts)
	switch {
	case errors.Is(err, wallet.ErrNotFound):
		return nil, withHint(err, "create one with: tong wallet init --wallet "+wc.path)
	case errors.Is(err, wallet.ErrWrongPassphrase):
		return nil, withHint(err, "check TONG_WALLET_PASSPHRASE")
	}
	return w, err
}

func newWalletCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "wallet",
		Short: "A citizen's wallet: receive credentials and present them",
		Long: `Wallet keeps credentials in an encrypted file (--wallet, TONG_WALLET). The
passphrase comes from TONG_WALLET_PASSPHRASE, or is asked on the terminal.`,
		Example: `  tong wallet init
  tong wallet receive 'openid-credential-offer://?credential_offer_uri=...' --tx-code 123456
  tong wallet present 'openid4vp://?client_id=...&request_uri=...'`,
	}
	cmd.AddCommand(newWalletInitCmd(a), newWalletReceiveCmd(a), newWalletListCmd(a), newWalletShowCmd(a),
		newWalletPresentCmd(a), newWalletHistoryCmd(a), newWalletExportCmd(a), newWalletImportCmd(a), newWalletRefillCmd(a))
	return cmd
}

func newWalletInitCmd(a *app) *cobra.Command {
	wc := &walletConn{}
	cmd := &cobra.Command{
		Use:     "init",
		Short:   "Create an empty wallet protected by a passphrase",
		Example: "  TONG_WALLET_PASSPHRASE=... tong wallet init --wallet ./me.db --registry https://tong.example.gov.cn",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			pass, err := a.passphrase("New wallet passphrase: ", true)
			if err != nil {
				return err
			}
			if err := os.MkdirAll(filepath.Dir(wc.path), 0o700); err != nil {
				return err
			}
			w, err := wallet.Create(cmd.Context(), wc.path, pass, wallet.Options{})
			if errors.Is(err, wallet.ErrExists) {
				return withHint(err, "use another --wallet, or remove "+wc.path)
			}
			if err != nil {
				return err
			}
			w.Close()
			if wc.reg.server != "" {
				if _, err := wc.options(cmd.Context(), a); err != nil {
					return err
				}
			}
			return a.printResult(map[string]string{"wallet": wc.path}, func(out io.Writer) {
				fmt.Fprintf(out, "Created %s\n", wc.path)
			})
		},
	}
	wc.flags(cmd)
	return cmd
}

func newWalletReceiveCmd(a *app) *cobra.Command {
	wc := &walletConn{}
	var txCode string
	cmd := &cobra.Command{
		Use:     "receive OFFER_URI",
		Short:   "Receive a credential from an offer (the QR code's text)",
		Example: `  tong wallet receive 'openid-credential-offer://?credential_offer_uri=https%3A%2F%2F...' --tx-code 493817`,
		Args:    cobra.ExactArgs(1),
		RunE: wc.run(a, func(ctx context.Context, w *wallet.Wallet, args []string) error {
			if txCode == "" {
				if o, err := w.ParseOffer(ctx, args[0]); err == nil && o.NeedsTxCode() {
					fmt.Fprint(a.stderr, "PIN from the agency: ")
					line, _ := bufio.NewReader(a.stdin).ReadString('\n')
					txCode = strings.TrimSpace(line)
				}
			}
			c, err := w.Receive(ctx, args[0], txCode)
			if err != nil {
				return err
			}
			return a.printResult(c, func(out io.Writer) {
				fmt.Fprintf(out, "Received %s (%s) from %s: %d copies\n", nameOr(c), c.ID, issuerLabel(c), c.CopiesLeft)
			})
		}),
	}
	wc.flags(cmd)
	cmd.Flags().StringVar(&txCode, "tx-code", "", "the PIN the agency gave you (asked if needed and not given)")
	return cmd
}

func nameOr(c *wallet.Credential) string {
	if c.Name != "" {
		return c.Name
	}
	return c.VCT
}

func issuerLabel(c *wallet.Credential) string {
	s := c.IssuerName
	if s == "" {
		s = c.Issuer
	}
	if c.IssuerDID != "" {
		return s + " (registry: " + c.IssuerDID + ")"
	}
	return s + " (not checked against a registry)"
}

func newWalletListCmd(a *app) *cobra.Command {
	wc := &walletConn{}
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List the credentials in the wallet",
		Example: "  tong wallet list --json",
		Args:    cobra.NoArgs,
		RunE: wc.run(a, func(ctx context.Context, w *wallet.Wallet, args []string) error {
			// Each credential's status as its issuer's status list says
			// now; offline, the last known one (RefreshStatus skips what
			// it cannot reach).
			if _, err := w.RefreshStatus(ctx); err != nil {
				fmt.Fprintf(a.stderr, "warning: could not check every credential's status: %v\n", err)
			}
			cs, err := w.Credentials(ctx)
			if err != nil {
				return err
			}
			if cs == nil {
				cs = []*wallet.Credential{}
			}
			return a.printResult(cs, func(out io.Writer) {
				if len(cs) == 0 {
					fmt.Fprintln(out, "The wallet is empty.")
				}
				for _, c := range cs {
					exp := "no expiry"
					if !c.Expiry.IsZero() {
						exp = "expires " + c.Expiry.Local().Format(time.DateOnly)
						if c.Status == wallet.StatusExpired {
							exp = "expired " + c.Expiry.Local().Format(time.DateOnly)
						}
					}
					fmt.Fprintf(out, "%s  %-24s %s, %d copies left, %s, from %s\n", c.ID, nameOr(c), statusWords(c.Status), c.CopiesLeft, exp, issuerLabel(c))
				}
			})
		}),
	}
	wc.flags(cmd)
	return cmd
}

// statusWords says a credential's status (wallet.Status*) as a person
// reads it in tong wallet list.
func statusWords(status string) string {
	switch status {
	case wallet.StatusValid:
		return "valid"
	case wallet.StatusSuspended:
		return "SUSPENDED by the issuer"
	case wallet.StatusRevoked:
		return "REVOKED by the issuer"
	case wallet.StatusExpired:
		return "EXPIRED"
	}
	return "status unknown"
}

func newWalletShowCmd(a *app) *cobra.Command {
	wc := &walletConn{}
	cmd := &cobra.Command{
		Use:     "show ID",
		Short:   "Show one credential and its claims",
		Example: "  tong wallet show cred_AbC123",
		Args:    cobra.ExactArgs(1),
		RunE: wc.run(a, func(ctx context.Context, w *wallet.Wallet, args []string) error {
			c, err := w.Credential(ctx, args[0])
			if errors.Is(err, wallet.ErrNotFound) {
				return withHint(fmt.Errorf("no credential %s", args[0]), "see tong wallet list")
			}
			if err != nil {
				return err
			}
			return a.printResult(c, func(out io.Writer) {
				fmt.Fprintf(out, "%s (%s)\nissuer: %s\ntype:   %s\n", nameOr(c), c.ID, issuerLabel(c), c.VCT)
				b, _ := json.MarshalIndent(c.Claims, "", "  ")
				fmt.Fprintf(out, "claims: %s\n", b)
			})
		}),
	}
	wc.flags(cmd)
	return cmd
}

func newWalletPresentCmd(a *app) *cobra.Command {
	wc := &walletConn{}
	var yes bool
	cmd := &cobra.Command{
		Use:   "present REQUEST_URI",
		Short: "Answer a counter's request (the QR code's text), disclosing only what you approve",
		Long: `Present fetches and checks the counter's request, shows who asks, for what
purpose, exactly which claims would be shared and any payment, and asks y/n
(--yes approves without asking).`,
		Example: `  tong wallet present 'openid4vp://?client_id=decentralized_identifier%3Adid%3Atong%3Az...&request_uri=https%3A%2F%2F...'`,
		Args:    cobra.ExactArgs(1),
		RunE: wc.run(a, func(ctx context.Context, w *wallet.Wallet, args []string) error {
			req, err := w.Match(ctx, args[0])
			if wallet.CodeOf(err) == wallet.CodeVerifierUntrusted {
				if p, _ := wc.loadPins(); p == nil && wc.reg.server == "" {
					return withHint(err, "the wallet checks verifiers against the registry: give it once with --registry URL (TONG_REGISTRY)")
				}
			}
			if err != nil {
				return err
			}
			rec, err := w.Present(ctx, req, func(ctx context.Context, r *wallet.ConsentRequest) (wallet.Decision, error) {
				printConsent(a.stderr, r)
				if yes {
					return wallet.Decision{Approve: true}, nil
				}
				fmt.Fprint(a.stderr, "Share this? [y/N] ")
				line, _ := bufio.NewReader(a.stdin).ReadString('\n')
				ans := strings.ToLower(strings.TrimSpace(line))
				return wallet.Decision{Approve: ans == "y" || ans == "yes"}, nil
			})
			if err != nil {
				return err
			}
			return a.printResult(rec, func(out io.Writer) {
				fmt.Fprintf(out, "Shared with %s.\n", sharedWith(rec))
				if rec.RedirectURI != "" {
					fmt.Fprintf(out, "Continue at %s\n", rec.RedirectURI)
				}
			})
		}),
	}
	wc.flags(cmd)
	cmd.Flags().BoolVar(&yes, "yes", false, "approve without asking")
	return cmd
}

// sharedWith names the verifier of a presentation as the registry knows
// it; one the registry did not vouch for is said to be unverified.
func sharedWith(rec *wallet.Receipt) string {
	switch {
	case rec.Verified && rec.Name != "":
		return rec.Name
	case rec.Verified:
		return rec.VerifierDID
	}
	return "an unverified requester (" + rec.Verifier + ")"
}

func printConsent(out io.Writer, r *wallet.ConsentRequest) {
	who := r.Name
	if who == "" {
		who = r.Verifier
	}
	if r.Verified {
		fmt.Fprintf(out, "%s (registry: %s) asks, for %q:\n", who, r.VerifierDID, r.Purpose)
	} else {
		fmt.Fprintf(out, "UNVERIFIED requester %s asks:\n", r.Verifier)
	}
	for _, c := range r.Credentials {
		name := c.Name
		if name == "" {
			name = c.VCT
		}
		fmt.Fprintf(out, "  from %s:\n", name)
		for _, cl := range c.Claims {
			v, _ := json.Marshal(cl.Value)
			fmt.Fprintf(out, "    %s = %s\n", pathString(cl.Path), v)
		}
	}
	for _, td := range r.TransactionData {
		b, _ := json.Marshal(td)
		fmt.Fprintf(out, "  and you sign: %s\n", b)
	}
}

func newWalletRefillCmd(a *app) *cobra.Command {
	wc := &walletConn{}
	cmd := &cobra.Command{
		Use:   "refill ID",
		Short: "Fetch fresh one-time copies of a credential from its issuer",
		Long: `Each presentation spends one copy, so that counters cannot link visits.
Refill asks the issuer for a new batch, while the credential is still valid.`,
		Example: "  tong wallet refill cred_AbC123",
		Args:    cobra.ExactArgs(1),
		RunE: wc.run(a, func(ctx context.Context, w *wallet.Wallet, args []string) error {
			c, err := w.Refill(ctx, args[0])
			if err != nil {
				return err
			}
			return a.printResult(c, func(out io.Writer) {
				fmt.Fprintf(out, "%s now has %d copies\n", c.ID, c.CopiesLeft)
			})
		}),
	}
	wc.flags(cmd)
	return cmd
}

func newWalletHistoryCmd(a *app) *cobra.Command {
	wc := &walletConn{}
	cmd := &cobra.Command{
		Use:     "history",
		Short:   "Show what was shared, with whom and when",
		Example: "  tong wallet history",
		Args:    cobra.NoArgs,
		RunE: wc.run(a, func(ctx context.Context, w *wallet.Wallet, args []string) error {
			hs, err := w.History(ctx)
			if err != nil {
				return err
			}
			if hs == nil {
				hs = []*wallet.Receipt{}
			}
			return a.printResult(hs, func(out io.Writer) {
				for _, h := range hs {
					var claims []string
					for _, d := range h.Disclosed {
						for _, p := range d.Claims {
							claims = append(claims, pathString(p))
						}
					}
					fmt.Fprintf(out, "%s  %s  %s  %s\n", h.At.Local().Format(time.DateTime), h.Verifier, h.Purpose, strings.Join(claims, ", "))
				}
			})
		}),
	}
	wc.flags(cmd)
	return cmd
}

func newWalletExportCmd(a *app) *cobra.Command {
	wc := &walletConn{}
	cmd := &cobra.Command{
		Use:     "export FILE",
		Short:   "Write an encrypted backup of the wallet (same passphrase)",
		Example: "  tong wallet export backup.tongwallet",
		Args:    cobra.ExactArgs(1),
		RunE: wc.run(a, func(ctx context.Context, w *wallet.Wallet, args []string) error {
			pass, _ := a.passphrase("Wallet passphrase: ", false)
			f, err := os.OpenFile(args[0], os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
			if err != nil {
				return err
			}
			if err := w.Export(ctx, f, pass); err != nil {
				f.Close()
				os.Remove(args[0])
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			return a.printResult(map[string]string{"backup": args[0]}, func(out io.Writer) { fmt.Fprintf(out, "Wrote %s\n", args[0]) })
		}),
	}
	wc.flags(cmd)
	return cmd
}

func newWalletImportCmd(a *app) *cobra.Command {
	wc := &walletConn{}
	cmd := &cobra.Command{
		Use:     "import FILE",
		Short:   "Restore a backup into a new wallet file",
		Example: "  tong wallet import backup.tongwallet --wallet ./restored.db",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			pass, err := a.passphrase("Backup passphrase: ", false)
			if err != nil {
				return err
			}
			f, err := os.Open(args[0])
			if err != nil {
				return err
			}
			defer f.Close()
			if err := os.MkdirAll(filepath.Dir(wc.path), 0o700); err != nil {
				return err
			}
			w, err := wallet.Import(cmd.Context(), wc.path, f, pass, wallet.Options{})
			if err != nil {
				return err
			}
			defer w.Close()
			cs, err := w.Credentials(cmd.Context())
			if err != nil {
				return err
			}
			return a.printResult(map[string]any{"wallet": wc.path, "credentials": len(cs)}, func(out io.Writer) {
				fmt.Fprintf(out, "Restored %d credentials into %s\n", len(cs), wc.path)
			})
		},
	}
	wc.flags(cmd)
	return cmd
}
