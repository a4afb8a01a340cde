package credential

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"slices"
	"sort"
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
func IssueSDJWT(signer crypto.Signer, header map[string]any, claims map[string]any, disclosable []Path, opts IssueOptions) (string, error) {
	if opts.Rand == nil {
		opts.Rand = rand.Reader
	}
	if opts.Decoys == 0 {
		opts.Decoys = DefaultDecoys
	}
	for _, reserved := range []string{"_sd", "_sd_alg", "..."} {
		if _, ok := claims[reserved]; ok {
			return "", errf(CodeReservedClaimName, "claims may not use %q", reserved)
		}
	}
	for _, p := range disclosable {
		if len(p) == 0 || !pathExists(claims, p) {
			return "", errf(CodeInvalidPath, "disclosable path %s selects no claim", p)
		}
	}
	is := issuers.Get().(*issuer)
	defer is.release()
	is.rand, is.decoys, is.sd, is.out = opts.Rand, opts.Decoys, disclosable, is.out[:0]

	var err error
	if is.payload, err = is.object(is.payload[:0], claims, is.path[:0], true); err != nil {
		return "", err
	}
	if is.header, err = is.object(is.header[:0], header, nil, false); err != nil {
		return "", fmt.Errorf("credential: header: %w", err)
	}
	alg, _ := header["alg"].(string)
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

// issuer holds one issuance's state and the buffers it writes into.
type issuer struct {
	rand    io.Reader
	decoys  int
	sd      []Path
	salts   []byte // random bytes for the next salts, read into saltBuf
	saltBuf [32 * saltBytes]byte

	out                  []byte // the encoded disclosures, each followed by "~"
	scratch              []byte // a disclosure's JSON before encoding
	payload, header, jws []byte
	path                 Path
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
// at path. A nil path is JSON outside the claims (the header).
func (is *issuer) disclosable(lv *level, path Path) {
	lv.names, lv.indexes, lv.every = lv.names[:0], lv.indexes[:0], false
	if path == nil {
		return
	}
	for _, sd := range is.sd {
		if len(sd) != len(path)+1 || !sd[:len(path)].matches(path) {
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

var issuers = sync.Pool{New: func() any {
	return &issuer{path: make(Path, 0, MaxDepth+2), levels: make([]level, MaxDepth+2)}
}}

// maxKeptBuffer bounds what goes back to the pool, so that one huge
// credential does not pin its buffers.
const maxKeptBuffer = 64 << 10

func (is *issuer) release() {
	if cap(is.out)+cap(is.payload)+cap(is.jws) > maxKeptBuffer {
		return
	}
	is.rand, is.sd, is.salts = nil, nil, nil
	for i := range is.levels {
		clear(is.levels[i].keys) // the claim names are the caller's strings
		clear(is.levels[i].names)
	}
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

// salt returns 128 random bits. Randomness is read in blocks of 32 salts,
// because one read per salt costs more than the rest of the disclosure.
func (is *issuer) salt() ([]byte, error) {
	if len(is.salts) < saltBytes {
		is.salts = is.saltBuf[:]
		if _, err := io.ReadFull(is.rand, is.salts); err != nil {
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
func (is *issuer) disclose(name *string, raw []byte) (digest, error) {
	salt, err := is.salt()
	if err != nil {
		return digest{}, err
	}
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

// decoy is the digest of random bytes (RFC 9901 §4.2.5).
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

// child is path extended by a, or nil outside the claims. Children's
// paths share path's backing array: a path is only read while its claim
// is written.
func child(path Path, a at) Path {
	switch {
	case path == nil:
		return nil
	case a.i >= 0:
		return append(path, a.i)
	}
	return append(path, a.key)
}

// value appends v as JSON, with the disclosable claims inside it replaced
// by digests. Only objects and arrays need their path, so scalars are
// written without one and name it only in an error.
func (is *issuer) value(dst []byte, v any, path Path, a at) ([]byte, error) {
	switch x := v.(type) {
	case map[string]any:
		return is.object(dst, x, child(path, a), false)
	case []any:
		return is.array(dst, x, child(path, a))
	}
	out, err := appendScalar(dst, v)
	if err != nil {
		return nil, fmt.Errorf("credential: claim %s: %w", child(path, a), err)
	}
	return out, nil
}

// disclosed writes the JSON of a value about to be disclosed into the
// buffer of its depth.
func (is *issuer) disclosed(v any, path Path, a at) ([]byte, error) {
	lv := &is.levels[len(path)+1]
	raw, err := is.value(lv.value[:0], v, path, a)
	if err == nil {
		lv.value = raw
	}
	return raw, err
}

// object appends obj: its disclosable members become digests in "_sd",
// with decoys, and top adds "_sd_alg". Members are written in sorted key
// order, as json.Marshal writes them.
func (is *issuer) object(dst []byte, obj map[string]any, path Path, top bool) ([]byte, error) {
	if len(path) > MaxDepth {
		return nil, errf(CodeTooDeep, "claims nested deeper than %d", MaxDepth)
	}
	lv := &is.levels[len(path)]
	is.disclosable(lv, path)
	keys := lv.keys[:0]
	for k := range obj {
		if path != nil && (k == "_sd" || k == "...") {
			return nil, errf(CodeReservedClaimName, "claims may not use %q", k)
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	// First the disclosures, whose digests make "_sd".
	digests := lv.digests[:0]
	for _, k := range keys {
		if !slices.Contains(lv.names, k) {
			continue
		}
		raw, err := is.disclosed(obj[k], path, at{k, -1})
		if err != nil {
			return nil, err
		}
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
		slices.SortFunc(digests, func(a, b digest) int { return bytes.Compare(a[:], b[:]) })
		keys = append(keys, "_sd")
	}
	if top {
		keys = append(keys, "_sd_alg")
	}
	if len(digests) > 0 || top {
		sort.Strings(keys)
	}
	lv.keys, lv.digests = keys, digests

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
			if dst, err = is.value(appendKey(dst, &first, k), obj[k], path, at{k, -1}); err != nil {
				return nil, err
			}
		}
	}
	return append(dst, '}'), nil
}

func appendKey(dst []byte, first *bool, k string) []byte {
	if !*first {
		dst = append(dst, ',')
	}
	*first = false
	return append(appendString(dst, k), ':')
}

func (is *issuer) array(dst []byte, arr []any, path Path) ([]byte, error) {
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
			if dst, err = is.value(dst, el, path, at{i: i}); err != nil {
				return nil, err
			}
			continue
		}
		raw, err := is.disclosed(el, path, at{i: i})
		if err != nil {
			return nil, err
		}
		d, err := is.disclose(nil, raw)
		if err != nil {
			return nil, err
		}
		dst = append(append(append(dst, `{"...":"`...), d[:]...), '"', '}')
	}
	return append(dst, ']'), nil
}
