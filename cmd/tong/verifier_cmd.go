package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tongid/tong/internal/qr"
	"github.com/tongid/tong/verifier"
)

// counterConn are the flags of the counter commands.
type counterConn struct{ server, token string }

func (cc *counterConn) flags(cmd *cobra.Command) {
	cmd.Flags().StringVar(&cc.server, "server", "http://127.0.0.1:8080", "Tong server URL")
	cmd.Flags().StringVar(&cc.token, "token", "", "the counter's API token (demo tokens are in DATA/demo.json)")
}

func (cc *counterConn) do(ctx context.Context, method, path string, body, out any) error {
	if cc.token == "" {
		return usagef("--token (or TONG_TOKEN) is required")
	}
	err := callAPI(ctx, "verifier", method, strings.TrimSuffix(cc.server, "/")+path, cc.token, body, out)
	if ae := (*apiError)(nil); errors.As(err, &ae) && ae.Status == http.StatusUnauthorized {
		return withHint(err, "check --token (TONG_TOKEN); demo counter tokens are in DATA/demo.json")
	}
	return err
}

func newVerifierCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verifier",
		Short: "Ask a citizen to prove something at a counter, and see the result",
		Example: `  tong verifier request --token $TOKEN --purpose identity-basic
  tong verifier result SESSION_ID --wait`,
	}
	cmd.AddCommand(newVerifierRequestCmd(a), newVerifierResultCmd(a))
	return cmd
}

func newVerifierRequestCmd(a *app) *cobra.Command {
	cc := &counterConn{}
	var purpose, txFile, prefix, mode string
	cmd := &cobra.Command{
		Use:   "request",
		Short: "Start a verification: prints the QR code the citizen scans",
		Long: `Request creates a verification session for a purpose (identity-basic,
pay-fee, meeting-booking, meeting-checkin) and prints the openid4vp:// URI as
a QR code. For pay-fee, --transaction-data names a JSON file with amount,
currency, payee and order_id; the citizen's wallet signs it.

--client-id-prefix x509_hash and --response-mode direct_post.jwt make a
request of the High Assurance Interoperability Profile (HAIP 1.0): signed
with the organisation's certificate from the city CA (tong admin ca issue),
answered with a response encrypted to a key of this session.`,
		Example: `  tong verifier request --token $TOKEN --purpose identity-basic
  tong verifier request --token $TOKEN --purpose pay-fee --transaction-data order.json --json
  tong verifier request --token $TOKEN --purpose identity-basic --client-id-prefix x509_hash --response-mode direct_post.jwt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if purpose == "" {
				return usagef("--purpose is required")
			}
			nr := verifier.NewRequest{Purpose: purpose, ClientIDPrefix: prefix, ResponseMode: mode}
			if txFile != "" {
				raw, err := readInput(a, txFile)
				if err != nil {
					return err
				}
				if err := json.Unmarshal(raw, &nr.TransactionData); err != nil {
					return usagef("--transaction-data: not a JSON object: %v", err)
				}
			}
			var s verifier.Session
			if err := cc.do(cmd.Context(), http.MethodPost, "/verifier/sessions", nr, &s); err != nil {
				return err
			}
			out := map[string]string{"request_uri": s.RequestURI, "session_id": s.ID}
			return a.printResult(out, func(w io.Writer) {
				if text, err := qr.Text(s.RequestURI); err == nil {
					fmt.Fprint(w, text)
				}
				fmt.Fprintf(w, "Ask the citizen to scan this with their wallet, or open:\n  %s\n", s.RequestURI)
				fmt.Fprintf(w, "Session: %s (expires %s)\n", s.ID, s.ExpiresAt.Local().Format(time.TimeOnly))
				fmt.Fprintf(w, "Then: tong verifier result %s --wait\n", s.ID)
			})
		},
	}
	cc.flags(cmd)
	cmd.Flags().StringVar(&purpose, "purpose", "", "what to check: identity-basic, pay-fee, meeting-booking, meeting-checkin")
	cmd.Flags().StringVar(&txFile, "transaction-data", "", "JSON file with the payment to sign (pay-fee), or - for standard input")
	cmd.Flags().StringVar(&prefix, "client-id-prefix", "", "decentralized_identifier (the default) or x509_hash (HAIP)")
	cmd.Flags().StringVar(&mode, "response-mode", "", "direct_post (the default) or direct_post.jwt (HAIP: an encrypted response)")
	return cmd
}

func newVerifierResultCmd(a *app) *cobra.Command {
	cc := &counterConn{}
	var wait bool
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:     "result SESSION_ID",
		Short:   "Show a verification's verdict, each check, and the verified claims",
		Example: "  tong verifier result 3kq... --wait --json",
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := "/verifier/sessions/" + url.PathEscape(args[0])
			if wait {
				path += "?wait=" + timeout.String()
			}
			var s verifier.Session
			if err := cc.do(cmd.Context(), http.MethodGet, path, nil, &s); err != nil {
				return err
			}
			if err := a.printResult(s, func(w io.Writer) { printSession(w, &s) }); err != nil {
				return err
			}
			if s.Status == verifier.StatusRejected {
				return fmt.Errorf("rejected: %s", s.Result.Code)
			}
			return nil
		},
	}
	cc.flags(cmd)
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for the citizen's answer")
	cmd.Flags().DurationVar(&timeout, "timeout", 2*time.Minute, "how long --wait waits (at most 5m)")
	return cmd
}

func printSession(w io.Writer, s *verifier.Session) {
	fmt.Fprintf(w, "Session %s (%s): %s\n", s.ID, s.Purpose, strings.ToUpper(s.Status))
	r := s.Result
	if r == nil {
		return
	}
	if r.Code != "" {
		fmt.Fprintf(w, "  reason: %s: %s\n", r.Code, r.Description)
	}
	for _, c := range r.Checks {
		mark := "ok"
		if !c.OK {
			mark = "FAILED " + string(c.Code)
		}
		fmt.Fprintf(w, "  check %-16s %s\n", c.Name, mark)
	}
	for _, p := range r.Credentials {
		b, _ := json.Marshal(p.Claims)
		fmt.Fprintf(w, "  %s from %s: %s\n", p.VCT, p.IssuerDID, b)
		for _, td := range p.TransactionData {
			tb, _ := json.Marshal(td)
			fmt.Fprintf(w, "  signed: %s\n", tb)
		}
	}
	if r.StalenessSeconds > 0 {
		fmt.Fprintf(w, "  (offline: trust data was %ds stale)\n", r.StalenessSeconds)
	}
}
