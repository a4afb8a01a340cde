package credential

import (
	"bytes"
	"cmp"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"

	"github.com/tongid/tong/internal/jose"
)

// IssueSDJWT signs claims as an SD-JWT, making the claims at the
// disclosable paths selectively disclosable. Paths may name object
// members, array elements (an int, or nil for every element) and nested
// claims; a path and its parent may both be disclosable (recursive
// disclosure, RFC 9901 §6.3). header must hold "alg" (and usually "typ"
// and "kid"). It returns the SD-JWT with every disclosure, ending in "~".
//
// The payload and the disclosures are written as json.Marshal would
// write them (sorted keys, the same escapes), straight into byte slices
// kept for the next issuance: after the signature, building maps and
// garbage was most of the cost.
//
// How an issuance runs (the issuer type below holds its state):
//
//  1. acquireIssuer takes an issuer from a sync.Pool, so its buffers
//     (payload, disclosures, per-depth scratch) are reused, not
//     reallocated: a busy issuer signs thousands of copies a minute, and
//     the garbage of one map per claim cost more than the JSON itself.
//  2. The header is written with plain set, so that nothing in it
//     becomes disclosable and the reserved names are not refused.
//  3. sign writes the payload with object, which writes each
//     disclosable claim's disclosure into is.out as it meets it and puts
//     the digests where the claims were; then the JWS is signed over the
//     header and payload bytes as they are (jose.AppendSign encodes them,
//     it does not re-marshal).
//  4. The result is JWS "~" disclosures, each ending in "~" (RFC 9901
//     §4: an SD-JWT without key binding ends in "~").
//
// The format is pinned byte for byte by TestIssueRFC9901Main
// (rfc9901_issue_test.go): the RFC's examples put a space after "," and
// ":" and keep members in insertion order, so for the same salts our
// disclosures, and so our digests, differ from the RFC's printed ones;
// RFC 9901 §4.2.1 allows any JSON encoding, because the digest is taken
// over the disclosure exactly as sent.
func IssueSDJWT(signer crypto.Signer, header map[string]any, claims map[string]any, disclosable []Path, opts IssueOptions) (string, error) {
	if err := checkIssuable(claims, disclosable, nil); err != nil {
		return "", err
	}
	is := acquireIssuer(opts)
	defer is.release()
	var err error
	is.plain = true
	is.header, err = is.object(is.header[:0], header, nil, false)
	is.plain = false
	if err != nil {
		return "", fmt.Errorf("credential: header: %w", err)
	}
	alg, _ := header["alg"].(string)
	return is.sign(signer, alg, claims, disclosable)
}

// checkIssuable refuses reserved claim names and disclosable paths that
// select nothing in claims or among the registered claims (which are
// top-level scalars or objects written by the issuer).
func checkIssuable(claims map[string]any, disclosable []Path, registered []member) error {
	for _, reserved := range []string{"_sd", "_sd_alg", "..."} {
		if _, ok := claims[reserved]; ok {
			return errf(CodeReservedClaimName, "claims may not use %q", reserved)
		}
	}
	for _, p := range disclosable {
		if len(p) == 1 && slices.ContainsFunc(registered, func(m member) bool { return pathElemEqual(p[0], m.key) }) {
			continue
		}
		if len(p) == 0 || !pathExists(claims, p) {
			return errf(CodeInvalidPath, "disclosable path %s selects no claim", p)
		}
	}
	return nil
}

// acquireIssuer takes pooled issuance state and resets what one issuance
// must not inherit from the last (its output and registered claims; the
// per-depth buffers are reset where they are used). Salts left over from the
// last issuance are kept only when both draw from crypto/rand: a caller's
// own Rand (a test's fixed stream) must give every salt.
func acquireIssuer(opts IssueOptions) *issuer {
	is := issuers.Get().(*issuer)
	is.rand, is.systemRand = opts.Rand, opts.Rand == nil
	if is.systemRand {
		is.rand = rand.Reader
	} else {
		is.salts = nil
	}
	is.decoys = opts.Decoys
	if is.decoys == 0 {
		is.decoys = DefaultDecoys
	}
	is.out, is.registered = is.out[:0], is.registered[:0]
	return is
}

// sign writes the payload (claims plus is.registered), signs it under
// is.header, and returns the SD-JWT with every disclosure.
func (is *issuer) sign(signer crypto.Signer, alg string, claims map[string]any, disclosable []Path) (string, error) {
	is.sd = disclosable
	var err error
	if is.payload, err = is.object(is.payload[:0], claims, is.path[:0], true); err != nil {
		return "", err
	}
	if is.jws, err = jose.AppendSign(is.jws[:0], signer, alg, is.header, is.payload); err != nil {
		return "", fromJOSE(err, false)
	}
	var b strings.Builder
	b.Grow(len(is.jws) + 1 + len(is.out))
	b.Write(is.jws)
	b.WriteByte('~')
	b.Write(is.out)
	return b.String(), nil
}

// member is a top-level claim the issuer writes itself (iss, vct, iat,
// cnf, ...), already JSON.
type member struct {
	key string
	raw []byte
}

// issuer holds one issuance's state and the buffers it writes into. Its
// byte slices are kept between issuances (through the pool) and only
// ever truncated to [:0] and appended to, so a steady load allocates
// almost nothing; release drops the references that would otherwise keep
// a caller's strings alive.
type issuer struct {
	rand       io.Reader
	systemRand bool // rand is crypto/rand, so leftover salts may be kept
	decoys     int
	sd         []Path
	plain      bool   // writing the header: no disclosures, no reserved names
	salts      []byte // random bytes for the next salts, read into saltBuf
	saltBuf    [64 * saltBytes]byte

	registered []member // top-level claims written by IssueVC
	regJSON    []byte   // their JSON

	out                  []byte // the encoded disclosures, each followed by "~"
	scratch              []byte // a disclosure's JSON before encoding
	payload, header, jws []byte
	path                 []at
	levels               []level // per nesting depth
}

// level holds the buffers of the object or array being written at one
// depth; everything nested inside it uses deeper levels.
type level struct {
	keys    []string
	digests []digest
	value   []byte // a disclosed value's JSON

	// Which members or elements of the object or array at this level are
	// disclosable: the last elements of the disclosable paths one below it.
	names   []string
	indexes []int
	every   bool // every array element
}

// disclosable fills lv's names, indexes and every for the object or array
// at path.
func (is *issuer) disclosable(lv *level, path []at) {
	lv.names, lv.indexes, lv.every = lv.names[:0], lv.indexes[:0], false
	if is.plain {
		return
	}
	for _, sd := range is.sd {
		if len(sd) != len(path)+1 || !selects(sd[:len(path)], path) {
			continue
		}
		switch e := sd[len(path)].(type) {
		case string:
			lv.names = append(lv.names, e)
		case int:
			lv.indexes = append(lv.indexes, e)
		case float64: // a path decoded from JSON
			if i := int(e); float64(i) == e {
				lv.indexes = append(lv.indexes, i)
			}
		case nil:
			lv.every = true
		}
	}
}

// selects is Path.matches for the issuer's own path, which is kept as
// []at because boxing each member name into an any allocates.
func selects(p Path, c []at) bool {
	for i, e := range p {
		switch x := e.(type) {
		case nil:
			if c[i].i < 0 {
				return false
			}
		case string:
			if c[i].i >= 0 || c[i].key != x {
				return false
			}
		case int:
			if c[i].i != x {
				return false
			}
		case float64:
			if c[i].i < 0 || float64(c[i].i) != x {
				return false
			}
		default:
			return false
		}
	}
	return true
}

var issuers = sync.Pool{New: func() any {
	return &issuer{path: make([]at, 0, MaxDepth+2), levels: make([]level, MaxDepth+2)}
}}

// maxKeptBuffer bounds what goes back to the pool, so that one huge
// credential does not pin its buffers.
const maxKeptBuffer = 64 << 10

func (is *issuer) release() {
	if cap(is.out)+cap(is.payload)+cap(is.jws)+cap(is.regJSON) > maxKeptBuffer {
		return
	}
	is.rand, is.sd = nil, nil
	if !is.systemRand {
		is.salts = nil
	}
	// The claim names are the caller's strings.
	for i := range is.levels {
		clear(is.levels[i].keys)
		clear(is.levels[i].names)
	}
	clear(is.path[:cap(is.path)])
	clear(is.registered)
	issuers.Put(is)
}

// digest is a base64url SHA-256 digest, kept out of the heap.
type digest [43]byte

func digestOfBytes(b []byte) digest {
	var d digest
	sum := sha256.Sum256(b)
	base64.RawURLEncoding.Encode(d[:], sum[:])
	return d
}

// compareDigests orders digests as bytes.Compare does, deciding on the
// first eight characters in one comparison (they differ but for one
// digest pair in 2^48).
func compareDigests(a, b digest) int {
	if x, y := binary.BigEndian.Uint64(a[:8]), binary.BigEndian.Uint64(b[:8]); x != y {
		return cmp.Compare(x, y)
	}
	return bytes.Compare(a[8:], b[8:])
}

// salt returns 128 random bits. Randomness is read in blocks of 64 salts,
// because one read per salt costs more than the rest of the disclosure.
func (is *issuer) salt() ([]byte, error) {
	if len(is.salts) < saltBytes {
		is.salts = is.saltBuf[:]
		if _, err := io.ReadFull(is.rand, is.salts); err != nil {
			is.salts = nil
			return nil, err
		}
	}
	b := is.salts[:saltBytes]
	is.salts = is.salts[saltBytes:]
	return b, nil
}

// disclose makes the disclosure [salt, name, value] (or [salt, value] for
// an array element when name is nil), where raw is the value's JSON, and
// returns its digest.
//
// The JSON array is written without spaces, `["<salt>","<name>",<value>]`:
// RFC 9901 §4.2.1's "No white space" variant, not the spaced form of its
// other examples. It is built in is.scratch (reused), then base64url-
// encoded straight onto the end of is.out; the digest is the SHA-256 of
// exactly those encoded bytes (RFC 9901 §4.2.3), followed by the "~"
// that separates disclosures.
func (is *issuer) disclose(name *string, raw []byte) (digest, error) {
	salt, err := is.salt()
	if err != nil {
		return digest{}, err
	}
	// The salt is 16 random bytes, written as 22 base64url characters:
	// they need no JSON escaping, so no appendString.
	d := append(is.scratch[:0], '[', '"')
	d = base64.RawURLEncoding.AppendEncode(d, salt)
	d = append(d, '"', ',')
	if name != nil {
		d = append(appendString(d, *name), ',')
	}
	d = append(append(d, raw...), ']')
	is.scratch = d
	start := len(is.out)
	is.out = base64.RawURLEncoding.AppendEncode(is.out, d)
	sum := digestOfBytes(is.out[start:])
	is.out = append(is.out, '~')
	return sum, nil
}

// decoy is the digest of random bytes (RFC 9901 §4.2.5): the base64url
// form of a fresh salt, hashed like a disclosure, so it cannot be told
// from a real digest. Nothing is written to is.out.
func (is *issuer) decoy() (digest, error) {
	salt, err := is.salt()
	if err != nil {
		return digest{}, err
	}
	var enc [22]byte
	base64.RawURLEncoding.Encode(enc[:], salt)
	return digestOfBytes(enc[:]), nil
}

// at names a member (by key) or, when i >= 0, an array element.
type at struct {
	key string
	i   int
}

// pathOf is path as a Path, for errors.
func pathOf(path []at) Path {
	if len(path) == 0 {
		return Path{}
	}
	return pathWith(path[:len(path)-1], path[len(path)-1].elem())
}

// elem is a as a Path element.
func (a at) elem() any {
	if a.i >= 0 {
		return a.i
	}
	return a.key
}

// value appends v as JSON, with the disclosable claims inside it replaced
// by digests. path is where v is; it shares its backing array with the
// caller's, because a path is only read while its claim is written.
func (is *issuer) value(dst []byte, v any, path []at) ([]byte, error) {
	switch x := v.(type) {
	case map[string]any:
		return is.object(dst, x, path, false)
	case []any:
		return is.array(dst, x, path)
	}
	out, err := appendScalar(dst, v)
	if err != nil {
		return nil, fmt.Errorf("credential: claim %s: %w", pathOf(path), err)
	}
	return out, nil
}

// member appends the JSON of obj's member k at path: a registered
// claim's own JSON at the top, otherwise obj[k] written by value.
func (is *issuer) member(dst []byte, obj map[string]any, path []at, k string, top bool) ([]byte, error) {
	if top {
		for _, m := range is.registered {
			if m.key == k {
				return append(dst, m.raw...), nil
			}
		}
	}
	return is.value(dst, obj[k], append(path, at{k, -1}))
}

// object appends obj: its disclosable members become digests in "_sd",
// with decoys, and top adds "_sd_alg" and the registered claims. Members
// are written in sorted key order, as json.Marshal writes them.
func (is *issuer) object(dst []byte, obj map[string]any, path []at, top bool) ([]byte, error) {
	if len(path) > MaxDepth {
		return nil, errf(CodeTooDeep, "claims nested deeper than %d", MaxDepth)
	}
	lv := &is.levels[len(path)]
	is.disclosable(lv, path)
	keys := lv.keys[:0]
	for k := range obj {
		if !is.plain && (k == "_sd" || k == "...") {
			return nil, errf(CodeReservedClaimName, "claims may not use %q", k)
		}
		keys = append(keys, k)
	}
	if top {
		for _, m := range is.registered {
			keys = append(keys, m.key)
		}
	}
	slices.Sort(keys)
	// Two passes over the sorted keys. Pass 1 writes a disclosure for each
	// disclosable member (into is.out) and collects its digest, because
	// "_sd" sorts before most names and must hold every digest when it is
	// written. A disclosed member's value is written into the next
	// level's value buffer, not into dst: it goes into the disclosure,
	// not the payload.
	digests := lv.digests[:0]
	for _, k := range keys {
		if !slices.Contains(lv.names, k) {
			continue
		}
		below := &is.levels[len(path)+1]
		raw, err := is.member(below.value[:0], obj, path, k, top)
		if err != nil {
			return nil, err
		}
		below.value = raw
		d, err := is.disclose(&k, raw)
		if err != nil {
			return nil, err
		}
		digests = append(digests, d)
	}
	if len(digests) > 0 {
		for range max(is.decoys, 0) {
			d, err := is.decoy()
			if err != nil {
				return nil, err
			}
			digests = append(digests, d)
		}
		// Spec: RFC 9901 §4.2.4.1: "The Issuer MUST hide the original
		// order of the claims in the array. To ensure this, it is
		// RECOMMENDED to shuffle the array of hashes, e.g., by sorting
		// them alphanumerically".
		slices.SortFunc(digests, compareDigests)
		keys = insertSorted(keys, "_sd")
	}
	if top {
		keys = insertSorted(keys, "_sd_alg")
	}
	lv.keys, lv.digests = keys, digests

	// Pass 2 writes the object: {"_sd":["d1","d2",...],"_sd_alg":"sha-256",
	// "name":value,...} with the keys in sorted order ("_sd" and
	// "_sd_alg" were inserted in their sorted places above), skipping the
	// members that were disclosed.
	dst = append(dst, '{')
	first := true
	for _, k := range keys {
		switch {
		case k == "_sd" && len(digests) > 0:
			dst = appendKey(dst, &first, k)
			dst = append(dst, '[')
			for i, d := range digests {
				if i > 0 {
					dst = append(dst, ',')
				}
				dst = append(append(append(dst, '"'), d[:]...), '"')
			}
			dst = append(dst, ']')
		case k == "_sd_alg" && top:
			dst = appendString(appendKey(dst, &first, k), HashAlg)
		case !slices.Contains(lv.names, k):
			var err error
			if dst, err = is.member(appendKey(dst, &first, k), obj, path, k, top); err != nil {
				return nil, err
			}
		}
	}
	return append(dst, '}'), nil
}

// insertSorted inserts k into the sorted keys, keeping them sorted, as
// json.Marshal would have placed it.
func insertSorted(keys []string, k string) []string {
	i, _ := slices.BinarySearch(keys, k)
	return slices.Insert(keys, i, k)
}

// appendKey writes a member's `"name":`, preceded by a comma unless it is
// the object's first member.
func appendKey(dst []byte, first *bool, k string) []byte {
	if !*first {
		dst = append(dst, ',')
	}
	*first = false
	return append(appendString(dst, k), ':')
}

// array appends arr. A disclosable element is replaced in place by
// {"...":"<digest>"} (RFC 9901 §4.2.4.2), its value written into the
// next level's buffer and into a disclosure; the others are written as
// they are (with disclosable claims inside them replaced by digests).
// No decoys are added to arrays.
func (is *issuer) array(dst []byte, arr []any, path []at) ([]byte, error) {
	if len(path) > MaxDepth {
		return nil, errf(CodeTooDeep, "claims nested deeper than %d", MaxDepth)
	}
	lv := &is.levels[len(path)]
	is.disclosable(lv, path)
	dst = append(dst, '[')
	for i, el := range arr {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if !lv.every && !slices.Contains(lv.indexes, i) {
			if dst, err = is.value(dst, el, append(path, at{i: i})); err != nil {
				return nil, err
			}
			continue
		}
		below := &is.levels[len(path)+1]
		raw, err := is.value(below.value[:0], el, append(path, at{i: i}))
		if err != nil {
			return nil, err
		}
		below.value = raw
		d, err := is.disclose(nil, raw)
		if err != nil {
			return nil, err
		}
		dst = append(append(append(dst, `{"...":"`...), d[:]...), '"', '}')
	}
	return append(dst, ']'), nil
}
