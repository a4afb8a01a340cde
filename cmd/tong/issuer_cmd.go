package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/tongid/tong/internal/qr"
	"github.com/tongid/tong/issuer"
)

// staffConn are the flags every issuer staff command shares.
type staffConn struct {
	server, token string
	base          string // the agency's issuer URL on --server
}

func (sc *staffConn) flags(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&sc.server, "server", "http://127.0.0.1:8080", "Tong server URL, or the agency's issuer URL")
	fl.StringVar(&sc.token, "token", "", "the agency's staff API token (demo tokens are in DATA/demo.json)")
}

// connect finds the agency the token belongs to.
func (sc *staffConn) connect(ctx context.Context) error {
	if sc.token == "" {
		return usagef("--token (or TONG_TOKEN) is required")
	}
	u, err := url.Parse(strings.TrimSuffix(sc.server, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usagef("--server %q: want an http(s) URL", sc.server)
	}
	if strings.HasPrefix(u.Path, "/issuers/") {
		sc.base = u.String()
		return nil
	}
	var ag issuer.Agency
	if err := sc.do(ctx, http.MethodGet, u.String()+"/issuer-api/agency", nil, &ag); err != nil {
		return err
	}
	sc.base = u.String() + "/issuers/" + ag.Slug
	return nil
}

// do calls the staff API and decodes a JSON answer into out.
func (sc *staffConn) do(ctx context.Context, method, u string, body, out any) error {
	err := callAPI(ctx, "issuer", method, u, sc.token, body, out)
	if ae := (*apiError)(nil); errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
		return withHint(err, "check --token (TONG_TOKEN); demo tokens are in DATA/demo.json")
	}
	return err
}

func newIssuerCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "issuer",
		Short: "Offer credentials to citizens, and revoke or suspend them",
		Long: `Issuer commands call an agency's staff API with its API token. The token
decides the agency; --server is the Tong server (or the agency's issuer URL).`,
		Example: `  tong issuer offer --token $TOKEN --type citizen-identity --claims citizen.json
  tong issuer revoke cred_0123 --token $TOKEN
  tong issuer import citizens.csv --token $TOKEN --type citizen-identity --out offers.csv`,
	}
	cmd.AddCommand(newIssuerOfferCmd(a), newIssuerImportCmd(a), newIssuerAuditCmd(a), newIssuerTypesCmd(a), newIssuerTypePutCmd(a))
	for _, action := range []struct{ name, short string }{
		{"revoke", "Revoke an issued credential, every copy, for good"},
		{"suspend", "Suspend an issued credential until it is unsuspended"},
		{"unsuspend", "Lift a suspension"},
		{"approve", "Approve a deferred issuance (types that wait for an officer)"},
		{"show", "Show an issued credential's status (never its claims)"},
	} {
		cmd.AddCommand(newIssuerCredentialCmd(a, action.name, action.short))
	}
	return cmd
}

type offerFlags struct {
	staffConn
	typ, claims, qrPNG string
	expiresIn          time.Duration
}

func newIssuerOfferCmd(a *app) *cobra.Command {
	f := &offerFlags{}
	cmd := &cobra.Command{
		Use:   "offer",
		Short: "Offer one citizen a credential: prints the offer URI, the PIN and a QR code",
		Long: `Offer stores a credential offer for one citizen and prints what the citizen
needs: the QR code to scan with their wallet (openid-credential-offer://...,
by reference), and the 6-digit PIN (tx_code) to give them separately, spoken or
by SMS, never beside the QR code. The offer works once and expires.`,
		Example: `  tong issuer offer --token $TOKEN --type citizen-identity --claims citizen.json
  tong issuer offer --token $TOKEN --type citizen-identity --claims - --json < citizen.json
  tong issuer offer --token $TOKEN --type beijing-residence --claims r.json --qr-png offer.png`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return issuerOffer(cmd.Context(), a, f)
		},
	}
	f.flags(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.typ, "type", "", "credential type id (credential_configuration_id)")
	fl.StringVar(&f.claims, "claims", "", "JSON file with the citizen's claims, or - for standard input")
	fl.StringVar(&f.qrPNG, "qr-png", "", "also write the QR code as a PNG to this file")
	fl.DurationVar(&f.expiresIn, "expires-in", 0, "how long the offer can be redeemed (default: the server's, 15m)")
	return cmd
}

func issuerOffer(ctx context.Context, a *app, f *offerFlags) error {
	if f.typ == "" || f.claims == "" {
		return usagef("--type and --claims are required")
	}
	raw, err := readInput(a, f.claims)
	if err != nil {
		return err
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		return usagef("--claims: not a JSON object: %v", err)
	}
	if err := f.connect(ctx); err != nil {
		return err
	}
	var o issuer.Offer
	req := issuer.OfferRequest{Type: f.typ, Claims: claims, ExpiresIn: int(f.expiresIn / time.Second)}
	if err := f.do(ctx, http.MethodPost, f.base+"/api/offers", req, &o); err != nil {
		return err
	}
	if f.qrPNG != "" {
		png, err := qr.PNG(o.OfferURI, 480)
		if err != nil {
			return err
		}
		if err := os.WriteFile(f.qrPNG, png, 0o600); err != nil {
			return err
		}
	}
	out := struct {
		OfferURI     string    `json:"offer_uri"`
		TxCode       string    `json:"tx_code"`
		OfferID      string    `json:"offer_id"`
		CredentialID string    `json:"credential_id"`
		ExpiresAt    time.Time `json:"expires_at"`
	}{o.OfferURI, o.TxCode, o.ID, o.CredentialID, o.ExpiresAt}
	return a.printResult(out, func(w io.Writer) {
		text, err := qr.Text(o.OfferURI)
		if err == nil {
			fmt.Fprint(w, text)
		}
		fmt.Fprintf(w, "Scan with the citizen's wallet, or open:\n  %s\n", o.OfferURI)
		fmt.Fprintf(w, "PIN (tx_code), give it separately: %s\n", o.TxCode)
		fmt.Fprintf(w, "Credential id (to revoke later):   %s\n", o.CredentialID)
		fmt.Fprintf(w, "Expires: %s\n", o.ExpiresAt.Local().Format(time.RFC1123))
	})
}

func newIssuerCredentialCmd(a *app, action, short string) *cobra.Command {
	sc := &staffConn{}
	cmd := &cobra.Command{
		Use:     action + " CREDENTIAL_ID",
		Short:   short,
		Example: fmt.Sprintf("  tong issuer %s cred_AbC123 --token $TOKEN", action),
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if err := sc.connect(ctx); err != nil {
				return err
			}
			u := sc.base + "/api/credentials/" + url.PathEscape(args[0])
			if action == "show" {
				var c issuer.CredentialInfo
				if err := sc.do(ctx, http.MethodGet, u, nil, &c); err != nil {
					return err
				}
				return a.printResult(c, func(w io.Writer) {
					fmt.Fprintf(w, "%s  %s  %s  copies=%d  issued %s  expires %s\n", c.ID, c.Type, c.Status, c.Copies,
						c.IssuedAt.Format(time.DateOnly), c.ExpiresAt.Format(time.DateOnly))
				})
			}
			var out map[string]any
			if err := sc.do(ctx, http.MethodPost, u+"/"+action, nil, &out); err != nil {
				return err
			}
			return a.printResult(out, func(w io.Writer) {
				if st, ok := out["status"]; ok {
					fmt.Fprintf(w, "%s is now %v\n", args[0], st)
				} else {
					fmt.Fprintf(w, "%s approved\n", args[0])
				}
			})
		},
	}
	sc.flags(cmd)
	return cmd
}

func newIssuerAuditCmd(a *app) *cobra.Command {
	sc := &staffConn{}
	var limit int
	cmd := &cobra.Command{
		Use:     "audit",
		Short:   "Show the agency's audit log: who offered, issued, revoked, when",
		Example: "  tong issuer audit --token $TOKEN --limit 20",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if err := sc.connect(ctx); err != nil {
				return err
			}
			var out struct {
				Entries []issuer.AuditEntry `json:"entries"`
			}
			if err := sc.do(ctx, http.MethodGet, sc.base+"/api/audit?limit="+strconv.Itoa(limit), nil, &out); err != nil {
				return err
			}
			return a.printResult(out, func(w io.Writer) {
				for _, e := range out.Entries {
					fmt.Fprintf(w, "%s  %-20s %-14s %s %s\n", e.At.Local().Format(time.DateTime), e.Action, e.Actor, e.Object, e.Detail)
				}
			})
		},
	}
	sc.flags(cmd)
	cmd.Flags().IntVar(&limit, "limit", 50, "entries to show, newest first (at most 1000)")
	return cmd
}

func newIssuerTypesCmd(a *app) *cobra.Command {
	sc := &staffConn{}
	cmd := &cobra.Command{
		Use:     "types",
		Short:   "List the agency's credential types",
		Example: "  tong issuer types --token $TOKEN --json",
		Args:    cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			if err := sc.connect(ctx); err != nil {
				return err
			}
			var out struct {
				Types []*issuer.CredentialType `json:"types"`
			}
			if err := sc.do(ctx, http.MethodGet, sc.base+"/api/types", nil, &out); err != nil {
				return err
			}
			return a.printResult(out, func(w io.Writer) {
				for _, t := range out.Types {
					fmt.Fprintf(w, "%-24s %s  (%d claims, valid %d days)\n", t.ID, t.VCT, len(t.Claims), t.ValidityDays)
				}
			})
		},
	}
	sc.flags(cmd)
	return cmd
}

func newIssuerTypePutCmd(a *app) *cobra.Command {
	sc := &staffConn{}
	cmd := &cobra.Command{
		Use:   "type-put FILE.json",
		Short: "Create or replace a credential type from a JSON file",
		Long: `Type-put uploads a credential type definition (docs/api.md shows the format;
issuer/types/*.json are examples). Unknown members are refused, so a typo
does not silently drop a setting.`,
		Example: "  tong issuer type-put parking-permit.json --token $TOKEN",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			raw, err := readInput(a, args[0])
			if err != nil {
				return err
			}
			t, err := issuer.ParseType(raw)
			if err != nil {
				return usagef("%s: %v", args[0], err)
			}
			if err := sc.connect(ctx); err != nil {
				return err
			}
			var out issuer.CredentialType
			if err := sc.do(ctx, http.MethodPut, sc.base+"/api/types/"+url.PathEscape(t.ID), json.RawMessage(raw), &out); err != nil {
				return err
			}
			return a.printResult(out, func(w io.Writer) { fmt.Fprintf(w, "Saved credential type %s (%s)\n", out.ID, out.VCT) })
		},
	}
	sc.flags(cmd)
	return cmd
}

type importFlags struct {
	staffConn
	typ, out, progress string
	expiresIn          time.Duration
	workers            int
}

func newIssuerImportCmd(a *app) *cobra.Command {
	f := &importFlags{}
	cmd := &cobra.Command{
		Use:   "import FILE.csv",
		Short: "Create one offer per CSV row (bulk issuance)",
		Long: `Import reads a CSV file whose header names claims by path, with dots for
nested claims (address.locality) and | between the items of a list
(nationalities: CN|HK). Empty cells are left out. Values are converted to the
type's claim types (true/false, integers).

It writes one result row per input row, to --out or standard output:
row, offer_id, credential_id, offer_uri, tx_code, expires_at, error. The file
holds PINs: hand each to its citizen and delete the file. A progress bar goes
to standard error.`,
		Example: `  tong issuer import citizens.csv --token $TOKEN --type citizen-identity --out offers.csv --expires-in 72h`,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return issuerImport(cmd.Context(), a, f, args[0])
		},
	}
	f.flags(cmd)
	fl := cmd.Flags()
	fl.StringVar(&f.typ, "type", "", "credential type id of every row")
	fl.StringVar(&f.out, "out", "-", "where to write the results CSV (- for standard output)")
	fl.DurationVar(&f.expiresIn, "expires-in", 0, "how long each offer can be redeemed (default: the server's)")
	fl.IntVar(&f.workers, "workers", 4, "offers created at once")
	fl.StringVar(&f.progress, "progress", "auto", "progress bar: auto (when standard error is a terminal), always or never")
	return cmd
}

// MaxImportRows bounds one import.
const MaxImportRows = 100_000

func issuerImport(ctx context.Context, a *app, f *importFlags, file string) error {
	if f.typ == "" {
		return usagef("--type is required")
	}
	if f.workers < 1 || f.workers > 32 {
		return usagef("--workers must be between 1 and 32")
	}
	in, err := os.Open(file)
	if err != nil {
		return err
	}
	defer in.Close()
	rd := csv.NewReader(in)
	rd.ReuseRecord = false
	header, err := rd.Read()
	if err != nil {
		return fmt.Errorf("%s: no header row: %w", file, err)
	}
	rows, err := rd.ReadAll()
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if len(rows) > MaxImportRows {
		return usagef("%s has %d rows; split it into files of at most %d", file, len(rows), MaxImportRows)
	}
	if err := f.connect(ctx); err != nil {
		return err
	}
	var types struct {
		Types []*issuer.CredentialType `json:"types"`
	}
	if err := f.do(ctx, http.MethodGet, f.base+"/api/types", nil, &types); err != nil {
		return err
	}
	var ty *issuer.CredentialType
	for _, t := range types.Types {
		if t.ID == f.typ {
			ty = t
		}
	}
	if ty == nil {
		return usagef("the agency has no credential type %q", f.typ)
	}
	kinds := map[string]string{}
	for _, c := range ty.Claims {
		kinds[strings.Join(c.Path, ".")] = c.Type
	}
	for _, h := range header {
		if k, ok := kinds[h]; !ok || k == issuer.ClaimObject {
			return usagef("column %q is not a claim of %s", h, ty.ID)
		}
	}

	var out io.Writer = a.stdout
	if f.out != "-" {
		fo, err := os.OpenFile(f.out, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		defer fo.Close()
		out = fo
	}
	showBar := f.progress == "always"
	if f.progress == "auto" {
		if fd, ok := a.stderr.(interface{ Fd() uintptr }); ok && term.IsTerminal(int(fd.Fd())) {
			showBar = true
		}
	}
	results := make([][]string, len(rows))
	var mu sync.Mutex
	done, failed := 0, 0
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range f.workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				res := []string{strconv.Itoa(i + 2), "", "", "", "", "", ""}
				claims, err := rowClaims(header, rows[i], kinds)
				if err == nil {
					var o issuer.Offer
					err = f.do(ctx, http.MethodPost, f.base+"/api/offers", issuer.OfferRequest{Type: ty.ID, Claims: claims, ExpiresIn: int(f.expiresIn / time.Second)}, &o)
					if err == nil {
						res = []string{res[0], o.ID, o.CredentialID, o.OfferURI, o.TxCode, o.ExpiresAt.Format(time.RFC3339), ""}
					}
				}
				mu.Lock()
				if err != nil {
					res[6] = err.Error()
					failed++
				}
				results[i] = res
				done++
				if showBar {
					drawBar(a.stderr, done, len(rows), failed)
				}
				mu.Unlock()
			}
		}()
	}
	for i := range rows {
		select {
		case jobs <- i:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
	}
	close(jobs)
	wg.Wait()
	if showBar {
		fmt.Fprintln(a.stderr)
	}
	w := csv.NewWriter(out)
	_ = w.Write([]string{"row", "offer_id", "credential_id", "offer_uri", "tx_code", "expires_at", "error"})
	for _, r := range results {
		if r != nil {
			_ = w.Write(r)
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return err
	}
	fmt.Fprintf(a.stderr, "tong: %d offers created, %d rows failed\n", done-failed, failed)
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d rows failed; see the error column", failed, len(rows))
	}
	return nil
}

// rowClaims builds a claims object from one CSV row.
func rowClaims(header, row []string, kinds map[string]string) (map[string]any, error) {
	claims := map[string]any{}
	for i, h := range header {
		if i >= len(row) || row[i] == "" {
			continue
		}
		cell := row[i]
		var v any = cell
		switch kinds[h] {
		case issuer.ClaimBoolean:
			b, err := strconv.ParseBool(cell)
			if err != nil {
				return nil, fmt.Errorf("column %s: want true or false", h)
			}
			v = b
		case issuer.ClaimInteger:
			n, err := strconv.ParseInt(cell, 10, 64)
			if err != nil {
				return nil, fmt.Errorf("column %s: want an integer", h)
			}
			v = n
		case issuer.ClaimStringArray:
			var items []any
			for _, s := range strings.Split(cell, "|") {
				items = append(items, strings.TrimSpace(s))
			}
			v = items
		}
		path := strings.Split(h, ".")
		obj := claims
		for _, p := range path[:len(path)-1] {
			next, ok := obj[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				obj[p] = next
			}
			obj = next
		}
		obj[path[len(path)-1]] = v
	}
	if len(claims) == 0 {
		return nil, errors.New("row is empty")
	}
	return claims, nil
}

// drawBar redraws a one-line progress bar.
func drawBar(w io.Writer, done, total, failed int) {
	const width = 30
	filled := width * done / max(total, 1)
	fmt.Fprintf(w, "\r[%s%s] %d/%d", strings.Repeat("#", filled), strings.Repeat(" ", width-filled), done, total)
	if failed > 0 {
		fmt.Fprintf(w, " (%d failed)", failed)
	}
}
