package dcql

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// specQueries returns the OpenID4VP 1.0 example queries in testdata.
func specQueries(t testing.TB) map[string][]byte {
	t.Helper()
	var files []string
	for _, g := range []string{"testdata/query_lang_*.json", "testdata/request_dcql_*.json"} {
		m, err := filepath.Glob(g)
		if err != nil {
			t.Fatal(err)
		}
		if len(m) == 0 {
			t.Fatalf("glob %s found no files", g)
		}
		files = append(files, m...)
	}
	out := make(map[string][]byte, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	return out
}

func generic(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestParseSpecExamples parses every example query of the spec, and checks
// that marshalling gives back the same JSON (the examples use no unknown
// members) and that a second Parse gives the same Query.
func TestParseSpecExamples(t *testing.T) {
	t.Parallel()
	for name, data := range specQueries(t) {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			q, err := Parse(data)
			if err != nil {
				t.Fatalf("Parse(%s) = %v", name, err)
			}
			out, err := json.Marshal(q)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(generic(t, data), generic(t, out)); diff != "" {
				t.Errorf("Marshal(Parse(%s)) differs from the example (-want +got):\n%s", name, diff)
			}
			q2, err := Parse(out)
			if err != nil {
				t.Fatalf("Parse(Marshal(Parse(%s))) = %v", name, err)
			}
			if diff := cmp.Diff(q, q2); diff != "" {
				t.Errorf("round trip changed the query (-first +second):\n%s", diff)
			}
		})
	}
}

func TestParseSpecExampleContents(t *testing.T) {
	t.Parallel()
	qs := specQueries(t)
	parse := func(name string) *Query {
		q, err := Parse(qs[name])
		if err != nil {
			t.Fatalf("Parse(%s) = %v", name, err)
		}
		return q
	}
	f := false
	tests := []struct {
		name string
		got  any
		want any
	}{
		{"simple", parse("query_lang_simple.json").Credentials[0], CredentialQuery{
			ID: "my_credential", Format: FormatSDJWTVC,
			Meta: Meta{VCTValues: []string{"https://credentials.example.com/identity_credential"}},
			Claims: []ClaimsQuery{
				{Path: Path{"family_name"}}, {Path: Path{"given_name"}}, {Path: Path{"address", "street_address"}},
			},
		}},
		{"claims_alternatives", parse("query_lang_claims_alternatives.json").Credentials[0].ClaimSets,
			[][]string{{"a", "c", "d", "e"}, {"a", "b", "e"}}},
		{"credentials_alternatives", parse("query_lang_credentials_alternatives.json").CredentialSets, []CredentialSetQuery{
			{Options: [][]string{{"pid"}, {"other_pid"}, {"pid_reduced_cred_1", "pid_reduced_cred_2"}}},
			{Options: [][]string{{"nice_to_have"}}, Required: &f},
		}},
		{"value_matching", parse("query_lang_value_matching_simple.json").Credentials[0].Claims, []ClaimsQuery{
			{Path: Path{"family_name"}, Values: []any{"Doe"}},
			{Path: Path{"given_name"}},
			{Path: Path{"address", "street_address"}},
			{Path: Path{"postal_code"}, Values: []any{"90210", "90211"}},
		}},
		{"mdoc", parse("query_lang_simple_mdoc.json").Credentials[0].Meta, Meta{DoctypeValue: "org.iso.7367.1.mVRC"}},
		{"jwt_vc", parse("request_dcql_jwt_vc.json").Credentials[0].Meta, Meta{TypeValues: [][]string{{"IDCredential"}}}},
	}
	for _, tc := range tests {
		if diff := cmp.Diff(tc.want, tc.got); diff != "" {
			t.Errorf("%s: (-want +got):\n%s", tc.name, diff)
		}
	}
}

func TestParseDefaults(t *testing.T) {
	t.Parallel()
	q, err := Parse([]byte(`{"credentials":[
		{"id":"a","format":"dc+sd-jwt","meta":{"vct_values":["x"]}},
		{"id":"b","format":"dc+sd-jwt","meta":{"vct_values":["x"]},"multiple":true,"require_cryptographic_holder_binding":false}],
		"credential_sets":[{"options":[["a"]]},{"options":[["b"]],"required":false}]}`))
	if err != nil {
		t.Fatal(err)
	}
	got := []bool{
		q.Credentials[0].Multiple, q.Credentials[0].HolderBindingRequired(), q.Credentials[0].Claims == nil,
		q.Credentials[1].Multiple, q.Credentials[1].HolderBindingRequired(),
		q.CredentialSets[0].IsRequired(), q.CredentialSets[1].IsRequired(),
	}
	want := []bool{false, true, true, true, false, true, false}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
}

// TestParseIgnoresUnknown: Spec §6: "Implementations MUST ignore any
// unknown properties." That includes members of meta and of Claims Queries
// that belong to another format.
func TestParseIgnoresUnknown(t *testing.T) {
	t.Parallel()
	in := `{"credentials":[{"id":"a","format":"dc+sd-jwt","purpose":{"x":[1,2]},
		"meta":{"vct_values":["x"],"doctype_value":7,"type_values":"y"},
		"claims":[{"path":["a"],"intent_to_retain":"maybe","x":null}]},
		{"id":"b","format":"future_format","meta":{"anything":[{}]}}],
		"credential_sets":[{"options":[["a"]],"purpose":"because"}],
		"future":true}`
	q, err := Parse([]byte(in))
	if err != nil {
		t.Fatalf("Parse = %v", err)
	}
	out, err := json.Marshal(q)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"credentials":[{"id":"a","format":"dc+sd-jwt","meta":{"vct_values":["x"]},"claims":[{"path":["a"]}]},{"id":"b","format":"future_format","meta":{}}],"credential_sets":[{"options":[["a"]]}]}`
	if string(out) != want {
		t.Errorf("Marshal = %s, want %s", out, want)
	}
}

func TestParseMarshalExact(t *testing.T) {
	t.Parallel()
	in := `{"credentials":[{"id":"mdl","format":"mso_mdoc","multiple":true,"meta":{"doctype_value":"org.iso.18013.5.1.mDL"},` +
		`"trusted_authorities":[{"type":"aki","values":["s9tIpPmhxdiuNkHMEWNpYim8S8Y"]}],` +
		`"require_cryptographic_holder_binding":false,` +
		`"claims":[{"id":"n","path":["org.iso.18013.5.1","given_name"],"values":["Max",7,true],"intent_to_retain":false}],` +
		`"claim_sets":[["n"]]},` +
		`{"id":"pid","format":"dc+sd-jwt","meta":{"vct_values":["v"]},"claims":[{"path":["a",null,0,"b"]}]}],` +
		`"credential_sets":[{"options":[["mdl"],["pid"]],"required":true}]}`
	q, err := Parse([]byte(in))
	if err != nil {
		t.Fatalf("Parse = %v", err)
	}
	out, err := json.Marshal(q)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != in {
		t.Errorf("Marshal(Parse(in)) =\n%s\nwant\n%s", out, in)
	}
	if diff := cmp.Diff(Path{"a", nil, 0, "b"}, q.Credentials[1].Claims[0].Path); diff != "" {
		t.Errorf("path (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]any{"Max", int64(7), true}, q.Credentials[0].Claims[0].Values); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
}

// TestParseInvalid runs testdata/invalid/*.txt: "expect: <code>", then the
// query.
func TestParseInvalid(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/invalid/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no files in testdata/invalid")
	}
	for _, f := range files {
		t.Run(strings.TrimSuffix(filepath.Base(f), ".txt"), func(t *testing.T) {
			t.Parallel()
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			head, body, ok := bytes.Cut(b, []byte("\n"))
			code, ok2 := strings.CutPrefix(string(head), "expect: ")
			if !ok || !ok2 {
				t.Fatalf("%s: no expect: header", f)
			}
			checkCode(t, body, Code(code))
		})
	}
}

func checkCode(t *testing.T, data []byte, want Code) {
	t.Helper()
	q, err := Parse(data)
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("Parse = %v, %v; want *Error with code %s", q, err, want)
	}
	if e.Code != want {
		t.Errorf("Parse code = %s, want %s (%v)", e.Code, want, err)
	}
	if !errors.Is(err, ErrInvalidQuery) {
		t.Errorf("errors.Is(%v, ErrInvalidQuery) = false", err)
	}
	if q != nil {
		t.Errorf("Parse returned a query with an error")
	}
}

// TestParseHostile covers inputs too big to keep as files.
func TestParseHostile(t *testing.T) {
	t.Parallel()
	cq := func(id string) string {
		return `{"id":"` + id + `","format":"dc+sd-jwt","meta":{"vct_values":["x"]}}`
	}
	many := func(n int, f func(i int) string) string {
		parts := make([]string, n)
		for i := range parts {
			parts[i] = f(i)
		}
		return strings.Join(parts, ",")
	}
	withClaims := func(claims string) string {
		return `{"credentials":[{"id":"a","format":"dc+sd-jwt","meta":{"vct_values":["x"]},"claims":[` + claims + `]}]}`
	}
	tests := []struct {
		name string
		in   string
		want Code
	}{
		{"over MaxQueryBytes", `{"credentials":[` + cq("a") + `],"pad":"` + strings.Repeat("x", MaxQueryBytes) + `"}`, CodeTooLarge},
		{"deep unknown member", `{"credentials":[` + cq("a") + `],"x":` + strings.Repeat("[", MaxDepth) + strings.Repeat("]", MaxDepth) + `}`, CodeTooDeep},
		{"deep objects", strings.Repeat(`{"a":`, MaxDepth+1) + "1" + strings.Repeat("}", MaxDepth+1), CodeTooDeep},
		{"invalid UTF-8", "{\"credentials\":[{\"id\":\"a\xff\"}]}", CodeMalformedJSON},
		{"NUL byte", "{\"credentials\":[]}\x00", CodeMalformedJSON},
		{"too many credential queries", `{"credentials":[` + many(MaxCredentialQueries+1, func(i int) string { return cq("c" + strings.Repeat("x", i)) }) + `]}`, CodeLimitExceeded},
		{"too many claims", withClaims(many(MaxClaims+1, func(int) string { return `{"path":["a"]}` })), CodeLimitExceeded},
		{"path too long", withClaims(`{"path":[` + many(MaxPathLength+1, func(int) string { return `"a"` }) + `]}`), CodeLimitExceeded},
		{"too many values", withClaims(`{"path":["a"],"values":[` + many(MaxValues+1, func(int) string { return `1` }) + `]}`), CodeLimitExceeded},
		{"id too long", `{"credentials":[` + cq(strings.Repeat("a", MaxIDLength+1)) + `]}`, CodeLimitExceeded},
		{"too many vct_values", `{"credentials":[{"id":"a","format":"dc+sd-jwt","meta":{"vct_values":[` + many(MaxValues+1, func(int) string { return `"v"` }) + `]}}]}`, CodeLimitExceeded},
		{"too many credential sets", `{"credentials":[` + cq("a") + `],"credential_sets":[` + many(MaxCredentialSets+1, func(int) string { return `{"options":[["a"]]}` }) + `]}`, CodeLimitExceeded},
		{"too many claim sets", `{"credentials":[{"id":"a","format":"dc+sd-jwt","meta":{"vct_values":["x"]},"claims":[{"id":"x","path":["a"]}],"claim_sets":[` +
			many(MaxClaimSets+1, func(int) string { return `["x"]` }) + `]}]}`, CodeLimitExceeded},
		{"option longer than credentials", `{"credentials":[` + cq("a") + `],"credential_sets":[{"options":[["a","a","a"]]}]}`, CodeDuplicateReference},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			checkCode(t, []byte(tc.in), tc.want)
		})
	}
}

func TestErrorPointer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string
	}{
		{`{"credentials":[{"id":"a","format":"dc+sd-jwt","meta":{"vct_values":["x"]},"claims":[{"path":["a"]},{"path":["b",-1]}]}]}`, "/credentials/0/claims/1/path/1"},
		{`{"credentials":[{"id":"a","format":"dc+sd-jwt","meta":{"vct_values":["x"]}}],"credential_sets":[{"options":[["a"],["b"]]}]}`, "/credential_sets/0/options/1/0"},
		{`{"credentials":[{"id":"a","format":"dc+sd-jwt","meta":{"vct_values":["x",""]}}]}`, "/credentials/0/meta/vct_values/1"},
	}
	for _, tc := range tests {
		_, err := Parse([]byte(tc.in))
		var e *Error
		if !errors.As(err, &e) {
			t.Fatalf("Parse(%s) = %v, want *Error", tc.in, err)
		}
		if e.Pointer != tc.want {
			t.Errorf("Parse(%s) pointer = %q, want %q", tc.in, e.Pointer, tc.want)
		}
	}
}

// TestValidateGoValues checks queries built in Go, whose values need not
// come from JSON.
func TestValidateGoValues(t *testing.T) {
	t.Parallel()
	base := func(cl ...ClaimsQuery) *Query {
		return &Query{Credentials: []CredentialQuery{{
			ID: "a", Format: FormatSDJWTVC, Meta: Meta{VCTValues: []string{"x"}}, Claims: cl,
		}}}
	}
	tests := []struct {
		name string
		q    *Query
		want Code // "" for valid
	}{
		{"valid", base(ClaimsQuery{Path: Path{"a", nil, 1}, Values: []any{"x", 1, int64(2), true}}), ""},
		{"nil query", nil, CodeMissingParameter},
		{"nil credentials", &Query{}, CodeMissingParameter},
		{"empty credentials", &Query{Credentials: []CredentialQuery{}}, CodeEmptyArray},
		{"int64 path element", base(ClaimsQuery{Path: Path{"a", int64(1)}}), CodeInvalidPath},
		{"negative path element", base(ClaimsQuery{Path: Path{"a", -1}}), CodeInvalidPath},
		{"float path element", base(ClaimsQuery{Path: Path{1.0}}), CodeInvalidPath},
		{"nil path", base(ClaimsQuery{}), CodeMissingParameter},
		{"float value", base(ClaimsQuery{Path: Path{"a"}, Values: []any{1.5}}), CodeInvalidValue},
		{"nil value", base(ClaimsQuery{Path: Path{"a"}, Values: []any{nil}}), CodeInvalidValue},
		{"empty values", base(ClaimsQuery{Path: Path{"a"}, Values: []any{}}), CodeEmptyArray},
		{"no claims", base(), ""},
		{"empty claims", &Query{Credentials: []CredentialQuery{{ID: "a", Format: FormatSDJWTVC, Meta: Meta{VCTValues: []string{"x"}}, Claims: []ClaimsQuery{}}}}, CodeEmptyArray},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := tc.q.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Code != tc.want {
				t.Fatalf("Validate() = %v, want code %s", err, tc.want)
			}
		})
	}
}

// TestUnmarshalJSON: a dcql_query inside an Authorization Request gets the
// same checks.
func TestUnmarshalJSON(t *testing.T) {
	t.Parallel()
	var req struct {
		Nonce string `json:"nonce"`
		DCQL  Query  `json:"dcql_query"`
	}
	good := `{"nonce":"n","dcql_query":` + string(specQueries(t)["query_lang_simple.json"]) + `}`
	if err := json.Unmarshal([]byte(good), &req); err != nil {
		t.Fatalf("Unmarshal = %v", err)
	}
	if got := req.DCQL.Credentials[0].ID; got != "my_credential" {
		t.Errorf("id = %q, want my_credential", got)
	}
	var absent struct {
		DCQL Query `json:"dcql_query"`
	}
	if err := json.Unmarshal([]byte(`{"dcql_query":null}`), &absent); err != nil || absent.DCQL.Credentials != nil {
		t.Errorf("Unmarshal(null) = %v, %v; want a no-op", absent.DCQL, err)
	}
	bad := `{"nonce":"n","dcql_query":{"credentials":[{"id":"a b","format":"dc+sd-jwt","meta":{"vct_values":["x"]}}]}}`
	err := json.Unmarshal([]byte(bad), &req)
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeInvalidID {
		t.Errorf("Unmarshal(bad) = %v, want code %s", err, CodeInvalidID)
	}
}

// TestMangle changes each byte of every spec example: Parse must return a
// query or an *Error, and never panic.
func TestMangle(t *testing.T) {
	t.Parallel()
	for name, data := range specQueries(t) {
		for i := range data {
			for _, c := range []byte{'"', '[', '}', '0', '-', 'x', 0xff} {
				m := bytes.Clone(data)
				m[i] = c
				q, err := Parse(m)
				var e *Error
				if err != nil && !errors.As(err, &e) {
					t.Fatalf("%s[%d]=%q: Parse error %v is not an *Error", name, i, c, err)
				}
				if err == nil {
					if verr := q.Validate(); verr != nil {
						t.Fatalf("%s[%d]=%q: Parse accepted a query that Validate rejects: %v", name, i, c, verr)
					}
				}
			}
		}
	}
}
