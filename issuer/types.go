package issuer

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/tongid/tong/credential"
	"github.com/tongid/tong/internal/text"
)

// Claim types a credential type may declare.
const (
	ClaimString      = "string"
	ClaimDate        = "date" // ISO 8601 full-date, YYYY-MM-DD
	ClaimBoolean     = "boolean"
	ClaimInteger     = "integer"
	ClaimObject      = "object"
	ClaimStringArray = "string_array"
	ClaimImage       = "image" // a data: URL (image/jpeg or image/png)
)

// Limits on what a credential type and its claims may hold.
const (
	MaxClaims       = 64
	MaxStringLength = 512
	MaxImageLength  = 256 << 10
	MaxArrayLength  = 16
	MaxValidity     = 10 * 365 * 24 * time.Hour
)

// Display is a name shown to people, in one locale (BCP 47).
type Display struct {
	Name        string `json:"name"`
	Locale      string `json:"locale,omitempty"`
	Description string `json:"description,omitempty"`
}

// ClaimDef declares one claim of a credential type. Path names it as in
// OpenID4VCI claims description (App. B.2): object member names from the
// top. A nested claim needs its parent declared as an object.
type ClaimDef struct {
	Path      []string `json:"path"`
	Type      string   `json:"type"`
	Mandatory bool     `json:"mandatory,omitempty"`
	// SD is whether the holder may withhold the claim (selective
	// disclosure); nil means true.
	SD      *bool     `json:"sd,omitempty"`
	Display []Display `json:"display,omitempty"`
}

// Disclosable reports whether the holder may withhold the claim.
func (c ClaimDef) Disclosable() bool { return c.SD == nil || *c.SD }

// CredentialType is a kind of credential an agency issues.
type CredentialType struct {
	// ID is the OpenID4VCI credential_configuration_id.
	ID      string     `json:"id"`
	VCT     string     `json:"vct"`
	Display []Display  `json:"display"`
	Claims  []ClaimDef `json:"claims"`
	// ValidityDays is how long an issued credential is valid (exp).
	ValidityDays int `json:"validity_days"`
	// Deferred makes issuance wait for an officer's approval (the
	// OpenID4VCI deferred flow).
	Deferred bool `json:"deferred,omitempty"`
	// ExampleClaims is a claims object the type accepts (demo, docs).
	ExampleClaims map[string]any `json:"example_claims,omitempty"`
}

var typeID = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,63}$`)

// registered are JWT and SD-JWT VC claim names a type may not declare.
var registered = map[string]bool{
	"iss": true, "sub": true, "aud": true, "exp": true, "nbf": true, "iat": true, "jti": true,
	"vct": true, "vct#integrity": true, "cnf": true, "status": true, "_sd": true, "_sd_alg": true, "...": true,
}

// Validity is the credential lifetime.
func (t *CredentialType) Validity() time.Duration {
	return time.Duration(t.ValidityDays) * 24 * time.Hour
}

// Validate checks a type definition.
func (t *CredentialType) Validate() error {
	bad := func(format string, args ...any) error {
		return errorf(CodeInvalidType, "credential type %q: "+format, append([]any{t.ID}, args...)...)
	}
	if !typeID.MatchString(t.ID) {
		return bad("id must match %s", typeID)
	}
	if t.VCT == "" || len(t.VCT) > 256 || strings.ContainsAny(t.VCT, " \t\r\n") {
		return bad("vct must be a URI of at most 256 characters")
	}
	if len(t.Display) == 0 {
		return bad("needs at least one display name")
	}
	for _, d := range t.Display {
		if d.Name == "" {
			return bad("display name is empty")
		}
		if err := text.Names("display name", d.Name, d.Locale, d.Description); err != nil {
			return err
		}
	}
	if t.ValidityDays <= 0 || t.Validity() > MaxValidity {
		return bad("validity_days must be between 1 and %d", int(MaxValidity/(24*time.Hour)))
	}
	if len(t.Claims) == 0 || len(t.Claims) > MaxClaims {
		return bad("must declare between 1 and %d claims", MaxClaims)
	}
	seen := map[string]ClaimDef{}
	for _, c := range t.Claims {
		if len(c.Path) == 0 || len(c.Path) > 4 {
			return bad("claim path must have 1 to 4 names")
		}
		for _, p := range c.Path {
			if p == "" || len(p) > 64 {
				return bad("claim path %v: names must have 1 to 64 characters", c.Path)
			}
		}
		if err := text.Names("claim name", c.Path...); err != nil {
			return err
		}
		for _, d := range c.Display {
			if err := text.Names("claim display name", d.Name, d.Locale, d.Description); err != nil {
				return err
			}
		}
		if registered[c.Path[0]] {
			return bad("claim %q is a registered claim name", c.Path[0])
		}
		switch c.Type {
		case ClaimString, ClaimDate, ClaimBoolean, ClaimInteger, ClaimObject, ClaimStringArray, ClaimImage:
		default:
			return bad("claim %v: unknown type %q", c.Path, c.Type)
		}
		key := strings.Join(c.Path, "\x00")
		if _, dup := seen[key]; dup {
			return bad("claim %v declared twice", c.Path)
		}
		if len(c.Path) > 1 {
			parent, ok := seen[strings.Join(c.Path[:len(c.Path)-1], "\x00")]
			if !ok || parent.Type != ClaimObject {
				return bad("claim %v: declare its parent as an object first", c.Path)
			}
		}
		seen[key] = c
	}
	if t.ExampleClaims != nil {
		if err := t.ValidateClaims(t.ExampleClaims); err != nil {
			return bad("example_claims: %v", err)
		}
	}
	return nil
}

// ValidateClaims checks a citizen's claims against the type: every
// mandatory claim present, every present claim declared and of its type.
// Errors name the claim's path, never its value.
func (t *CredentialType) ValidateClaims(claims map[string]any) error {
	if claims == nil {
		return errorf(CodeInvalidClaims, "claims must be an object")
	}
	defs := map[string]ClaimDef{}
	for _, c := range t.Claims {
		defs[strings.Join(c.Path, "\x00")] = c
	}
	var walk func(prefix []string, obj map[string]any) error
	walk = func(prefix []string, obj map[string]any) error {
		for name, v := range obj {
			path := append(append([]string{}, prefix...), name)
			def, ok := defs[strings.Join(path, "\x00")]
			if !ok {
				return errorf(CodeInvalidClaims, "claim %s is not part of type %s", strings.Join(path, "."), t.ID)
			}
			if err := checkValue(def, v); err != nil {
				return err
			}
			if def.Type == ClaimObject {
				if err := walk(path, v.(map[string]any)); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if err := walk(nil, claims); err != nil {
		return err
	}
	for _, c := range t.Claims {
		if !c.Mandatory {
			continue
		}
		if _, ok := lookup(claims, c.Path); !ok {
			return errorf(CodeInvalidClaims, "claim %s is required by type %s", strings.Join(c.Path, "."), t.ID)
		}
	}
	return nil
}

func checkValue(def ClaimDef, v any) error {
	name := strings.Join(def.Path, ".")
	wrong := func(want string) error {
		return errorf(CodeInvalidClaims, "claim %s must be %s", name, want)
	}
	switch def.Type {
	case ClaimString:
		s, ok := v.(string)
		if !ok || s == "" || len(s) > MaxStringLength || !utf8.ValidString(s) {
			return wrong(fmt.Sprintf("a non-empty string of at most %d bytes", MaxStringLength))
		}
	case ClaimDate:
		s, ok := v.(string)
		if !ok {
			return wrong("a date (YYYY-MM-DD)")
		}
		if _, err := time.Parse(time.DateOnly, s); err != nil {
			return wrong("a date (YYYY-MM-DD)")
		}
	case ClaimBoolean:
		if _, ok := v.(bool); !ok {
			return wrong("true or false")
		}
	case ClaimInteger:
		switch n := v.(type) {
		case float64:
			if n != float64(int64(n)) {
				return wrong("an integer")
			}
		case json.Number:
			if _, err := n.Int64(); err != nil {
				return wrong("an integer")
			}
		case int, int64:
		default:
			return wrong("an integer")
		}
	case ClaimObject:
		if _, ok := v.(map[string]any); !ok {
			return wrong("an object")
		}
	case ClaimStringArray:
		arr, ok := v.([]any)
		if !ok || len(arr) == 0 || len(arr) > MaxArrayLength {
			return wrong(fmt.Sprintf("an array of 1 to %d strings", MaxArrayLength))
		}
		for _, e := range arr {
			if s, ok := e.(string); !ok || s == "" || len(s) > MaxStringLength {
				return wrong("an array of non-empty strings")
			}
		}
	case ClaimImage:
		s, ok := v.(string)
		if !ok || len(s) > MaxImageLength ||
			!(strings.HasPrefix(s, "data:image/jpeg;base64,") || strings.HasPrefix(s, "data:image/png;base64,")) {
			return wrong(fmt.Sprintf("a data:image/jpeg or data:image/png base64 URL of at most %d bytes", MaxImageLength))
		}
	}
	return nil
}

func lookup(obj map[string]any, path []string) (any, bool) {
	var cur any = obj
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[p]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// disclosable lists the selectively disclosable claims present in claims.
func (t *CredentialType) disclosable(claims map[string]any) []credential.Path {
	var out []credential.Path
	for _, c := range t.Claims {
		if !c.Disclosable() {
			continue
		}
		if _, ok := lookup(claims, c.Path); !ok {
			continue
		}
		p := make(credential.Path, len(c.Path))
		for i, s := range c.Path {
			p[i] = s
		}
		out = append(out, p)
	}
	return out
}

//go:embed types/*.json
var demoTypes embed.FS

// DemoTypes returns the credential types the demo agencies issue, by
// file name: citizen-identity, beijing-residence, government-official.
func DemoTypes() (map[string]*CredentialType, error) {
	out := map[string]*CredentialType{}
	entries, err := fs.ReadDir(demoTypes, "types")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		raw, err := demoTypes.ReadFile("types/" + e.Name())
		if err != nil {
			return nil, err
		}
		t, err := ParseType(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", e.Name(), err)
		}
		out[t.ID] = t
	}
	return out, nil
}

// ParseType decodes and validates a credential type definition (JSON).
// Unknown members are refused, so a typo does not silently drop a setting.
func ParseType(raw []byte) (*CredentialType, error) {
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	var t CredentialType
	if err := dec.Decode(&t); err != nil {
		return nil, &Error{Code: CodeInvalidType, Description: "credential type is not valid JSON: " + err.Error()}
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return &t, nil
}
