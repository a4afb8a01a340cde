package dcql_test

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/tongid/tong/credential/dcql"
)

func ExampleParse() {
	// OpenID4VP 1.0 §7.4.
	q, err := dcql.Parse([]byte(`{
	  "credentials": [{
	    "id": "my_credential",
	    "format": "dc+sd-jwt",
	    "meta": {"vct_values": ["https://credentials.example.com/identity_credential"]},
	    "claims": [
	      {"path": ["family_name"]},
	      {"path": ["given_name"]},
	      {"path": ["address", "street_address"]}
	    ]
	  }]
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	c := q.Credentials[0]
	fmt.Println(c.ID, c.Format, c.Meta.VCTValues[0], c.HolderBindingRequired())
	for _, cl := range c.Claims {
		fmt.Println(cl.Path)
	}
	// Output:
	// my_credential dc+sd-jwt https://credentials.example.com/identity_credential true
	// [family_name]
	// [given_name]
	// [address street_address]
}

func ExampleParse_invalid() {
	_, err := dcql.Parse([]byte(`{"credentials":[{"id":"pid","format":"dc+sd-jwt",
	  "meta":{"vct_values":["https://credentials.example.com/identity_credential"]},
	  "claims":[{"id":"a","path":["family_name"]}],
	  "claim_sets":[["a","b"]]}]}`))
	var e *dcql.Error
	if errors.As(err, &e) {
		fmt.Println(e.Code, e.Pointer, errors.Is(err, dcql.ErrInvalidQuery))
	}
	// Output:
	// unknown_claim_id /credentials/0/claim_sets/0/1 true
}

func ExampleQuery_Match() {
	q, err := dcql.Parse([]byte(`{"credentials":[{"id":"pid","format":"dc+sd-jwt",
	  "meta":{"vct_values":["https://credentials.example.com/identity_credential"]},
	  "claims":[
	    {"id":"name","path":["family_name"]},
	    {"id":"over18","path":["age_equal_or_over","18"],"values":[true]},
	    {"id":"birth","path":["birthdate"]},
	    {"id":"nat","path":["nationalities",null]}],
	  "claim_sets":[["name","over18","nat"],["name","birth","nat"]]}]}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	var claims map[string]any
	_ = json.Unmarshal([]byte(`{"family_name":"Doe","birthdate":"1940-01-01",
	  "age_equal_or_over":{"18":true},"nationalities":["US","DE"]}`), &claims)
	stored := []dcql.Credential{{
		ID:            "cred-1",
		Format:        dcql.FormatSDJWTVC,
		VCT:           "https://credentials.example.com/identity_credential",
		HolderBinding: true,
		Claims:        claims,
	}}
	res, err := q.Match(stored)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("satisfied:", res.Satisfied)
	for _, m := range res.Selection["pid"] {
		fmt.Println(m.ID, m.Disclose, "claim set", m.ClaimSet)
		for _, p := range m.Paths {
			b, _ := json.Marshal(p)
			fmt.Println(string(b))
		}
	}
	// Output:
	// satisfied: true
	// cred-1 claims claim set 0
	// ["family_name"]
	// ["age_equal_or_over","18"]
	// ["nationalities",0]
	// ["nationalities",1]
}

func ExampleQuery_Validate() {
	// A Verifier builds its query in Go and checks it before sending.
	q := dcql.Query{Credentials: []dcql.CredentialQuery{{
		ID:     "pid",
		Format: dcql.FormatSDJWTVC,
		Meta:   dcql.Meta{VCTValues: []string{"https://credentials.example.com/identity_credential"}},
		Claims: []dcql.ClaimsQuery{{Path: dcql.Path{"nationalities", nil}}},
	}}}
	if err := q.Validate(); err != nil {
		fmt.Println(err)
		return
	}
	b, _ := json.Marshal(q)
	fmt.Println(string(b))

	q.Credentials[0].Claims[0].Path = dcql.Path{"nationalities", -1}
	fmt.Println(q.Validate())
	// Output:
	// {"credentials":[{"id":"pid","format":"dc+sd-jwt","meta":{"vct_values":["https://credentials.example.com/identity_credential"]},"claims":[{"path":["nationalities",null]}]}]}
	// dcql: invalid_path at /credentials/0/claims/0/path/1: negative array index
}

func ExamplePath_Select() {
	// The credential of OpenID4VP 1.0 §7.3.
	var claims map[string]any
	_ = json.Unmarshal([]byte(`{
	  "name": "Arthur Dent",
	  "degrees": [
	    {"type": "Bachelor of Science", "university": "University of Betelgeuse"},
	    {"type": "Master of Science", "university": "University of Betelgeuse"}
	  ],
	  "nationalities": ["British", "Betelgeusian"]
	}`), &claims)
	types, ok := dcql.Path{"degrees", nil, "type"}.Select(claims)
	fmt.Println(types, ok)
	second, ok := dcql.Path{"nationalities", 1}.Lookup(claims)
	fmt.Println(second, ok)
	fmt.Println(dcql.Path{"name", "first"}.Selects(claims))
	// Output:
	// [Bachelor of Science Master of Science] true
	// Betelgeusian true
	// false
}
