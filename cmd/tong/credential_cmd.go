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
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/tongid/tong/credential"
	"github.com/tongid/tong/credential/vcjose"
	"github.com/tongid/tong/did"
	"github.com/tongid/tong/internal/jose"
)

func newCredentialCmd(a *app) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "credential",
		Short: "Mint and inspect credentials offline",
	}
	cmd.AddCommand(newCredentialIssueCmd(a), newCredentialInspectCmd(a))
	return cmd
}

type credentialIssueFlags struct {
	key, iss, vct, claims, holder, kid, status string
	sd                                         []string
	validity                                   time.Duration
}

func newCredentialIssueCmd(a *app) *cobra.Command {
	f := &credentialIssueFlags{}
	cmd := &cobra.Command{
		Use:   "issue --key FILE --iss ISS --vct VCT --claims FILE",
		Short: "Mint one SD-JWT VC, for tests and tooling",
		Long: `Issue signs one SD-JWT VC (typ dc+sd-jwt) with a private JWK written by
'tong key generate' and prints it, with every disclosure.

--sd names the claims the holder may withhold, as paths: members joined by
dots, array indexes as numbers, * for every element of an array. Give it
more than once, or separate paths with commas. Without --sd, every
top-level claim is selectively disclosable. A path and its parent may both
be given (recursive disclosure).

Agencies issue through the issuer service (OpenID4VCI); this command is for
tests, demos and interop checks.`,
		Example: `  tong key generate --out issuer.jwk
  tong key generate --out holder.jwk --alg Ed25519
  echo '{"given_name":"Fang","address":{"locality":"Beijing"}}' > claims.json
  tong credential issue --key issuer.jwk --iss https://tong.example/issuers/psb \
      --vct urn:tong:vct:citizen-identity:1 --claims claims.json \
      --holder-jwk holder.jwk --sd given_name,address,address.locality`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return credentialIssue(a, f)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.key, "key", "", "issuer's private JWK file (required)")
	fl.StringVar(&f.iss, "iss", "", "issuer identifier: an https URL or a DID (required)")
	fl.StringVar(&f.vct, "vct", "", "credential type (required)")
	fl.StringVar(&f.claims, "claims", "", "JSON file with the subject's claims, or - for stdin (required)")
	fl.StringVar(&f.holder, "holder-jwk", "", "JWK file of the holder's key to bind the credential to (cnf); a private JWK is reduced to its public half")
	fl.StringVar(&f.kid, "kid", "", "header kid (default: the key's thumbprint)")
	fl.StringSliceVar(&f.sd, "sd", nil, "selectively disclosable claim paths (see above)")
	fl.DurationVar(&f.validity, "validity", 365*24*time.Hour, "how long the credential is valid (exp = now + validity; 0 for no exp)")
	fl.StringVar(&f.status, "status", "", "status list entry as IDX@URI")
	return cmd
}

// parseClaimPath reads "address.locality", "nationalities.*", "a.0"
// against the claims: a number is an array index where the claim is an
// array, and a member name (age_equal_or_over.18) where it is an object.
func parseClaimPath(s string, claims map[string]any) (credential.Path, error) {
	if s == "" {
		return nil, errors.New("empty path")
	}
	var p credential.Path
	var cur any = claims
	for _, part := range strings.Split(s, ".") {
		if part == "" {
			return nil, fmt.Errorf("path %q has an empty element", s)
		}
		switch c := cur.(type) {
		case []any:
			if part == "*" {
				p = append(p, nil)
				if len(c) > 0 {
					cur = c[0]
				}
				continue
			}
			n, err := strconv.Atoi(part)
			if err != nil || n < 0 || n >= len(c) {
				return nil, fmt.Errorf("path %q: %q is not an index of the array", s, part)
			}
			p, cur = append(p, n), c[n]
		case map[string]any:
			p, cur = append(p, part), c[part]
		default:
			return nil, fmt.Errorf("path %q goes past a claim that is neither object nor array", s)
		}
	}
	return p, nil
}

func readInput(a *app, name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(io.LimitReader(a.stdin, credential.MaxTokenSize+1))
	}
	return os.ReadFile(name)
}

func credentialIssue(a *app, f *credentialIssueFlags) error {
	for flag, v := range map[string]string{"--key": f.key, "--iss": f.iss, "--vct": f.vct, "--claims": f.claims} {
		if v == "" {
			return usagef("%s is required", flag)
		}
	}
	signer, err := readPrivateJWK(f.key)
	if err != nil {
		return withHint(err, "create a key with: tong key generate --out FILE")
	}
	raw, err := readInput(a, f.claims)
	if err != nil {
		return err
	}
	claims, err := jose.ParseJSONObject(raw, credential.MaxDepth)
	if err != nil {
		return fmt.Errorf("%s: %w", f.claims, err)
	}
	vc := credential.VC{Issuer: f.iss, VCT: f.vct, KeyID: f.kid, Claims: claims, IssuedAt: time.Now()}
	if vc.KeyID == "" {
		vc.KeyID = signer.KeyID()
	}
	if f.validity > 0 {
		vc.Expiry = vc.IssuedAt.Add(f.validity)
	}
	if f.holder != "" {
		hraw, err := os.ReadFile(f.holder)
		if err != nil {
			return err
		}
		if priv, err := jose.ParsePrivateJWK(hraw); err == nil {
			vc.Holder = priv.Public()
		} else if vc.Holder, err = jose.ParsePublicJWK(hraw); err != nil {
			return fmt.Errorf("%s: %w", f.holder, err)
		}
	}
	if f.status != "" {
		idx, uri, ok := strings.Cut(f.status, "@")
		n, err := strconv.Atoi(idx)
		if !ok || err != nil || n < 0 || uri == "" {
			return usagef("--status must be IDX@URI, not %q", f.status)
		}
		vc.Status = &credential.StatusRef{Index: n, URI: uri}
	}
	if len(f.sd) == 0 {
		for k := range claims {
			vc.Disclosable = append(vc.Disclosable, credential.Path{k})
		}
	}
	for _, s := range f.sd {
		p, err := parseClaimPath(s, claims)
		if err != nil {
			return usagef("--sd: %v", err)
		}
		vc.Disclosable = append(vc.Disclosable, p)
	}
	tok, err := credential.IssueVC(signer, vc, credential.IssueOptions{})
	if err != nil {
		return err
	}
	return a.printResult(map[string]string{"credential": tok, "format": credential.TypSDJWTVC}, func(w io.Writer) {
		fmt.Fprintln(w, tok)
	})
}

type inspectFlags struct {
	issuerJWK, nonce, aud string
	allowHTTP             bool
}

func newCredentialInspectCmd(a *app) *cobra.Command {
	f := &inspectFlags{}
	cmd := &cobra.Command{
		Use:   "inspect [FILE|-]",
		Short: "Decode and verify an SD-JWT VC or a VC-JWT",
		Long: `Inspect decodes a credential or presentation (an SD-JWT VC, typ dc+sd-jwt,
or a W3C VC secured with JOSE, typ vc+jwt), verifies it, and prints its
header, its disclosed claims and the outcome of each check. It exits 1 when
any check fails.

The issuer's key comes from --issuer-jwk, or else from the issuer itself:
its /.well-known/jwt-vc-issuer metadata for an https issuer, its DID
document for a did:key, did:jwk or did:web issuer. With --nonce and --aud,
a key-binding JWT is required and must match them.`,
		Example: `  tong credential inspect --issuer-jwk issuer.jwk credential.txt
  tong credential issue ... | tong credential inspect --issuer-jwk issuer.jwk --json -
  tong credential inspect --nonce n-4Sd9 --aud decentralized_identifier:did:tong:z... presentation.txt`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			in := "-"
			if len(args) == 1 {
				in = args[0]
			}
			return credentialInspect(cmd.Context(), a, f, in)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.issuerJWK, "issuer-jwk", "", "JWK file of the issuer's key (a private JWK is reduced to its public half)")
	fl.StringVar(&f.nonce, "nonce", "", "expected key-binding nonce")
	fl.StringVar(&f.aud, "aud", "", "expected key-binding audience")
	fl.BoolVar(&f.allowHTTP, "allow-loopback-http", false, "allow http:// issuer metadata on 127.0.0.1 (the demo)")
	return cmd
}

// inspectResult is what `tong credential inspect --json` prints.
type inspectResult struct {
	Format      string           `json:"format"`
	Valid       bool             `json:"valid"`
	Header      map[string]any   `json:"header"`
	Claims      map[string]any   `json:"claims,omitempty"`
	Disclosures []inspectDisc    `json:"disclosures,omitempty"`
	Checks      []inspectCheck   `json:"checks"`
	Error       *inspectErrorOut `json:"error,omitempty"`
}

type inspectDisc struct {
	Path  credential.Path `json:"path"`
	Value any             `json:"value"`
}

type inspectCheck struct {
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	Code string `json:"code,omitempty"`
}

type inspectErrorOut struct {
	Code        string `json:"code"`
	Description string `json:"description"`
}

func credentialInspect(ctx context.Context, a *app, f *inspectFlags, in string) error {
	raw, err := readInput(a, in)
	if err != nil {
		return err
	}
	token := strings.TrimSpace(string(raw))
	if token == "" {
		return usagef("no credential in %s", in)
	}
	if (f.nonce == "") != (f.aud == "") {
		return usagef("--nonce and --aud go together")
	}
	var fixed crypto.PublicKey
	if f.issuerJWK != "" {
		kraw, err := os.ReadFile(f.issuerJWK)
		if err != nil {
			return err
		}
		if priv, err := jose.ParsePrivateJWK(kraw); err == nil {
			fixed = priv.Public()
		} else if fixed, err = jose.ParsePublicJWK(kraw); err != nil {
			return fmt.Errorf("%s: %w", f.issuerJWK, err)
		}
	}
	resolver, err := did.NewMulti(map[string]did.Resolver{
		did.MethodKey: did.KeyResolver{},
		"jwk":         did.JWKResolver{},
	})
	if err != nil {
		return err
	}
	res := inspectResult{}
	var verr error
	if strings.Contains(token, "~") {
		res.Format = credential.TypSDJWTVC
		var keys credential.IssuerKeyResolver = &credential.IssuerKeys{
			Web: &credential.JWTVCIssuerMetadata{Client: &http.Client{Timeout: 10 * time.Second}, AllowLoopbackHTTP: f.allowHTTP},
			DID: credential.DIDIssuerKeys{Resolver: resolver},
		}
		if fixed != nil {
			keys = credential.IssuerKeyFunc(func(context.Context, string, credential.Header) (crypto.PublicKey, error) { return fixed, nil })
		}
		opts := credential.VerifyOptions{}
		if f.nonce != "" {
			opts.KeyBinding = &credential.KBPolicy{Nonce: f.nonce, Audience: f.aud}
		}
		v := &credential.Verifier{Keys: keys}
		r, err := v.Verify(ctx, token, opts)
		verr = err
		res.Header = r.Header.Raw
		res.Claims = r.Claims
		if r.Claims == nil { // failed before processing: show what it claims
			if _, claims, err := credential.Inspect(token); err == nil {
				res.Claims = claims
			}
		}
		for _, d := range r.Disclosed {
			res.Disclosures = append(res.Disclosures, inspectDisc{Path: d.Path, Value: d.Value})
		}
		for _, c := range r.Checks {
			res.Checks = append(res.Checks, inspectCheck{Name: c.Name, OK: c.OK, Code: string(c.Code)})
		}
	} else {
		res.Format = vcjose.Typ
		var keys vcjose.KeyResolver = vcjose.DIDKeys{Resolver: resolver}
		if fixed != nil {
			keys = vcjose.KeyFunc(func(context.Context, string, string) (crypto.PublicKey, error) { return fixed, nil })
		}
		r, err := vcjose.Verify(ctx, token, keys, vcjose.Options{})
		verr = err
		res.Header, res.Claims = r.Header.Raw, r.Credential
		for _, c := range r.Checks {
			res.Checks = append(res.Checks, inspectCheck{Name: c.Name, OK: c.OK, Code: string(c.Code)})
		}
	}
	res.Valid = verr == nil
	if verr != nil {
		code := string(credential.CodeOf(verr))
		if code == "" {
			code = string(vcjose.CodeOf(verr))
		}
		res.Error = &inspectErrorOut{Code: code, Description: verr.Error()}
	}
	if err := a.printResult(res, func(w io.Writer) { printInspect(w, &res) }); err != nil {
		return err
	}
	if verr != nil {
		return fmt.Errorf("the credential does not verify: %w", verr)
	}
	return nil
}

func printInspect(w io.Writer, r *inspectResult) {
	fmt.Fprintf(w, "format: %s\n", r.Format)
	hdr, _ := json.Marshal(r.Header)
	fmt.Fprintf(w, "header: %s\n", hdr)
	if len(r.Claims) > 0 {
		fmt.Fprintln(w, "claims:")
		keys := make([]string, 0, len(r.Claims))
		for k := range r.Claims {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			v, _ := json.Marshal(r.Claims[k])
			fmt.Fprintf(w, "  %s: %s\n", k, v)
		}
	}
	fmt.Fprintln(w, "checks:")
	for _, c := range r.Checks {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(w, "  %s %s", mark, c.Name)
		if c.Code != "" {
			fmt.Fprintf(w, " (%s)", c.Code)
		}
		fmt.Fprintln(w)
	}
	if r.Valid {
		fmt.Fprintln(w, "result: valid")
	} else {
		fmt.Fprintln(w, "result: INVALID")
	}
}
