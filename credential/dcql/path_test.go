package dcql_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/tongid/tong/credential/dcql"
)

// TestPathSelect is the table of the one claim-path walker (OpenID4VP 1.0
// §7.1.1) that DCQL matching, SD-JWT selection, the wallet and the
// verifier share.
func TestPathSelect(t *testing.T) {
	t.Parallel()
	var root map[string]any
	if err := json.Unmarshal([]byte(`{
		"name": "Arthur Dent",
		"address": {"street_address": "42 Market Street", "postal_code": "12345"},
		"degrees": [{"type": "BSc"}, {"type": "MSc", "year": 2001}],
		"mixed": [{"type": "BSc"}, "not an object"],
		"nationalities": ["British", "Betelgeusian"],
		"empty": [],
		"nothing": null
	}`), &root); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path dcql.Path
		want []any // nil: processing aborts or selects nothing
	}{
		{"member", dcql.Path{"name"}, []any{"Arthur Dent"}},
		{"nested member", dcql.Path{"address", "postal_code"}, []any{"12345"}},
		{"index", dcql.Path{"nationalities", 1}, []any{"Betelgeusian"}},
		{"index then member", dcql.Path{"degrees", 0, "type"}, []any{"BSc"}},
		{"null over an array", dcql.Path{"nationalities", nil}, []any{"British", "Betelgeusian"}},
		{"null then member", dcql.Path{"degrees", nil, "type"}, []any{"BSc", "MSc"}},
		// Spec: "If the key does not exist in any element currently
		// selected, remove that element from the selection."
		{"null then a member only some have", dcql.Path{"degrees", nil, "year"}, []any{float64(2001)}},
		{"null value", dcql.Path{"nothing"}, []any{nil}},
		{"empty path is the root", dcql.Path{}, []any{root}},
		{"missing member", dcql.Path{"age"}, nil},
		{"missing nested member", dcql.Path{"address", "country"}, nil},
		{"index out of range", dcql.Path{"nationalities", 2}, nil},
		{"negative index", dcql.Path{"nationalities", -1}, nil},
		{"null over an empty array", dcql.Path{"empty", nil}, nil},
		// Spec: "If any of the currently selected element(s) is not an
		// object, abort processing and return an error."
		{"member of a non-object", dcql.Path{"name", "first"}, nil},
		{"member of an array", dcql.Path{"degrees", "type"}, nil},
		{"member after null over a non-object element", dcql.Path{"mixed", nil, "type"}, nil},
		{"null over a non-array", dcql.Path{"address", nil}, nil},
		{"index into a non-array", dcql.Path{"address", 0}, nil},
		{"null at the root", dcql.Path{nil}, nil},
		{"other element type", dcql.Path{"nationalities", 1.0}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, ok := tc.path.Select(root)
			if ok != (tc.want != nil) {
				t.Fatalf("Path(%v).Select ok = %v, want %v", tc.path, ok, tc.want != nil)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Path(%v).Select (-want +got):\n%s", tc.path, diff)
			}
			if sel := tc.path.Selects(root); sel != ok {
				t.Errorf("Path(%v).Selects = %v, want %v", tc.path, sel, ok)
			}
			concrete := true
			for _, e := range tc.path {
				concrete = concrete && e != nil
			}
			v, found := tc.path.Lookup(root)
			if wantFound := ok && concrete; found != wantFound {
				t.Fatalf("Path(%v).Lookup found = %v, want %v", tc.path, found, wantFound)
			}
			if found {
				if diff := cmp.Diff(tc.want[0], v); diff != "" {
					t.Errorf("Path(%v).Lookup (-want +got):\n%s", tc.path, diff)
				}
			}
		})
	}
}

// TestPathSelectNonObjectRoot: the walk starts from whatever root it is
// given, so a path into a scalar aborts.
func TestPathSelectNonObjectRoot(t *testing.T) {
	t.Parallel()
	for _, root := range []any{"text", float64(1), nil, []any{"a"}} {
		if got, ok := (dcql.Path{"a"}).Select(root); ok {
			t.Errorf("Path([a]).Select(%v) = %v, true; want false", root, got)
		}
	}
	if got, ok := (dcql.Path{0}).Select([]any{"a"}); !ok || !cmp.Equal(got, []any{"a"}) {
		t.Errorf("Path([0]).Select([a]) = %v, %v; want [a], true", got, ok)
	}
}
