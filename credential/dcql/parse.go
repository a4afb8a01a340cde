package dcql

import (
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"unicode/utf8"
)

// Parse decodes and validates a DCQL query (OpenID4VP 1.0 §6) from
// untrusted JSON. It is strict where the spec is: every REQUIRED member,
// JSON type, non-empty array, id syntax, id uniqueness and reference is
// checked by [Query.Validate]. The input must be one JSON object of at most
// [MaxQueryBytes] bytes, valid UTF-8, nested at most [MaxDepth] deep, with
// no duplicate member names. Members the spec does not define for their
// place (or for the query's format, in meta and claims) are ignored:
// Spec: §6: "Implementations MUST ignore any unknown properties."
//
// Every error is an [*Error] and matches [ErrInvalidQuery].
func Parse(data []byte) (*Query, error) {
	if len(data) > MaxQueryBytes {
		return nil, errorf(CodeTooLarge, "", "query longer than %d bytes", MaxQueryBytes)
	}
	if err := checkJSON(data); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var root any
	if err := dec.Decode(&root); err != nil {
		return nil, newError(CodeMalformedJSON, "", "", err)
	}
	q, err := decodeQuery(root)
	if err != nil {
		return nil, err
	}
	if err := q.Validate(); err != nil {
		return nil, err
	}
	return q, nil
}

// UnmarshalJSON parses q with [Parse], so a DCQL query embedded in a
// larger JSON document (the dcql_query Authorization Request parameter) is
// held to the same rules. As encoding/json's convention asks, the literal
// null is a no-op, so an absent and a null dcql_query look the same to the
// caller, which must reject a request that has neither dcql_query nor scope.
func (q *Query) UnmarshalJSON(data []byte) error {
	if string(data) == "null" {
		return nil
	}
	p, err := Parse(data)
	if err != nil {
		return err
	}
	*q = *p
	return nil
}

// checkJSON rejects what encoding/json lets through but a strict parser
// must not: invalid UTF-8 (which encoding/json turns into U+FFFD), duplicate
// member names at any depth (two "id"s could be read differently by two
// implementations), nesting deeper than MaxDepth, and trailing data.
func checkJSON(data []byte) error {
	if !utf8.Valid(data) {
		return errorf(CodeMalformedJSON, "", "invalid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	type frame struct {
		obj   bool
		isKey bool // the next token in this object is a member name
		keys  map[string]struct{}
	}
	var stack []frame
	values := 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return newError(CodeMalformedJSON, "", "", err)
		}
		if len(stack) > 0 && stack[len(stack)-1].obj && stack[len(stack)-1].isKey {
			top := &stack[len(stack)-1]
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:len(stack)-1]
				continue
			}
			k, _ := tok.(string) // the decoder only yields a string here
			if _, dup := top.keys[k]; dup {
				return errorf(CodeDuplicateMember, "", "member %s appears twice in one object", strconv.Quote(k))
			}
			top.keys[k] = struct{}{}
			top.isKey = false
			continue
		}
		if len(stack) == 0 {
			values++
			if values > 1 {
				return errorf(CodeMalformedJSON, "", "trailing data after the JSON value")
			}
		}
		if len(stack) > 0 && stack[len(stack)-1].obj {
			stack[len(stack)-1].isKey = true // a value ends; a name or } follows
		}
		switch tok {
		case json.Delim('{'):
			if len(stack) >= MaxDepth {
				return errorf(CodeTooDeep, "", "JSON nested deeper than %d", MaxDepth)
			}
			stack = append(stack, frame{obj: true, isKey: true, keys: map[string]struct{}{}})
		case json.Delim('['):
			if len(stack) >= MaxDepth {
				return errorf(CodeTooDeep, "", "JSON nested deeper than %d", MaxDepth)
			}
			stack = append(stack, frame{})
		case json.Delim(']'):
			stack = stack[:len(stack)-1]
		}
	}
	if values == 0 {
		return errorf(CodeMalformedJSON, "", "empty input")
	}
	return nil
}

// The decode* functions turn the generic JSON tree into typed values,
// checking JSON types only; Validate checks everything else. An absent
// member leaves a nil slice, a present empty array a non-nil empty one, so
// Validate can tell them apart.

func decodeQuery(v any) (*Query, error) {
	obj, err := asObject(v, "")
	if err != nil {
		return nil, err
	}
	q := &Query{}
	if raw, ok := obj["credentials"]; ok {
		arr, err := asArray(raw, "/credentials", MaxCredentialQueries)
		if err != nil {
			return nil, err
		}
		q.Credentials = make([]CredentialQuery, len(arr))
		for i, e := range arr {
			if err := decodeCredentialQuery(e, ptr("/credentials", i), &q.Credentials[i]); err != nil {
				return nil, err
			}
		}
	}
	if raw, ok := obj["credential_sets"]; ok {
		arr, err := asArray(raw, "/credential_sets", MaxCredentialSets)
		if err != nil {
			return nil, err
		}
		q.CredentialSets = make([]CredentialSetQuery, len(arr))
		for i, e := range arr {
			p := ptr("/credential_sets", i)
			o, err := asObject(e, p)
			if err != nil {
				return nil, err
			}
			s := &q.CredentialSets[i]
			if s.Options, err = optStringMatrix(o, "options", p, MaxCredentialSets, MaxCredentialQueries); err != nil {
				return nil, err
			}
			if s.Required, err = optBool(o, "required", p); err != nil {
				return nil, err
			}
		}
	}
	return q, nil
}

func decodeCredentialQuery(v any, p string, c *CredentialQuery) error {
	obj, err := asObject(v, p)
	if err != nil {
		return err
	}
	if c.ID, err = reqString(obj, "id", p); err != nil {
		return err
	}
	if c.Format, err = reqString(obj, "format", p); err != nil {
		return err
	}
	if m, err := optBool(obj, "multiple", p); err != nil {
		return err
	} else if m != nil {
		c.Multiple = *m
	}
	if c.RequireCryptographicHolderBinding, err = optBool(obj, "require_cryptographic_holder_binding", p); err != nil {
		return err
	}
	// Spec: §6.1: "meta: REQUIRED. An object defining additional properties
	// requested by the Verifier ... If empty, no specific constraints are
	// placed on the metadata or validity of the requested Credential."
	rawMeta, ok := obj["meta"]
	if !ok {
		return errorf(CodeMissingParameter, p+"/meta", "meta is REQUIRED")
	}
	mp := p + "/meta"
	meta, err := asObject(rawMeta, mp)
	if err != nil {
		return err
	}
	switch c.Format {
	case FormatSDJWTVC:
		c.Meta.VCTValues, err = optStrings(meta, "vct_values", mp, MaxValues)
	case FormatJWTVC, FormatLDPVC:
		c.Meta.TypeValues, err = optStringMatrix(meta, "type_values", mp, MaxValues, MaxValues)
	case FormatMdoc:
		if raw, ok := meta["doctype_value"]; ok {
			s, isStr := raw.(string)
			if !isStr {
				return errorf(CodeInvalidType, mp+"/doctype_value", "doctype_value must be a string")
			}
			if s == "" {
				return errorf(CodeEmptyString, mp+"/doctype_value", "doctype_value must be non-empty")
			}
			c.Meta.DoctypeValue = s
		}
	}
	if err != nil {
		return err
	}
	if raw, ok := obj["trusted_authorities"]; ok {
		tp := p + "/trusted_authorities"
		arr, err := asArray(raw, tp, MaxValues)
		if err != nil {
			return err
		}
		c.TrustedAuthorities = make([]TrustedAuthority, len(arr))
		for i, e := range arr {
			ep := ptr(tp, i)
			o, err := asObject(e, ep)
			if err != nil {
				return err
			}
			ta := &c.TrustedAuthorities[i]
			if ta.Type, err = reqString(o, "type", ep); err != nil {
				return err
			}
			if ta.Values, err = optStrings(o, "values", ep, MaxValues); err != nil {
				return err
			}
		}
	}
	if raw, ok := obj["claims"]; ok {
		cp := p + "/claims"
		arr, err := asArray(raw, cp, MaxClaims)
		if err != nil {
			return err
		}
		c.Claims = make([]ClaimsQuery, len(arr))
		for i, e := range arr {
			if err := decodeClaimsQuery(e, ptr(cp, i), c.Format, &c.Claims[i]); err != nil {
				return err
			}
		}
	}
	c.ClaimSets, err = optStringMatrix(obj, "claim_sets", p, MaxClaimSets, MaxClaims)
	return err
}

func decodeClaimsQuery(v any, p, format string, cl *ClaimsQuery) error {
	obj, err := asObject(v, p)
	if err != nil {
		return err
	}
	if raw, ok := obj["id"]; ok {
		s, isStr := raw.(string)
		if !isStr {
			return errorf(CodeInvalidType, p+"/id", "id must be a string")
		}
		if s == "" {
			// Keep "" distinguishable from absent for Validate.
			return errorf(CodeInvalidID, p+"/id", "id must be non-empty")
		}
		cl.ID = s
	}
	raw, ok := obj["path"]
	if !ok {
		return errorf(CodeMissingParameter, p+"/path", "path is REQUIRED")
	}
	pp := p + "/path"
	arr, err := asArray(raw, pp, MaxPathLength)
	if err != nil {
		return err
	}
	cl.Path = make(Path, len(arr))
	for i, e := range arr {
		switch e := e.(type) {
		case string, nil:
			cl.Path[i] = e
		case json.Number:
			n, ok := pathIndex(e)
			if !ok {
				return errorf(CodeInvalidPath, ptr(pp, i), "array index %s is not a non-negative integer", e)
			}
			cl.Path[i] = n
		default:
			return errorf(CodeInvalidPath, ptr(pp, i), "path elements are strings, null or non-negative integers")
		}
	}
	if raw, ok := obj["values"]; ok {
		vp := p + "/values"
		arr, err := asArray(raw, vp, MaxValues)
		if err != nil {
			return err
		}
		cl.Values = make([]any, len(arr))
		for i, e := range arr {
			switch e := e.(type) {
			case string, bool:
				cl.Values[i] = e
			case json.Number:
				// Spec: §6.3: "A non-empty array of strings, integers or
				// boolean values". Fractions and exponents are not integers
				// as written; int64 bounds the range.
				n, err := strconv.ParseInt(string(e), 10, 64)
				if err != nil {
					return errorf(CodeInvalidValue, ptr(vp, i), "%s is not an integer in the int64 range", e)
				}
				cl.Values[i] = n
			default:
				return errorf(CodeInvalidValue, ptr(vp, i), "values are strings, integers or booleans")
			}
		}
	}
	if format == FormatMdoc {
		if cl.IntentToRetain, err = optBool(obj, "intent_to_retain", p); err != nil {
			return err
		}
	}
	return nil
}

// pathIndex parses a JSON number that must be a non-negative integer
// written in plain digits.
func pathIndex(n json.Number) (int, bool) {
	s := string(n)
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return 0, false
	}
	return v, true
}

func asObject(v any, p string) (map[string]any, error) {
	o, ok := v.(map[string]any)
	if !ok {
		return nil, errorf(CodeInvalidType, p, "must be an object")
	}
	return o, nil
}

func asArray(v any, p string, limit int) ([]any, error) {
	a, ok := v.([]any)
	if !ok {
		return nil, errorf(CodeInvalidType, p, "must be an array")
	}
	if len(a) > limit {
		return nil, errorf(CodeLimitExceeded, p, "more than %d elements", limit)
	}
	return a, nil
}

func reqString(obj map[string]any, name, p string) (string, error) {
	raw, ok := obj[name]
	if !ok {
		return "", errorf(CodeMissingParameter, p+"/"+name, "%s is REQUIRED", name)
	}
	s, ok := raw.(string)
	if !ok {
		return "", errorf(CodeInvalidType, p+"/"+name, "%s must be a string", name)
	}
	return s, nil
}

func optBool(obj map[string]any, name, p string) (*bool, error) {
	raw, ok := obj[name]
	if !ok {
		return nil, nil
	}
	b, ok := raw.(bool)
	if !ok {
		return nil, errorf(CodeInvalidType, p+"/"+name, "%s must be a boolean", name)
	}
	return &b, nil
}

// optStrings decodes an array of strings; nil when the member is absent.
func optStrings(obj map[string]any, name, p string, limit int) ([]string, error) {
	raw, ok := obj[name]
	if !ok {
		return nil, nil
	}
	return stringArray(raw, p+"/"+name, limit)
}

func stringArray(raw any, p string, limit int) ([]string, error) {
	arr, err := asArray(raw, p, limit)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(arr))
	for i, e := range arr {
		s, ok := e.(string)
		if !ok {
			return nil, errorf(CodeInvalidType, ptr(p, i), "must be a string")
		}
		out[i] = s
	}
	return out, nil
}

// optStringMatrix decodes an array of arrays of strings; nil when absent.
func optStringMatrix(obj map[string]any, name, p string, outer, inner int) ([][]string, error) {
	raw, ok := obj[name]
	if !ok {
		return nil, nil
	}
	mp := p + "/" + name
	arr, err := asArray(raw, mp, outer)
	if err != nil {
		return nil, err
	}
	out := make([][]string, len(arr))
	for i, e := range arr {
		if out[i], err = stringArray(e, ptr(mp, i), inner); err != nil {
			return nil, err
		}
	}
	return out, nil
}
