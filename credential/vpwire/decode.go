package vpwire

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
)

// Members is the set of member names a decoded JSON object held, so a
// caller can tell a member sent empty ("aud": "") from one not sent: for
// some members the spec's rule is about presence (§8.2: redirect_uri
// with direct_post).
type Members map[string]bool

// Has reports whether the object held the member name.
func (m Members) Has(name string) bool { return m[name] }

// Unmarshal decodes the JSON object data into v, a pointer to one of this
// package's structs, more strictly than encoding/json: a member whose
// name matches one of v's only by case ("Nonce" for "nonce"), which
// encoding/json would take, is refused, since OpenID4VP's names are case
// sensitive. Unknown members are ignored (§5.1: the wallet ignores
// parameters it does not understand). It returns the members present.
func Unmarshal(data []byte, v any) (Members, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, fmt.Errorf("vpwire: not a JSON object")
	}
	names := fieldNames(reflect.TypeOf(v))
	present := make(Members, len(raw))
	for k := range raw {
		present[k] = true
		if names[k] {
			continue
		}
		for n := range names {
			if strings.EqualFold(k, n) {
				return nil, fmt.Errorf("vpwire: member %q is not %q (names are case sensitive)", k, n)
			}
		}
	}
	if err := json.Unmarshal(data, v); err != nil {
		return nil, err
	}
	return present, nil
}

// fieldNames is the set of JSON member names of the struct t points to.
func fieldNames(t reflect.Type) map[string]bool {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	out := map[string]bool{}
	if t.Kind() != reflect.Struct {
		return out
	}
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		out[name] = true
	}
	return out
}
