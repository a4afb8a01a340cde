package wallet

import (
	"context"
	"encoding/base64"
	"mime"
	"net/http"
	"regexp"
	"strings"

	"github.com/tongid/tong/credential/vciwire"
)

// Display is one locale's display metadata of an issuer or a credential
// type, from the issuer's Credential Issuer Metadata (OpenID4VCI 1.0
// §12.2.4: display, and credential_metadata.display), kept at receive
// time so the wallet shows it offline. Of the CSS colours
// BackgroundColor and TextColor the wallet keeps only hexadecimal ones
// (#rgb, #rrggbb), which are safe in a style.
type Display = vciwire.Display

// Logo is a display's logo. At receive time the wallet fetches the logo
// (at most MaxLogoSize bytes of an image type) and keeps it as a data:
// URI, so cards show offline and the app loads no image from the issuer.
type Logo = vciwire.Logo

// ClaimDisplay is what the wallet keeps of a claims description
// (OpenID4VCI 1.0 Appendix B.2: credential_metadata.claims): its path and
// display names.
type ClaimDisplay struct {
	Path    []any     `json:"path"`
	Display []Display `json:"display,omitempty"`
}

// MaxLogoSize bounds a logo the wallet keeps.
const MaxLogoSize = 64 << 10

var hexColor = regexp.MustCompile(`^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$`)

// logoTypes are the image types kept; anything else is dropped.
var logoTypes = map[string]bool{"image/png": true, "image/jpeg": true, "image/webp": true, "image/gif": true, "image/svg+xml": true}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// cleanDisplays keeps what can be shown safely: bounded text, hex
// colours, and logos that are https or image data: URIs.
func cleanDisplays(in []Display) []Display {
	var out []Display
	for _, d := range in {
		if len(out) == 16 {
			break
		}
		d.Name, d.Locale, d.Description = clip(d.Name, 200), clip(d.Locale, 35), clip(d.Description, 1000)
		if !hexColor.MatchString(d.BackgroundColor) {
			d.BackgroundColor = ""
		}
		if !hexColor.MatchString(d.TextColor) {
			d.TextColor = ""
		}
		if d.Logo != nil {
			l := *d.Logo
			l.AltText = clip(l.AltText, 200)
			if !strings.HasPrefix(l.URI, "https://") && !strings.HasPrefix(l.URI, "http://") && !isImageDataURI(l.URI) {
				l.URI = ""
			}
			d.Logo = &l
			if l.URI == "" {
				d.Logo = nil
			}
		}
		out = append(out, d)
	}
	return out
}

func isImageDataURI(s string) bool {
	if !strings.HasPrefix(s, "data:") || len(s) > MaxLogoSize*2 {
		return false
	}
	mt, _, _ := strings.Cut(strings.TrimPrefix(s, "data:"), ";")
	return logoTypes[mt] && strings.Contains(s, ";base64,")
}

func cleanClaimDisplays(in []vciwire.ClaimDescription) []ClaimDisplay {
	var out []ClaimDisplay
	for _, c := range in {
		if len(out) == 256 || len(c.Path) == 0 || len(c.Path) > 8 {
			continue
		}
		ok := true
		for _, e := range c.Path {
			switch e.(type) {
			case string, nil:
			case float64:
			default:
				ok = false
			}
		}
		if ok {
			out = append(out, ClaimDisplay{Path: c.Path, Display: cleanDisplays(c.Display)})
		}
	}
	return out
}

// pickDisplay returns the display for locale (its language, then the
// first given); locale "" prefers English.
func pickDisplay(ds []Display, locale string) Display {
	if locale == "" {
		locale = "en"
	}
	lang, _, _ := strings.Cut(locale, "-")
	for _, d := range ds {
		if strings.EqualFold(d.Locale, locale) {
			return d
		}
	}
	for _, d := range ds {
		if l, _, _ := strings.Cut(d.Locale, "-"); strings.EqualFold(l, lang) {
			return d
		}
	}
	if len(ds) > 0 {
		return ds[0]
	}
	return Display{}
}

// inlineLogos replaces each logo by a data: URI, fetching it (https, or
// loopback http when allowed) at most MaxLogoSize bytes of an image
// type. A logo that cannot be fetched is dropped: it never fails a
// receive, and no logo is ever left pointing at the network.
func (w *Wallet) inlineLogos(ctx context.Context, ds []Display) {
	for i := range ds {
		l := ds[i].Logo
		if l == nil || isImageDataURI(l.URI) {
			continue
		}
		r, err := w.do(ctx, http.MethodGet, l.URI, "", nil, map[string]string{"Accept": "image/*"})
		mt, _, _ := mime.ParseMediaType(headerOf(r, "Content-Type"))
		if err != nil || r.status != 200 || !logoTypes[mt] || len(r.body) > MaxLogoSize {
			ds[i].Logo = nil
			continue
		}
		l.URI = "data:" + mt + ";base64," + base64.StdEncoding.EncodeToString(r.body)
	}
}

func headerOf(r *response, name string) string {
	if r == nil {
		return ""
	}
	return r.header.Get(name)
}

// ClaimLabel returns a claim's display name in locale, or "" when the
// issuer gave none.
func (c *Credential) ClaimLabel(path []any, locale string) string {
	for _, cd := range c.ClaimDisplay {
		if samePath(cd.Path, path) {
			return pickDisplay(cd.Display, locale).Name
		}
	}
	return ""
}

// LocalDisplay returns the credential's display for locale.
func (c *Credential) LocalDisplay(locale string) Display { return pickDisplay(c.Display, locale) }

// samePath compares claim paths, where numbers may be int or float64.
func samePath(a, b []any) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if norm(a[i]) != norm(b[i]) {
			return false
		}
	}
	return true
}

func norm(v any) any {
	switch n := v.(type) {
	case int:
		return float64(n)
	case int64:
		return float64(n)
	}
	return v
}
