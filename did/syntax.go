package did

import (
	"net/url"
	"strings"
)

// Syntax limits. DID Core sets none; these keep parsers of untrusted input
// bounded. A did:jwk of a P-256 key is about 150 bytes; 2 KiB leaves room for
// custom JWK members without letting a DID grow without bound.
const (
	// MaxLength is the longest DID or DID URL accepted, in bytes.
	MaxLength = 2048
	// MaxMethodLength is the longest method name accepted.
	MaxMethodLength = 32
)

// DID is a decentralized identifier: "did:" method-name ":" method-specific-id
// (DID Core §3.1 DID Syntax). ID keeps percent-encoding as written, because
// DIDs compare as strings.
type DID struct {
	Method string // method-name, e.g. "key"
	ID     string // method-specific-id, e.g. "z6Mk…"
}

// String returns the DID in its only form, "did:<method>:<id>".
func (d DID) String() string { return "did:" + d.Method + ":" + d.ID }

// URL is a DID URL: did path-abempty [ "?" query ] [ "#" fragment ] (DID Core
// §3.2 DID URL Syntax). Path starts with "/" when present. Query and Fragment
// exclude their leading "?" and "#"; an empty query or fragment is rejected
// by [ParseURL], so the zero value means "absent".
type URL struct {
	DID
	Path     string
	Query    string
	Fragment string
}

// String returns the DID URL as it was parsed.
func (u URL) String() string {
	var b strings.Builder
	b.Grow(len(u.Method) + len(u.ID) + len(u.Path) + len(u.Query) + len(u.Fragment) + 7)
	b.WriteString("did:")
	b.WriteString(u.Method)
	b.WriteByte(':')
	b.WriteString(u.ID)
	b.WriteString(u.Path)
	if u.Query != "" {
		b.WriteByte('?')
		b.WriteString(u.Query)
	}
	if u.Fragment != "" {
		b.WriteByte('#')
		b.WriteString(u.Fragment)
	}
	return b.String()
}

// IsDID reports whether u has no path, query or fragment.
func (u URL) IsDID() bool { return u.Path == "" && u.Query == "" && u.Fragment == "" }

// Params returns the DID parameters of the query (DID Resolution §DID
// Parameters). A name given twice is rejected: "One reasonable approach is to
// treat such a DID URL as invalid and return an INVALID_DID_URL error"
// (DID Resolution §Duplicate Parameter Handling).
func (u URL) Params() (url.Values, error) {
	if u.Query == "" {
		return url.Values{}, nil
	}
	v, err := url.ParseQuery(u.Query)
	if err != nil {
		return nil, errorf(CodeInvalidDIDURL, "malformed query", err)
	}
	for name, vals := range v {
		if len(vals) > 1 {
			return nil, errorf(CodeInvalidDIDURL, "duplicate DID parameter "+strconvQuote(name), nil)
		}
	}
	return v, nil
}

// Parse parses a DID. It accepts exactly the did rule of DID Core §3.1:
//
//	did                = "did:" method-name ":" method-specific-id
//	method-name        = 1*method-char
//	method-char        = %x61-7A / DIGIT
//	method-specific-id = *( *idchar ":" ) 1*idchar
//	idchar             = ALPHA / DIGIT / "." / "-" / "_" / pct-encoded
//	pct-encoded        = "%" HEXDIG HEXDIG
//
// A DID URL (with path, query or fragment) is not a DID. Errors have
// CodeInvalidDID.
func Parse(s string) (DID, error) {
	d, rest, err := parseDIDPrefix(s)
	if err != nil {
		return DID{}, errorf(CodeInvalidDID, err.Error(), nil)
	}
	if rest != "" {
		return DID{}, errorf(CodeInvalidDID, "unexpected character after method-specific-id", nil)
	}
	return d, nil
}

// ParseURL parses an absolute DID URL (DID Core §3.2): a DID followed by an
// RFC 3986 path-abempty, query and fragment. Empty "?" and "#" are rejected
// so that String gives back the input. Errors have CodeInvalidDIDURL.
func ParseURL(s string) (URL, error) {
	d, rest, err := parseDIDPrefix(s)
	if err != nil {
		return URL{}, errorf(CodeInvalidDIDURL, err.Error(), nil)
	}
	u := URL{DID: d}
	if err := parseRest(&u, rest); err != nil {
		return URL{}, errorf(CodeInvalidDIDURL, err.Error(), nil)
	}
	return u, nil
}

// parseRest parses path-abempty [ "?" query ] [ "#" fragment ] into u.
func parseRest(u *URL, rest string) error {
	// path-abempty = *( "/" segment ); segment = *pchar
	i := strings.IndexAny(rest, "?#")
	path := rest
	if i >= 0 {
		path, rest = rest[:i], rest[i:]
	} else {
		rest = ""
	}
	if path != "" && path[0] != '/' {
		return syntaxError("path must start with \"/\"")
	}
	if !validChars(path, isPathChar) {
		return syntaxError("invalid character in path")
	}
	u.Path = path
	if strings.HasPrefix(rest, "?") {
		q := rest[1:]
		rest = ""
		if j := strings.IndexByte(q, '#'); j >= 0 {
			q, rest = q[:j], q[j:]
		}
		if q == "" {
			return syntaxError("empty query")
		}
		// query = *( pchar / "/" / "?" )
		if !validChars(q, isQueryChar) {
			return syntaxError("invalid character in query")
		}
		u.Query = q
	}
	if strings.HasPrefix(rest, "#") {
		f := rest[1:]
		if f == "" {
			return syntaxError("empty fragment")
		}
		// fragment = *( pchar / "/" / "?" )
		if !validChars(f, isQueryChar) {
			return syntaxError("invalid character in fragment")
		}
		u.Fragment = f
	}
	return nil
}

type syntaxError string

func (e syntaxError) Error() string { return string(e) }

// parseDIDPrefix parses the did rule at the start of s and returns the rest,
// which starts at the first character that cannot continue the
// method-specific-id.
func parseDIDPrefix(s string) (DID, string, error) {
	if len(s) > MaxLength {
		return DID{}, "", syntaxError("longer than the limit")
	}
	if !strings.HasPrefix(s, "did:") {
		return DID{}, "", syntaxError("must start with \"did:\"")
	}
	s = s[len("did:"):]
	i := 0
	for i < len(s) && (s[i] >= 'a' && s[i] <= 'z' || s[i] >= '0' && s[i] <= '9') {
		i++
	}
	if i == 0 {
		return DID{}, "", syntaxError("empty or invalid method name")
	}
	if i > MaxMethodLength {
		return DID{}, "", syntaxError("method name too long")
	}
	if i == len(s) || s[i] != ':' {
		return DID{}, "", syntaxError("method name must be lowercase letters and digits followed by \":\"")
	}
	method := s[:i]
	s = s[i+1:]
	j := 0
	for j < len(s) {
		c := s[j]
		switch {
		case isIDChar(c) || c == ':':
			j++
		case c == '%':
			if j+2 >= len(s) || !isHex(s[j+1]) || !isHex(s[j+2]) {
				return DID{}, "", syntaxError("malformed percent-encoding")
			}
			j += 3
		default:
			goto done
		}
	}
done:
	id := s[:j]
	if id == "" {
		return DID{}, "", syntaxError("empty method-specific-id")
	}
	if id[len(id)-1] == ':' {
		return DID{}, "", syntaxError("method-specific-id must not end with \":\"")
	}
	return DID{Method: method, ID: id}, s[j:], nil
}

func isIDChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '.' || c == '-' || c == '_'
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

// isPChar reports RFC 3986 pchar minus pct-encoded, which validChars handles:
// unreserved / sub-delims / ":" / "@".
func isPChar(c byte) bool {
	if isIDChar(c) || c == '~' || c == ':' || c == '@' {
		return true
	}
	return strings.IndexByte("!$&'()*+,;=", c) >= 0
}

func isPathChar(c byte) bool  { return isPChar(c) || c == '/' }
func isQueryChar(c byte) bool { return isPChar(c) || c == '/' || c == '?' }

// validChars checks s against an RFC 3986 character class plus pct-encoded.
func validChars(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' {
			if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
				return false
			}
			i += 2
			continue
		}
		if !ok(c) {
			return false
		}
	}
	return true
}

// ResolveReference resolves ref against the DID base, as DID Core §3.2.2
// Relative DID URLs asks: "the algorithm specified in RFC3986 Section 5:
// Reference Resolution MUST be used. The base URI value is the DID". An
// absolute DID URL is parsed and returned as is. A relative ref must start
// with "/", "?" or "#" (a relative path has no base path to merge with).
func ResolveReference(base DID, ref string) (URL, error) {
	if strings.HasPrefix(ref, "did:") {
		return ParseURL(ref)
	}
	if ref == "" || !strings.ContainsRune("/?#", rune(ref[0])) {
		return URL{}, errorf(CodeInvalidDIDURL, "relative DID URL must start with \"/\", \"?\" or \"#\"", nil)
	}
	if len(ref)+len(base.Method)+len(base.ID)+5 > MaxLength {
		return URL{}, errorf(CodeInvalidDIDURL, "longer than the limit", nil)
	}
	u := URL{DID: base}
	if err := parseRest(&u, ref); err != nil {
		return URL{}, errorf(CodeInvalidDIDURL, err.Error(), nil)
	}
	return u, nil
}

func strconvQuote(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return `"` + strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == '"' {
			return '?'
		}
		return r
	}, s) + `"`
}
