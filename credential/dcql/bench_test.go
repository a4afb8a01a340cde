package dcql

import (
	"fmt"
	"testing"
)

// benchCreds returns n stored SD-JWT VCs of about a dozen claims each. Every
// `other`-th one has another vct; odd ones lack age_equal_or_over, so the
// second claim_sets option is needed.
func benchCreds(b *testing.B, n, other int) []Credential {
	creds := make([]Credential, n)
	for i := range creds {
		vct := vctIdentity
		if other > 0 && i%other != 0 {
			vct = vctOtherPID
		}
		age := `"age_equal_or_over":{"18":true,"21":true,"65":false},`
		if i%2 == 1 {
			age = ""
		}
		creds[i] = sdjwt(fmt.Sprintf("cred-%d", i), vct, claims(b, `{`+age+`
			"vct":"`+vct+`","iss":"https://issuer.example","iat":1683000000,"exp":1883000000,
			"given_name":"John","family_name":"Doe","birthdate":"1940-01-01",
			"address":{"street_address":"123 Main St","locality":"Anytown","region":"Anystate","country":"US"},
			"nationalities":["US","DE"],"place_of_birth":{"locality":"Berlin"},"personal_administrative_number":"12345"}`))
	}
	return creds
}

// BenchmarkMatch matches a 3-claim query with claim_sets against 1,000
// stored credentials (the wallet goal is under 5 ms per op).
func BenchmarkMatch(b *testing.B) {
	claimSets := mustParse(b, sdQuery(`[
		{"id":"name","path":["family_name"]},
		{"id":"over18","path":["age_equal_or_over","18"],"values":[true]},
		{"id":"birth","path":["birthdate"]}]`, `"multiple":true`, `"claim_sets":[["name","over18"],["name","birth"]]`))
	wildcard := mustParse(b, sdQuery(`[
		{"path":["family_name"]},
		{"path":["nationalities",null]},
		{"path":["address","locality"]}]`, `"multiple":true`))
	for _, bc := range []struct {
		name  string
		q     *Query
		other int
	}{
		{"claim_sets/1000_all_vct_match", claimSets, 0},
		{"claim_sets/1000_one_in_ten_vct_match", claimSets, 10},
		{"wildcard/1000_all_vct_match", wildcard, 0},
	} {
		b.Run(bc.name, func(b *testing.B) {
			creds := benchCreds(b, 1000, bc.other)
			res, err := bc.q.Match(creds)
			if err != nil || !res.Satisfied {
				b.Fatalf("Match = %v, %v", res, err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := bc.q.Match(creds); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	for _, name := range []string{"query_lang_simple.json", "query_lang_credentials_alternatives.json"} {
		data := readFile(b, name)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, err := Parse(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
