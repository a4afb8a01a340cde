package credential

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"slices"
	"strings"

	"github.com/tongid/tong/credential/dcql"
	"github.com/tongid/tong/internal/jose"
)

// Limits on untrusted input.
const (
	// MaxTokenSize bounds a whole SD-JWT presentation.
	MaxTokenSize = 1 << 20
	// MaxDepth bounds JSON nesting in payloads and disclosures.
	MaxDepth = 32
	// MaxDisclosures bounds the disclosures in one SD-JWT.
	MaxDisclosures = 1024
)

// HashAlg is the only _sd_alg Tong issues and accepts (RFC 9901 §4.1.1).
const HashAlg = "sha-256"

// saltBytes is the salt size: RFC 9901 §9.3 "it is RECOMMENDED to base64url
// encode at least 128 bits of cryptographically secure random data".
const saltBytes = 16

// Path is a claim path: object member names (string), array indexes (int)
// and, where a path selects rather than names, nil for "every element",
// as in OpenID4VP 1.0 §7 (claims path pointers).
type Path []any

func (p Path) String() string {
	b, _ := json.Marshal([]any(p))
	return string(b)
}

// matches says whether pattern p (which may hold nil wildcards) selects
// the concrete path c.
func (p Path) matches(c Path) bool {
	if len(p) != len(c) {
		return false
	}
	for i := range p {
		if p[i] == nil {
			if _, ok := c[i].(int); !ok {
				return false
			}
			continue
		}
		if !pathElemEqual(p[i], c[i]) {
			return false
		}
	}
	return true
}

// prefixOf says whether p (possibly with wildcards) is a prefix of c.
func (p Path) prefixOf(c Path) bool {
	return len(p) <= len(c) && p.matches(c[:len(p)])
}

func pathElemEqual(a, b any) bool {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		return ok && x == y
	case int:
		y, ok := b.(int)
		return ok && x == y
	case float64: // paths decoded from JSON
		y, ok := b.(int)
		return ok && float64(y) == x
	}
	return false
}

// Disclosure is one SD-JWT disclosure: [salt, name, value] for an object
// property, [salt, value] for an array element (RFC 9901 §4.2).
type Disclosure struct {
	// Encoded is the base64url form exactly as it appears in the SD-JWT;
	// the digest is computed over it.
	Encoded string
	Salt    string
	// Name is the claim name; empty for an array element.
	Name  string
	Value any
	// Path is where the disclosed value sits in the processed claims; set
	// by processing.
	Path Path

	digest string
	array  bool
}

// IsArrayElement says whether d discloses an array element.
func (d *Disclosure) IsArrayElement() bool { return d.array }

// Digest is base64url(SHA-256(Encoded)) (RFC 9901 §4.2.3).
func (d *Disclosure) Digest() string { return d.digest }

func digestOf(encoded string) string {
	d := digestOfString(encoded)
	return string(d[:])
}

// digestOfString is digestOfBytes for a string, without copying it.
func digestOfString(s string) digest {
	var d digest
	sum := jose.SHA256String(s)
	base64.RawURLEncoding.Encode(d[:], sum[:])
	return d
}

// parseDisclosure decodes one disclosure strictly.
func parseDisclosure(enc string) (*Disclosure, error) {
	raw, err := jose.DecodeSegment(enc)
	if err != nil || len(raw) == 0 {
		return nil, errf(CodeMalformed, "disclosure is not base64url")
	}
	v, err := jose.ParseJSON(raw, MaxDepth)
	if err != nil {
		return nil, jsonErr("disclosure", err)
	}
	arr, ok := v.([]any)
	if !ok {
		return nil, errf(CodeMalformed, "disclosure is not a JSON array")
	}
	d := &Disclosure{Encoded: enc, digest: digestOf(enc)}
	switch len(arr) {
	case 2:
		d.array = true
		d.Value = arr[1]
	case 3:
		if d.Name, ok = arr[1].(string); !ok {
			return nil, errf(CodeMalformed, "disclosure claim name is not a string")
		}
		// Spec: RFC 9901 §7.1 step 3.2.2.2: "If the claim name is _sd or
		// ..., the SD-JWT MUST be rejected."
		if d.Name == "_sd" || d.Name == "..." {
			return nil, errf(CodeReservedClaimName, "disclosure uses the reserved claim name %q", d.Name)
		}
		d.Value = arr[2]
	default:
		return nil, errf(CodeMalformed, "disclosure has %d elements, want 2 or 3", len(arr))
	}
	if d.Salt, ok = arr[0].(string); !ok {
		return nil, errf(CodeMalformed, "disclosure salt is not a string")
	}
	return d, nil
}

func unmarshalValue(raw []byte, v *any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return errf(CodeBadJSON, "invalid JSON value")
	}
	return nil
}

func jsonErr(what string, err error) *Error {
	if jose.IsTooDeep(err) {
		return &Error{Code: CodeTooDeep, Description: what + ": " + err.Error(), Err: err}
	}
	return &Error{Code: CodeBadJSON, Description: what + ": " + err.Error(), Err: err}
}

// SDJWT is a parsed SD-JWT: the issuer-signed JWT, the disclosures in the
// order presented, and the key-binding JWT if there is one. Parsing checks
// the syntax only; signatures are checked by [Verifier].
type SDJWT struct {
	// JWT is the issuer-signed JWT, compact.
	JWT         string
	Disclosures []*Disclosure
	// KBJWT is the key-binding JWT, or "".
	KBJWT string

	jws     *jose.JWS
	payload map[string]any // as signed, with _sd and digests
	raw     string         // JWT~D1~...~Dn~ as parsed, or "" when built
}

// Parse splits and decodes an SD-JWT or SD-JWT+KB (RFC 9901 §4). It
// checks the size and syntax, the header's algorithm, that the payload and
// every disclosure are strict JSON within the depth limit, and that no
// disclosure appears twice.
func Parse(s string) (*SDJWT, error) {
	if len(s) > MaxTokenSize {
		return nil, errf(CodeTooLarge, "SD-JWT is %d bytes, limit %d", len(s), MaxTokenSize)
	}
	parts := strings.Split(s, "~")
	if len(parts) < 2 {
		return nil, errf(CodeMalformed, "no ~ separator: not an SD-JWT")
	}
	if len(parts)-2 > MaxDisclosures {
		return nil, errf(CodeTooLarge, "more than %d disclosures", MaxDisclosures)
	}
	t := &SDJWT{JWT: parts[0], KBJWT: parts[len(parts)-1]}
	jws, err := jose.Parse(parts[0], MaxTokenSize)
	if err != nil {
		return nil, fromJOSE(err, false)
	}
	t.jws = jws
	// Room for every disclosure at the top, where most land: Verify adds
	// them to this map instead of copying it.
	if t.payload, err = jose.ParseJSONObjectRoom(jws.Payload, MaxDepth, len(parts)-2); err != nil {
		return nil, jsonErr("payload", err)
	}
	t.raw = s[:len(s)-len(t.KBJWT)]
	t.Disclosures = make([]*Disclosure, 0, len(parts)-2)
	for _, enc := range parts[1 : len(parts)-1] {
		if enc == "" {
			return nil, errf(CodeMalformed, "empty disclosure")
		}
		d, err := parseDisclosure(enc)
		if err != nil {
			return nil, err
		}
		t.Disclosures = append(t.Disclosures, d)
	}
	return t, nil
}

// Header is the issuer JWT's protected header.
func (t *SDJWT) Header() Header { return headerOf(t.jws) }

// Payload returns the issuer-signed payload as signed (with _sd arrays and
// digests), decoded. Callers must not modify it.
func (t *SDJWT) Payload() map[string]any { return t.payload }

// String serializes t: JWT~D1~...~Dn~[KB-JWT].
func (t *SDJWT) String() string {
	return t.presented() + t.KBJWT
}

// presented is the part the KB-JWT's sd_hash covers: JWT~D1~...~Dn~.
func (t *SDJWT) presented() string {
	if t.raw != "" {
		return t.raw
	}
	var b strings.Builder
	b.WriteString(t.JWT)
	b.WriteByte('~')
	for _, d := range t.Disclosures {
		b.WriteString(d.Encoded)
		b.WriteByte('~')
	}
	return b.String()
}

// Process replaces digests with the disclosed values (RFC 9901 §7.1 steps
// 3–5) and returns the processed claims. Each disclosure's Path is set. It
// refuses duplicate digests, unreferenced disclosures, disclosures that
// would overwrite a claim, and disclosures of the wrong shape for where
// their digest sits. The signed payload is left as it was.
func (t *SDJWT) Process() (map[string]any, error) { return t.process(false) }

// process is Process; with own, the payload's maps and arrays become the
// processed claims in place instead of being copied (Verify's parse is its
// own). Disclosed values are always copied: Disclosure.Value stays as
// disclosed.
func (t *SDJWT) process(own bool) (map[string]any, error) {
	if alg, ok := t.payload["_sd_alg"]; ok && alg != HashAlg {
		return nil, errf(CodeHashAlg, "_sd_alg %v is not supported (want sha-256)", alg)
	}
	p := processor{disclosures: t.Disclosures, used: make([]bool, len(t.Disclosures)), unmatched: make([]string, 0, 16)}
	if len(t.Disclosures) > linearLookup {
		p.byDigest = make(map[string]int, len(t.Disclosures))
	}
	for i, d := range t.Disclosures {
		d.Path = nil
		// Spec: RFC 9901 §7.1 step 4: "If any Disclosure was not
		// referenced ... or the same Disclosure appears more than once,
		// the SD-JWT MUST be rejected." Equal disclosures have equal
		// digests, so this catches both.
		if p.lookup(d.digest) >= 0 {
			return nil, errf(CodeDuplicateDisclosure, "a disclosure appears twice")
		}
		if p.byDigest != nil {
			p.byDigest[d.digest] = i
		}
		p.known = i + 1
	}
	out, err := p.object(t.payload, make([]at, 0, 8), 0, own)
	if err != nil {
		return nil, err
	}
	// Digests that matched no disclosure (decoys and withheld claims)
	// must not repeat either; disclosed ones were checked as they were
	// used.
	slices.Sort(p.unmatched)
	for i := 1; i < len(p.unmatched); i++ {
		if p.unmatched[i] == p.unmatched[i-1] {
			return nil, errf(CodeDuplicateDigest, "digest %s appears twice", p.unmatched[i])
		}
	}
	delete(out, "_sd_alg")
	for _, used := range p.used {
		if !used {
			return nil, errf(CodeUnreferencedDisclosure, "a disclosure is not referenced by any digest")
		}
	}
	return out, nil
}

// linearLookup is the number of disclosures up to which finding one by
// digest scans them: a presentation discloses a handful, and a scan of a
// few strings costs less than building a map.
const linearLookup = 8

// pathWith is path, then last, as a Path of its own.
func pathWith(path []at, last any) Path {
	p := make(Path, len(path)+1)
	for i, a := range path {
		p[i] = a.elem()
	}
	p[len(path)] = last
	return p
}

type processor struct {
	disclosures []*Disclosure
	known       int            // disclosures[:known] can be looked up
	byDigest    map[string]int // index by digest, past linearLookup
	used        []bool         // by index
	unmatched   []string       // digests that matched no disclosure
}

// lookup returns the index of the disclosure with digest, or -1.
func (p *processor) lookup(digest string) int {
	if p.byDigest != nil {
		if i, ok := p.byDigest[digest]; ok {
			return i
		}
		return -1
	}
	for i, d := range p.disclosures[:p.known] {
		if d.digest == digest {
			return i
		}
	}
	return -1
}

func (p *processor) use(digest string) (*Disclosure, error) {
	// Spec: RFC 9901 §7.1 step 3.5: "If any digest value is encountered
	// more than once in the Issuer-signed JWT payload (directly or
	// recursively via other Disclosures), the SD-JWT MUST be rejected."
	i := p.lookup(digest)
	if i < 0 {
		p.unmatched = append(p.unmatched, digest)
		return nil, nil
	}
	if p.used[i] {
		return nil, errf(CodeDuplicateDigest, "digest %s appears twice", digest)
	}
	p.used[i] = true
	return p.disclosures[i], nil
}

// value processes v at path. Paths passed down share one backing array
// (a child's append overwrites its sibling's last element), so only a
// copy may be kept; they are []at, not Path, because boxing each member
// name into an any allocates, and only a disclosure's own Path needs it.
// With own, v is changed in place.
func (p *processor) value(v any, path []at, depth int, own bool) (any, error) {
	if depth > MaxDepth {
		return nil, errf(CodeTooDeep, "claims nested deeper than %d", MaxDepth)
	}
	switch x := v.(type) {
	case map[string]any:
		return p.object(x, path, depth, own)
	case []any:
		return p.array(x, path, depth, own)
	}
	return v, nil
}

func (p *processor) object(obj map[string]any, path []at, depth int, own bool) (map[string]any, error) {
	// The disclosures this object's _sd references come first, so that
	// the output map is made at its final size.
	var found [8]*Disclosure
	disclosed := found[:0]
	sd, hasSD := obj["_sd"]
	if hasSD {
		digests, ok := sd.([]any)
		if !ok {
			return nil, errf(CodeMalformed, "_sd is not an array")
		}
		for _, dv := range digests {
			digest, ok := dv.(string)
			if !ok {
				return nil, errf(CodeMalformed, "_sd holds a non-string")
			}
			d, err := p.use(digest)
			if err != nil {
				return nil, err
			}
			if d == nil {
				continue // a decoy, or a disclosure the holder withheld
			}
			if d.array {
				return nil, errf(CodeDisclosureShape, "array-element disclosure referenced from _sd")
			}
			disclosed = append(disclosed, d)
		}
	}
	// In place only when nothing is added, or at the top, whose map Parse
	// made with room for every disclosure: a map grown past its size
	// costs more than a new one.
	inPlace := own && (!hasSD || depth == 0)
	out := obj
	if !inPlace {
		out = make(map[string]any, len(obj)+len(disclosed))
	}
	for k, v := range obj {
		if k == "_sd" {
			continue
		}
		switch v.(type) {
		case map[string]any, []any:
			pv, err := p.value(v, append(path, at{k, -1}), depth+1, own)
			if err != nil {
				return nil, err
			}
			out[k] = pv // in place, a member that exists: allowed while ranging
		default: // a scalar needs no path: skip building one
			if depth+1 > MaxDepth {
				return nil, errf(CodeTooDeep, "claims nested deeper than %d", MaxDepth)
			}
			if !inPlace {
				out[k] = v
			}
		}
	}
	if inPlace && hasSD {
		delete(out, "_sd")
	}
	for _, d := range disclosed {
		// Spec: RFC 9901 §7.1 step 3.2.2.3: "If the claim name already
		// exists at the level of the _sd key, the SD-JWT MUST be rejected."
		if _, exists := out[d.Name]; exists {
			return nil, errf(CodeClaimExists, "disclosure for %q overwrites a claim", d.Name)
		}
		d.Path = pathWith(path, d.Name)
		pv, err := p.value(d.Value, append(path, at{d.Name, -1}), depth+1, false)
		if err != nil {
			return nil, err
		}
		out[d.Name] = pv
	}
	return out, nil
}

func (p *processor) array(arr []any, path []at, depth int, own bool) ([]any, error) {
	out := arr[:0] // in place: out never passes the element being read
	if !own {
		out = make([]any, 0, len(arr))
	}
	for _, el := range arr {
		if m, ok := el.(map[string]any); ok && len(m) == 1 {
			if dv, ok := m["..."]; ok {
				digest, ok := dv.(string)
				if !ok {
					return nil, errf(CodeMalformed, `"..." holds a non-string`)
				}
				d, err := p.use(digest)
				if err != nil {
					return nil, err
				}
				if d == nil {
					continue // decoy or withheld: the element is removed
				}
				if !d.array {
					return nil, errf(CodeDisclosureShape, "object-property disclosure referenced from an array")
				}
				d.Path = pathWith(path, len(out))
				pv, err := p.value(d.Value, append(path, at{i: len(out)}), depth+1, false)
				if err != nil {
					return nil, err
				}
				out = append(out, pv)
				continue
			}
		}
		pv, err := p.value(el, append(path, at{i: len(out)}), depth+1, own)
		if err != nil {
			return nil, err
		}
		out = append(out, pv)
	}
	if own {
		clear(arr[len(out):]) // the removed elements' tail
	}
	return out, nil
}

// Select returns a copy of t keeping only the disclosures needed to reveal
// the claims at paths (nil elements select every array element): for each
// path, the disclosures of its parents, of the claim itself, and of
// everything beneath it. The KB-JWT is dropped. Process must have been
// called. A path that selects no claim is an error (CodeInvalidPath).
func (t *SDJWT) Select(claims map[string]any, paths []Path) (*SDJWT, error) {
	keep := make(map[*Disclosure]bool)
	for _, p := range paths {
		if !pathExists(claims, p) {
			return nil, errf(CodeInvalidPath, "no claim at %s", p)
		}
		for _, d := range t.Disclosures {
			if d.Path == nil {
				continue
			}
			if p.prefixOf(d.Path) || (len(d.Path) <= len(p) && Path(p[:len(d.Path)]).matches(d.Path)) {
				keep[d] = true
			}
		}
	}
	out := &SDJWT{JWT: t.JWT, jws: t.jws, payload: t.payload} // raw is not copied: out has fewer disclosures
	for _, d := range t.Disclosures {
		if keep[d] {
			out.Disclosures = append(out.Disclosures, d)
		}
	}
	return out, nil
}

// pathExists reports whether p selects a claim in v. The walk is
// OpenID4VP 1.0 §7.1.1's (dcql.Path.Select), the one Tong has.
func pathExists(v any, p Path) bool { return dcql.Path(p).Selects(v) }

// IssueOptions tune SD-JWT issuance.
type IssueOptions struct {
	// Rand is the source of salts and decoys; nil means crypto/rand.
	Rand io.Reader
	// Decoys is the number of decoy digests added to each _sd array
	// (RFC 9901 §4.2.5). Zero means DefaultDecoys; negative means none.
	Decoys int
}

// DefaultDecoys hides how many claims each object has.
const DefaultDecoys = 2
