package web

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/tongid/tong/issuer"
	"github.com/tongid/tong/verifier"
)

// outcomeView is a verification result as a clerk reads it: one word and
// colour, the issuing agency by name, the disclosed claims with the labels
// of the credential type's display metadata, and for a failure what
// happened and what to do. Checks, codes and DIDs stay under "details".
type outcomeView struct {
	Session  *verifier.Session
	Pending  bool
	Verified bool
	Code     string // the result's code, for support
	Key      string // the explanation to show (see problems)
	Creds    []credView
	Stale    int64
}

type credView struct {
	Type, TypeZH    string
	Agency          string
	IssuerDID, VCT  string
	Claims          []claimView
	TransactionData []map[string]any
}

type claimView struct {
	Label, LabelZH string
	Value, ValueZH string
}

// outcome builds the view of a session.
func (s *Server) outcome(ctx context.Context, sess *verifier.Session) outcomeView {
	v := outcomeView{Session: sess, Pending: sess.Status == verifier.StatusPending}
	r := sess.Result
	if r == nil {
		if !v.Pending {
			v.Code, v.Key = "session_expired", "session_expired"
		}
		return v
	}
	v.Verified = r.Verdict == verifier.StatusAccepted
	v.Stale = r.StalenessSeconds
	if !v.Verified {
		v.Code = resultCode(r)
		if v.Code == "" {
			v.Code = "server_error"
		}
		v.Key = v.Code
		if v.Code == "expired" { // a check failed, so a credential's expiry
			v.Key = "credential_expired"
		}
	}
	var agencies []*issuer.Agency
	if s.cfg.Issuer != nil {
		agencies, _ = s.cfg.Issuer.Agencies(ctx)
	}
	for _, p := range r.Credentials {
		cv := credView{Type: p.VCT, IssuerDID: p.IssuerDID, VCT: p.VCT, TransactionData: p.TransactionData, Agency: issuerHost(p.Issuer)}
		var typ *issuer.CredentialType
		for _, a := range agencies {
			if a.DID != p.IssuerDID && a.IssuerURL != p.Issuer {
				continue
			}
			cv.Agency = a.Name
			if ts, err := s.cfg.Issuer.Types(ctx, a.Slug); err == nil {
				for _, t := range ts {
					if t.VCT == p.VCT {
						typ = t
					}
				}
			}
		}
		if typ == nil { // a foreign agency: the types Tong ships still name common claims
			if ts, err := issuer.DemoTypes(); err == nil {
				for _, t := range ts {
					if t.VCT == p.VCT {
						typ = t
					}
				}
			}
		}
		if typ != nil {
			cv.Type, cv.TypeZH = displayNames(typ.Display)
		}
		walkClaims(nil, p.Claims, func(path []string, val any) {
			c := claimView{Label: strings.Join(path, "."), Value: fmt.Sprint(val)}
			if typ != nil {
				for _, d := range typ.Claims {
					if slices.Equal(d.Path, path) {
						if en, zh := displayNames(d.Display); en != "" {
							c.Label, c.LabelZH = en, zh
						}
					}
				}
			}
			c.Value, c.ValueZH = claimValue(val)
			cv.Claims = append(cv.Claims, c)
		})
		v.Creds = append(v.Creds, cv)
	}
	return v
}

func displayNames(ds []issuer.Display) (en, zh string) {
	for _, d := range ds {
		switch {
		case strings.HasPrefix(d.Locale, "zh"):
			zh = d.Name
		case en == "" || strings.HasPrefix(d.Locale, "en"):
			en = d.Name
		}
	}
	return en, zh
}

// walkClaims visits the leaves of a claims object in path order.
func walkClaims(prefix []string, v any, fn func(path []string, val any)) {
	m, ok := v.(map[string]any)
	if !ok {
		fn(prefix, v)
		return
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		walkClaims(append(slices.Clone(prefix), k), m[k], fn)
	}
}

func claimValue(v any) (en, zh string) {
	switch x := v.(type) {
	case bool:
		if x {
			return "yes", "是"
		}
		return "no", "否"
	case []any:
		var parts []string
		for _, e := range x {
			parts = append(parts, fmt.Sprint(e))
		}
		return strings.Join(parts, ", "), ""
	case string:
		if strings.HasPrefix(x, "data:image/") {
			return "(picture)", "（照片）"
		}
		return x, ""
	}
	return fmt.Sprint(v), ""
}

func issuerHost(iss string) string {
	if u, err := url.Parse(iss); err == nil && u.Host != "" {
		return u.Host
	}
	return iss
}
