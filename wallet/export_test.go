package wallet

import "github.com/tongid/tong/credential/dcql"

// DeriveForBenchmark exposes the KDF to the benchmarks.
func DeriveForBenchmark(k KDF, pass []byte) []byte { return k.derive(pass) }

// MatchCredentials exposes matching over given credentials.
func MatchCredentials(cs []*Credential, query []byte) (*dcql.Result, error) {
	q, err := dcql.Parse(query)
	if err != nil {
		return nil, err
	}
	return q.Match(dcqlCredentials(cs))
}
