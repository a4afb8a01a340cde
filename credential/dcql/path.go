package dcql

import (
	"encoding/json"
	"math"
	"strconv"
)

// Path is a claims path pointer (OpenID4VP 1.0 §7). Each element is a
// string (a key in an object), a non-negative int (an index in an array)
// or nil (every element of an array).
//
// Spec: §7: "A claims path pointer MUST be a non-empty array of strings,
// nulls and non-negative integers."
//
// The paths in a [Match] are concrete: they contain only strings and ints.
type Path []any

func (p Path) validate(at string) error {
	if p == nil {
		return errorf(CodeMissingParameter, at, "path is REQUIRED")
	}
	if len(p) == 0 {
		return errorf(CodeEmptyArray, at, "path must be non-empty")
	}
	if len(p) > MaxPathLength {
		return errorf(CodeLimitExceeded, at, "path longer than %d elements", MaxPathLength)
	}
	for i, e := range p {
		switch e := e.(type) {
		case string, nil:
		case int:
			if e < 0 {
				return errorf(CodeInvalidPath, ptr(at, i), "negative array index")
			}
		default:
			return errorf(CodeInvalidPath, ptr(at, i), "path elements are strings, null or non-negative integers, not %T", e)
		}
	}
	return nil
}

// node is one element of the current selection while a path is processed:
// its value and the index chosen at each null component so far.
type node struct {
	v    any
	wild []int
}

// Select processes the claims path pointer p against root, the top-level
// JSON object of a credential's claims as encoding/json decodes it
// (map[string]any, []any, scalars), as OpenID4VP 1.0 §7.1.1 says, and
// returns the selected values in document order. ok is false when
// processing aborts with an error (a string component on a non-object, an
// index or null on a non-array, an element of another type) or selects
// nothing. It is the one claim-path walker of Tong: DCQL matching, SD-JWT
// disclosure selection (package credential), the wallet's consent screen
// and the verifier's requested claims all use it.
//
// Spec: §7.1.1: "The result of the processing is the set of elements to
// be returned."
func (p Path) Select(root any) (values []any, ok bool) {
	var buf [1]node
	sel, ok := selectClaims(root, p, buf[:0])
	if !ok {
		return nil, false
	}
	values = make([]any, len(sel))
	for i, n := range sel {
		values[i] = n.v
	}
	return values, true
}

// Selects reports whether p selects at least one element of root: Select
// without collecting the values.
func (p Path) Selects(root any) bool {
	var buf [1]node
	_, ok := selectClaims(root, p, buf[:0])
	return ok
}

// Lookup returns the one value at the concrete path p (strings and
// non-negative integers, as in a [Match]'s Paths). A path holding a null
// selects an array's elements, not one value: Lookup reports false for it,
// as for any path that Select rejects.
func (p Path) Lookup(root any) (any, bool) {
	for _, e := range p {
		if e == nil {
			return nil, false
		}
	}
	var buf [1]node
	sel, ok := selectClaims(root, p, buf[:0])
	if !ok || len(sel) != 1 {
		return nil, false
	}
	return sel[0].v, true
}

// selectClaims processes p against a JSON-based credential whose top-level
// object is root (OpenID4VP 1.0 §7.1.1) and returns the selected elements,
// appended to buf (which it may reuse). ok is false when processing aborts
// with an error or selects nothing. The same processing serves mdoc
// (§7.2.1), where root maps namespaces to data elements and validated
// paths are [namespace, identifier].
func selectClaims(root any, p Path, buf []node) (sel []node, ok bool) {
	// Spec: §7.1.1: "1. Select the root element of the Credential, i.e., the
	// top-level JSON object."
	sel = append(buf[:0], node{v: root})
	for _, comp := range p {
		var next []node
		switch c := comp.(type) {
		case string:
			// Spec: "If the component is a string, select the element in the
			// respective key in the currently selected element(s). If any of
			// the currently selected element(s) is not an object, abort
			// processing and return an error. If the key does not exist in
			// any element currently selected, remove that element from the
			// selection."
			if len(sel) == 1 {
				// The common case, without allocating a new selection.
				obj, isObj := sel[0].v.(map[string]any)
				if !isObj {
					return nil, false
				}
				v, found := obj[c]
				if !found {
					return nil, false
				}
				sel[0].v = v
				continue
			}
			next = make([]node, 0, len(sel))
			for _, s := range sel {
				obj, isObj := s.v.(map[string]any)
				if !isObj {
					return nil, false
				}
				if v, found := obj[c]; found {
					next = append(next, node{v: v, wild: s.wild})
				}
			}
		case nil:
			// Spec: "If the component is null, select all elements of the
			// currently selected array(s). If any of the currently selected
			// element(s) is not an array, abort processing and return an
			// error."
			for _, s := range sel {
				arr, isArr := s.v.([]any)
				if !isArr {
					return nil, false
				}
				for j, v := range arr {
					w := make([]int, len(s.wild)+1)
					copy(w, s.wild)
					w[len(s.wild)] = j
					next = append(next, node{v: v, wild: w})
				}
			}
		case int:
			// Spec: "If the component is a non-negative integer, select the
			// element at the respective index in the currently selected
			// array(s). If any of the currently selected element(s) is not
			// an array, abort processing and return an error. If the index
			// does not exist in a selected array, remove that array from the
			// selection."
			if c < 0 {
				return nil, false
			}
			for _, s := range sel {
				arr, isArr := s.v.([]any)
				if !isArr {
					return nil, false
				}
				if c < len(arr) {
					next = append(next, node{v: arr[c], wild: s.wild})
				}
			}
		default:
			// Spec: "If the component is anything else, abort processing and
			// return an error."
			return nil, false
		}
		sel = next
		// Spec: "3. If the set of elements currently selected is empty,
		// abort processing and return an error." An empty selection stays
		// empty, so stopping early gives the same result.
		if len(sel) == 0 {
			return nil, false
		}
	}
	return sel, true
}

// concrete returns p with each null replaced by the index chosen for n.
func (p Path) concrete(n node) Path {
	out := make(Path, len(p))
	k := 0
	for i, c := range p {
		if c == nil {
			out[i] = n.wild[k]
			k++
		} else {
			out[i] = c
		}
	}
	return out
}

// equal reports whether two concrete paths are the same.
func (p Path) equal(q Path) bool {
	if len(p) != len(q) {
		return false
	}
	for i := range p {
		if p[i] != q[i] {
			return false
		}
	}
	return true
}

// valueMatches reports whether claim value v equals one of values in type
// and value. Spec: §6.3: "the Wallet SHOULD return the claim only if the
// type and value of the claim both match exactly for at least one of the
// elements in the array." Objects, arrays and null never match.
func valueMatches(v any, values []any) bool {
	for _, want := range values {
		switch w := want.(type) {
		case string:
			if s, ok := v.(string); ok && s == w {
				return true
			}
		case bool:
			if b, ok := v.(bool); ok && b == w {
				return true
			}
		case int64:
			if intEqual(v, w) {
				return true
			}
		case int:
			if intEqual(v, int64(w)) {
				return true
			}
		}
	}
	return false
}

// intEqual reports whether the JSON number v has the integer value w. v is
// whatever the caller's JSON decoder produced: float64 by default,
// json.Number with UseNumber, or a Go integer.
func intEqual(v any, w int64) bool {
	switch x := v.(type) {
	case float64:
		return floatIsInt(x, w)
	case json.Number:
		if n, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return n == w
		}
		f, err := strconv.ParseFloat(string(x), 64)
		return err == nil && floatIsInt(f, w)
	case int:
		return int64(x) == w
	case int64:
		return x == w
	case int32:
		return int64(x) == w
	case uint64:
		return w >= 0 && x == uint64(w)
	case uint32:
		return int64(x) == w
	case float32:
		return floatIsInt(float64(x), w)
	}
	return false
}

func floatIsInt(f float64, w int64) bool {
	if f != math.Trunc(f) || f < -(1<<63) || f >= 1<<63 {
		return false
	}
	return int64(f) == w
}
