package dcql

import (
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	vctIdentity = "https://credentials.example.com/identity_credential"
	vctReduced  = "https://credentials.example.com/reduced_identity_credential"
	vctResident = "https://cred.example/residence_credential"
	vctRewards  = "https://company.example/company_rewards"
	vctOtherPID = "https://othercredentials.example/pid"
)

// claims decodes JSON the way a caller's SD-JWT layer would (float64
// numbers).
func claims(t testing.TB, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func sdjwt(id, vct string, c map[string]any) Credential {
	return Credential{ID: id, Format: FormatSDJWTVC, VCT: vct, HolderBinding: true, Claims: c}
}

// fullPID has every claim the tests ask for.
func fullPID(t testing.TB) Credential {
	return sdjwt("pid-1", vctIdentity, claims(t, `{
		"vct": "https://credentials.example.com/identity_credential",
		"given_name": "John", "family_name": "Doe", "date_of_birth": "1940-01-01",
		"address": {"street_address": "123 Main St", "locality": "Anytown", "region": "Anystate", "country": "US"},
		"postal_code": "90210", "locality": "Anytown", "region": "Anystate",
		"nationalities": ["US", "DE"],
		"degrees": [{"type": "BSc", "university": "X"}, {"type": "MSc", "university": "Y", "honours": true}],
		"age_over_18": true, "age_in_years": 84, "nothing": null
	}`))
}

func mustParse(t testing.TB, s string) *Query {
	t.Helper()
	q, err := Parse([]byte(s))
	if err != nil {
		t.Fatalf("Parse(%s) = %v", s, err)
	}
	return q
}

func readFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// one builds the Result of a single-Credential-Query query without
// credential_sets.
func one(id string, ms ...Match) *Result {
	if len(ms) == 0 {
		return &Result{Candidates: map[string][]Match{}}
	}
	return &Result{Satisfied: true, Candidates: map[string][]Match{id: ms}, Selection: map[string][]Match{id: ms[:1]}}
}

// sdQuery is a one-credential dc+sd-jwt query with the given claims JSON.
func sdQuery(claimsJSON string, extra ...string) string {
	s := `{"credentials":[{"id":"q","format":"dc+sd-jwt","meta":{"vct_values":["` + vctIdentity + `"]}`
	if claimsJSON != "" {
		s += `,"claims":` + claimsJSON
	}
	for _, e := range extra {
		s += "," + e
	}
	return s + `}]}`
}

func sel(paths ...Path) Match {
	return Match{ID: "pid-1", Disclose: DiscloseClaims, ClaimSet: -1, Paths: paths}
}

func TestMatchClaims(t *testing.T) {
	t.Parallel()
	pid := fullPID(t)
	tests := []struct {
		name  string
		query string
		creds []Credential
		want  *Result
	}{
		{"spec simple query", string(readFile(t, "query_lang_simple.json")), []Credential{pid},
			one("my_credential", sel(Path{"family_name"}, Path{"given_name"}, Path{"address", "street_address"}))},
		{"spec value matching", string(readFile(t, "query_lang_value_matching_simple.json")), []Credential{pid},
			one("my_credential", sel(Path{"family_name"}, Path{"given_name"}, Path{"address", "street_address"}, Path{"postal_code"}))},
		{"whole object", sdQuery(`[{"path":["address"]}]`), []Credential{pid},
			one("q", sel(Path{"address"}))},
		{"null selects every array element", sdQuery(`[{"path":["nationalities",null]}]`), []Credential{pid},
			one("q", sel(Path{"nationalities", 0}, Path{"nationalities", 1}))},
		{"null then key", sdQuery(`[{"path":["degrees",null,"type"]}]`), []Credential{pid},
			one("q", sel(Path{"degrees", 0, "type"}, Path{"degrees", 1, "type"}))},
		{"null then key present in some elements", sdQuery(`[{"path":["degrees",null,"honours"]}]`), []Credential{pid},
			one("q", sel(Path{"degrees", 1, "honours"}))},
		{"null then key present in none", sdQuery(`[{"path":["degrees",null,"gpa"]}]`), []Credential{pid}, one("q")},
		{"index", sdQuery(`[{"path":["nationalities",1]}]`), []Credential{pid},
			one("q", sel(Path{"nationalities", 1}))},
		{"index out of range", sdQuery(`[{"path":["nationalities",2]}]`), []Credential{pid}, one("q")},
		{"index into object", sdQuery(`[{"path":["address",0]}]`), []Credential{pid}, one("q")},
		{"null on a string", sdQuery(`[{"path":["given_name",null]}]`), []Credential{pid}, one("q")},
		{"key into a string", sdQuery(`[{"path":["given_name","x"]}]`), []Credential{pid}, one("q")},
		{"key into an array aborts", sdQuery(`[{"path":["nationalities","x"]}]`), []Credential{pid}, one("q")},
		{"null claim value exists", sdQuery(`[{"path":["nothing"]}]`), []Credential{pid},
			one("q", sel(Path{"nothing"}))},
		{"missing claim", sdQuery(`[{"path":["given_name"]},{"path":["middle_name"]}]`), []Credential{pid}, one("q")},
		{"missing nested claim", sdQuery(`[{"path":["address","postal_code"]}]`), []Credential{pid}, one("q")},
		{"value matches", sdQuery(`[{"path":["family_name"],"values":["Smith","Doe"]}]`), []Credential{pid},
			one("q", sel(Path{"family_name"}))},
		{"value mismatch", sdQuery(`[{"path":["family_name"],"values":["Smith"]}]`), []Credential{pid}, one("q")},
		{"values filter null selection", sdQuery(`[{"path":["nationalities",null],"values":["DE","FR"]}]`), []Credential{pid},
			one("q", sel(Path{"nationalities", 1}))},
		{"values filter null then key", sdQuery(`[{"path":["degrees",null,"type"],"values":["MSc"]}]`), []Credential{pid},
			one("q", sel(Path{"degrees", 1, "type"}))},
		{"integer value", sdQuery(`[{"path":["age_in_years"],"values":[84]}]`), []Credential{pid},
			one("q", sel(Path{"age_in_years"}))},
		{"integer value is not a string", sdQuery(`[{"path":["age_in_years"],"values":["84"]}]`), []Credential{pid}, one("q")},
		{"string value is not an integer", sdQuery(`[{"path":["postal_code"],"values":[90210]}]`), []Credential{pid}, one("q")},
		{"boolean value", sdQuery(`[{"path":["age_over_18"],"values":[true]}]`), []Credential{pid},
			one("q", sel(Path{"age_over_18"}))},
		{"boolean is not an integer", sdQuery(`[{"path":["age_over_18"],"values":[1]}]`), []Credential{pid}, one("q")},
		{"object never matches values", sdQuery(`[{"path":["address"],"values":["123 Main St"]}]`), []Credential{pid}, one("q")},
		{"null never matches values", sdQuery(`[{"path":["nothing"],"values":["null"]}]`), []Credential{pid}, one("q")},
		{"duplicate claims disclosed once", sdQuery(`[{"path":["given_name"]},{"path":["given_name"]},{"path":["nationalities",0]},{"path":["nationalities",null]}]`), []Credential{pid},
			one("q", sel(Path{"given_name"}, Path{"nationalities", 0}, Path{"nationalities", 1}))},
		{"claims absent", sdQuery(""), []Credential{pid},
			one("q", Match{ID: "pid-1", Disclose: DiscloseMandatoryOnly, ClaimSet: -1})},
		{"vct mismatch", string(readFile(t, "query_lang_simple.json")),
			[]Credential{sdjwt("pid-1", vctOtherPID, pid.Claims)}, one("my_credential")},
		{"format mismatch", string(readFile(t, "query_lang_simple.json")),
			[]Credential{{ID: "pid-1", Format: FormatJWTVC, VCT: vctIdentity, HolderBinding: true, Claims: pid.Claims}}, one("my_credential")},
		{"spec credential lacks address", string(readFile(t, "query_lang_simple.json")),
			[]Credential{sdjwt("unsecured", vctIdentity, claims(t, string(readFile(t, "credentials_sd_jwt_vc_unsecured.json"))))}, one("my_credential")},
		{"spec credential, spec-like query", sdQuery(`[{"path":["given_name"]},{"path":["birthdate"],"values":["1940-01-01"]}]`),
			[]Credential{sdjwt("unsecured", vctIdentity, claims(t, string(readFile(t, "credentials_sd_jwt_vc_unsecured.json"))))},
			one("q", Match{ID: "unsecured", Disclose: DiscloseClaims, ClaimSet: -1, Paths: []Path{{"given_name"}, {"birthdate"}}})},
		{"undisclosed claims do not exist", sdQuery(`[{"path":["given_name"]}]`),
			[]Credential{sdjwt("signed", vctIdentity, claims(t, string(readFile(t, "credentials_sd_jwt_vc.json"))))}, one("q")},
		{"always-disclosed claims exist", sdQuery(`[{"path":["cnf","jwk","crv"],"values":["P-256"]}]`),
			[]Credential{sdjwt("signed", vctIdentity, claims(t, string(readFile(t, "credentials_sd_jwt_vc.json"))))},
			one("q", Match{ID: "signed", Disclose: DiscloseClaims, ClaimSet: -1, Paths: []Path{{"cnf", "jwk", "crv"}}})},
		{"holder binding required by default", sdQuery(""),
			[]Credential{{ID: "nb", Format: FormatSDJWTVC, VCT: vctIdentity, Claims: pid.Claims}}, one("q")},
		{"holder binding not required", sdQuery("", `"require_cryptographic_holder_binding":false`),
			[]Credential{{ID: "nb", Format: FormatSDJWTVC, VCT: vctIdentity, Claims: pid.Claims}},
			one("q", Match{ID: "nb", Disclose: DiscloseMandatoryOnly, ClaimSet: -1})},
		{"unknown format never matches", `{"credentials":[{"id":"q","format":"vc+sd-jwt","meta":{"vct_values":["` + vctIdentity + `"]}}]}`,
			[]Credential{{ID: "old", Format: "vc+sd-jwt", VCT: vctIdentity, HolderBinding: true, Claims: pid.Claims}}, one("q")},
		{"nil claims map", sdQuery(`[{"path":["a"]}]`), []Credential{sdjwt("empty", vctIdentity, nil)}, one("q")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			q := mustParse(t, tc.query)
			got, err := q.Match(tc.creds)
			if err != nil {
				t.Fatalf("Match = %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Match (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMatchClaimSets uses the spec's claims_alternatives example: a family
// name and date of birth, and locality+region (preferred) or postal_code.
func TestMatchClaimSets(t *testing.T) {
	t.Parallel()
	q := mustParse(t, string(readFile(t, "query_lang_claims_alternatives.json")))
	all := `"family_name":"Doe","date_of_birth":"1940-01-01","postal_code":"90210","locality":"Anytown","region":"Anystate"`
	tests := []struct {
		name   string
		claims string
		want   *Match
	}{
		{"first option preferred", `{` + all + `}`,
			&Match{ID: "c", Disclose: DiscloseClaims, ClaimSet: 0, Paths: []Path{{"family_name"}, {"locality"}, {"region"}, {"date_of_birth"}}}},
		{"second option when region is missing", `{"family_name":"Doe","date_of_birth":"1940-01-01","postal_code":"90210","locality":"Anytown"}`,
			&Match{ID: "c", Disclose: DiscloseClaims, ClaimSet: 1, Paths: []Path{{"family_name"}, {"postal_code"}, {"date_of_birth"}}}},
		{"no option", `{"family_name":"Doe","date_of_birth":"1940-01-01","locality":"Anytown"}`, nil},
		{"common claim missing", `{"date_of_birth":"1940-01-01","postal_code":"90210","locality":"Anytown","region":"Anystate"}`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := q.Match([]Credential{sdjwt("c", vctIdentity, claims(t, tc.claims))})
			if err != nil {
				t.Fatalf("Match = %v", err)
			}
			want := one("pid")
			if tc.want != nil {
				want = one("pid", *tc.want)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("Match (-want +got):\n%s", diff)
			}
		})
	}
}

// TestMatchCredentialSets uses the spec's credentials_alternatives example:
// pid, or other_pid, or pid_reduced_cred_1 and _2; nice_to_have optional.
func TestMatchCredentialSets(t *testing.T) {
	t.Parallel()
	q := mustParse(t, string(readFile(t, "query_lang_credentials_alternatives.json")))
	pidClaims := claims(t, `{"given_name":"John","family_name":"Doe","address":{"street_address":"123 Main St"}}`)
	pid := sdjwt("pid", vctIdentity, pidClaims)
	other := sdjwt("other", vctOtherPID, pidClaims)
	red1 := sdjwt("red1", vctReduced, claims(t, `{"given_name":"John","family_name":"Doe"}`))
	red2 := sdjwt("red2", vctResident, claims(t, `{"postal_code":"90210","locality":"Anytown","region":"Anystate"}`))
	rewards := sdjwt("rw", vctRewards, claims(t, `{"rewards_number":"12345"}`))
	m := func(id string, i int, paths ...Path) Match {
		return Match{Credential: i, ID: id, Disclose: DiscloseClaims, ClaimSet: -1, Paths: paths}
	}
	pidPaths := []Path{{"given_name"}, {"family_name"}, {"address", "street_address"}}
	tests := []struct {
		name  string
		creds []Credential
		want  *Result
	}{
		{"reduced pair and optional set", []Credential{red1, red2, rewards}, &Result{
			Satisfied: true,
			Candidates: map[string][]Match{
				"pid_reduced_cred_1": {m("red1", 0, Path{"family_name"}, Path{"given_name"})},
				"pid_reduced_cred_2": {m("red2", 1, Path{"postal_code"}, Path{"locality"}, Path{"region"})},
				"nice_to_have":       {m("rw", 2, Path{"rewards_number"})},
			},
			Sets: []SetResult{{Required: true, Options: []int{2}, Chosen: 2}, {Required: false, Options: []int{0}, Chosen: 0}},
			Selection: map[string][]Match{
				"pid_reduced_cred_1": {m("red1", 0, Path{"family_name"}, Path{"given_name"})},
				"pid_reduced_cred_2": {m("red2", 1, Path{"postal_code"}, Path{"locality"}, Path{"region"})},
				"nice_to_have":       {m("rw", 2, Path{"rewards_number"})},
			},
		}},
		{"optional set unsatisfied", []Credential{other}, &Result{
			Satisfied:  true,
			Candidates: map[string][]Match{"other_pid": {m("other", 0, pidPaths...)}},
			Sets:       []SetResult{{Required: true, Options: []int{1}, Chosen: 1}, {Required: false, Chosen: -1}},
			Selection:  map[string][]Match{"other_pid": {m("other", 0, pidPaths...)}},
		}},
		{"preferred option first", []Credential{other, red1, red2, pid}, &Result{
			Satisfied: true,
			Candidates: map[string][]Match{
				"pid":                {m("pid", 3, pidPaths...)},
				"other_pid":          {m("other", 0, pidPaths...)},
				"pid_reduced_cred_1": {m("red1", 1, Path{"family_name"}, Path{"given_name"})},
				"pid_reduced_cred_2": {m("red2", 2, Path{"postal_code"}, Path{"locality"}, Path{"region"})},
			},
			Sets:      []SetResult{{Required: true, Options: []int{0, 1, 2}, Chosen: 0}, {Required: false, Chosen: -1}},
			Selection: map[string][]Match{"pid": {m("pid", 3, pidPaths...)}},
		}},
		{"half of a pair does not satisfy", []Credential{red1, rewards}, &Result{
			Candidates: map[string][]Match{
				"pid_reduced_cred_1": {m("red1", 0, Path{"family_name"}, Path{"given_name"})},
				"nice_to_have":       {m("rw", 1, Path{"rewards_number"})},
			},
			Sets: []SetResult{{Required: true, Chosen: -1}, {Required: false, Options: []int{0}, Chosen: 0}},
		}},
		{"nothing stored", nil, &Result{
			Candidates: map[string][]Match{},
			Sets:       []SetResult{{Required: true, Chosen: -1}, {Required: false, Chosen: -1}},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := q.Match(tc.creds)
			if err != nil {
				t.Fatalf("Match = %v", err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("Match (-want +got):\n%s", diff)
			}
		})
	}
}

func TestMatchMultiple(t *testing.T) {
	t.Parallel()
	c := claims(t, `{"given_name":"John"}`)
	creds := []Credential{sdjwt("a", vctIdentity, c), sdjwt("b", vctOtherPID, c), sdjwt("c", vctIdentity, c)}
	ma := Match{Credential: 0, ID: "a", Disclose: DiscloseClaims, ClaimSet: -1, Paths: []Path{{"given_name"}}}
	mc := Match{Credential: 2, ID: "c", Disclose: DiscloseClaims, ClaimSet: -1, Paths: []Path{{"given_name"}}}
	for _, tc := range []struct {
		multiple string
		want     []Match
	}{
		{`"multiple":false`, []Match{ma}},
		{`"multiple":true`, []Match{ma, mc}},
	} {
		q := mustParse(t, sdQuery(`[{"path":["given_name"]}]`, tc.multiple))
		got, err := q.Match(creds)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff([]Match{ma, mc}, got.Candidates["q"]); diff != "" {
			t.Errorf("%s: candidates (-want +got):\n%s", tc.multiple, diff)
		}
		if diff := cmp.Diff(tc.want, got.Selection["q"]); diff != "" {
			t.Errorf("%s: selection (-want +got):\n%s", tc.multiple, diff)
		}
	}
}

func TestMatchTrustedAuthorities(t *testing.T) {
	t.Parallel()
	q := mustParse(t, sdQuery("", `"trusted_authorities":[{"type":"aki","values":["s9tIpPmhxdiuNkHMEWNpYim8S8Y","other"]},{"type":"etsi_tl","values":["https://lotl.example.com"]}]`))
	tests := []struct {
		name string
		have []TrustedAuthority
		want bool
	}{
		{"aki in chain", []TrustedAuthority{{Type: TrustedAuthorityAKI, Values: []string{"root", "s9tIpPmhxdiuNkHMEWNpYim8S8Y"}}}, true},
		{"etsi list", []TrustedAuthority{{Type: TrustedAuthorityETSITL, Values: []string{"https://lotl.example.com"}}}, true},
		{"value under another type", []TrustedAuthority{{Type: TrustedAuthorityOpenIDFederation, Values: []string{"s9tIpPmhxdiuNkHMEWNpYim8S8Y"}}}, false},
		{"other aki", []TrustedAuthority{{Type: TrustedAuthorityAKI, Values: []string{"root"}}}, false},
		{"none", nil, false},
	}
	for _, tc := range tests {
		c := fullPID(t)
		c.Authorities = tc.have
		got, err := q.Match([]Credential{c})
		if err != nil {
			t.Fatal(err)
		}
		if got.Satisfied != tc.want {
			t.Errorf("%s: Satisfied = %v, want %v", tc.name, got.Satisfied, tc.want)
		}
	}
}

// TestMatchW3C uses the spec's jwt_vc_json request and example credential,
// whose claims root is the "vc" claim (Appendix B.1).
func TestMatchW3C(t *testing.T) {
	t.Parallel()
	q := mustParse(t, string(readFile(t, "request_dcql_jwt_vc.json")))
	jwt := claims(t, string(readFile(t, "credentials_jwt_vc.json")))
	vc := jwt["vc"].(map[string]any)
	want := Match{ID: "vc", Disclose: DiscloseClaims, ClaimSet: -1,
		Paths: []Path{{"credentialSubject", "family_name"}, {"credentialSubject", "given_name"}}}
	tests := []struct {
		name  string
		types []string
		want  *Result
	}{
		{"types match", []string{"VerifiableCredential", "IDCredential"}, one("example_jwt_vc", want)},
		{"type missing", []string{"VerifiableCredential"}, one("example_jwt_vc")},
	}
	for _, tc := range tests {
		c := Credential{ID: "vc", Format: FormatJWTVC, Types: tc.types, HolderBinding: true, Claims: vc}
		got, err := q.Match([]Credential{c})
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s: Match (-want +got):\n%s", tc.name, diff)
		}
	}
}

// TestMatchMdoc uses the spec's complex_mdoc example: the ID and,
// optionally, the address, each from an mDL or a photo ID.
func TestMatchMdoc(t *testing.T) {
	t.Parallel()
	q := mustParse(t, string(readFile(t, "query_lang_complex_mdoc.json")))
	mdl := Credential{ID: "mdl", Format: FormatMdoc, DocType: "org.iso.18013.5.1.mDL", HolderBinding: true,
		Claims: claims(t, `{"org.iso.18013.5.1":{"given_name":"Max","family_name":"Mustermann","portrait":"AAEC","resident_country":"DE"}}`)}
	photo := Credential{ID: "photo", Format: FormatMdoc, DocType: "org.iso.23220.photoid.1", HolderBinding: true,
		Claims: claims(t, `{"org.iso.18013.5.1":{"given_name":"Max","family_name":"Mustermann","portrait":"AAEC","resident_address":"Sandanger 25","resident_country":"DE"}}`)}
	got, err := q.Match([]Credential{mdl, photo})
	if err != nil {
		t.Fatal(err)
	}
	const ns = "org.iso.18013.5.1"
	idPaths := []Path{{ns, "given_name"}, {ns, "family_name"}, {ns, "portrait"}}
	want := &Result{
		Satisfied: true,
		Candidates: map[string][]Match{
			"mdl-id":             {{Credential: 0, ID: "mdl", Disclose: DiscloseClaims, ClaimSet: -1, Paths: idPaths}},
			"photo_card-id":      {{Credential: 1, ID: "photo", Disclose: DiscloseClaims, ClaimSet: -1, Paths: idPaths}},
			"photo_card-address": {{Credential: 1, ID: "photo", Disclose: DiscloseClaims, ClaimSet: -1, Paths: []Path{{ns, "resident_address"}, {ns, "resident_country"}}}},
		},
		Sets: []SetResult{{Required: true, Options: []int{0, 1}, Chosen: 0}, {Required: false, Options: []int{1}, Chosen: 1}},
		Selection: map[string][]Match{
			"mdl-id":             {{Credential: 0, ID: "mdl", Disclose: DiscloseClaims, ClaimSet: -1, Paths: idPaths}},
			"photo_card-address": {{Credential: 1, ID: "photo", Disclose: DiscloseClaims, ClaimSet: -1, Paths: []Path{{ns, "resident_address"}, {ns, "resident_country"}}}},
		},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Match (-want +got):\n%s", diff)
	}
}

// TestMatchNumbers: claim values may come from any JSON decoder.
func TestMatchNumbers(t *testing.T) {
	t.Parallel()
	q := mustParse(t, sdQuery(`[{"path":["n"],"values":[42]}]`))
	tests := []struct {
		v    any
		want bool
	}{
		{float64(42), true}, {json.Number("42"), true}, {json.Number("42.0"), true}, {json.Number("4.2e1"), true},
		{42, true}, {int64(42), true}, {int32(42), true}, {uint64(42), true},
		{42.5, false}, {json.Number("42.5"), false}, {"42", false}, {true, false}, {nil, false},
		{[]any{float64(42)}, false}, {float64(1 << 63), false}, {json.Number("x"), false},
	}
	for _, tc := range tests {
		c := sdjwt("c", vctIdentity, map[string]any{"n": tc.v})
		got, err := q.Match([]Credential{c})
		if err != nil {
			t.Fatal(err)
		}
		if got.Satisfied != tc.want {
			t.Errorf("Match(n=%#v).Satisfied = %v, want %v", tc.v, got.Satisfied, tc.want)
		}
	}
}

func TestMatchInvalidQuery(t *testing.T) {
	t.Parallel()
	q := &Query{Credentials: []CredentialQuery{{ID: "a b", Format: FormatSDJWTVC, Meta: Meta{VCTValues: []string{"x"}}}}}
	_, err := q.Match(nil)
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeInvalidID {
		t.Errorf("Match = %v, want code %s", err, CodeInvalidID)
	}
}

// TestClaimsPathPointerExample checks the selections listed in §7.3.
func TestClaimsPathPointerExample(t *testing.T) {
	t.Parallel()
	cred := claims(t, `{
		"name": "Arthur Dent",
		"address": {"street_address": "42 Market Street", "locality": "Milliways", "postal_code": "12345"},
		"degrees": [
			{"type": "Bachelor of Science", "university": "University of Betelgeuse"},
			{"type": "Master of Science", "university": "University of Betelgeuse"}
		],
		"nationalities": ["British", "Betelgeusian"]
	}`)
	tests := []struct {
		path Path
		want []any
	}{
		{Path{"name"}, []any{"Arthur Dent"}},
		{Path{"address"}, []any{cred["address"]}},
		{Path{"address", "street_address"}, []any{"42 Market Street"}},
		{Path{"degrees", nil, "type"}, []any{"Bachelor of Science", "Master of Science"}},
		{Path{"nationalities", 1}, []any{"Betelgeusian"}},
	}
	for _, tc := range tests {
		sel, ok := selectClaims(cred, tc.path, nil)
		if !ok {
			t.Errorf("selectClaims(%v) failed", tc.path)
			continue
		}
		var got []any
		for _, n := range sel {
			got = append(got, n.v)
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("selectClaims(%v) (-want +got):\n%s", tc.path, diff)
		}
	}
}
